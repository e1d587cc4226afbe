"""The TorchReady agent: everything that runs on the student's machine.

``probe/`` collects facts, ``bench/`` times tensor work, ``verdict/`` judges a
report, ``worker/`` is the Celery worker, ``report.py`` is the report contract
shared with the server and ``cli.py`` is ``python -m diagnostics``. It needs
Python 3.10+ and the base dependencies only: no Django, never torch (it
diagnoses the torch that is there). The server's wheel ships exactly this
folder, plus the two entry files of ``diagnostics/``.
"""

__version__ = "0.1.0"
