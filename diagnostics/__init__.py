"""TorchReady diagnostics.

``agent/`` is the Django-free package that ships to students (see its docstring).
The rest of this package is the server's Django app: models, the report API,
services and pages. This file and ``__main__.py`` ship with the agent, so they
must stay Django-free too.
"""

from diagnostics.agent import __version__

__all__ = ["__version__"]
