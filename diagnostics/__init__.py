"""TorchReady diagnostics.

The worker side (``probe/``, ``bench/``, ``verdict.py``, ``cli.py``) runs on the
student's machine: Python 3.10+, no Django, never installs anything. The Django
app parts of this package are imported only by the server.
"""

__version__ = "0.1.0"
