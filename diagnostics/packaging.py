"""Build the worker side as a wheel from this server's own code.

A student installs exactly the code the server runs, with
``pip install <server>/worker/<wheel>``: the Django-free package
``diagnostics/agent/`` (and the two entry files that make ``python -m
diagnostics`` work), plus the base dependencies of pyproject.toml. No torch, no
Django, no build step on the student's machine. What ships is an allowlist: a
new server module can never slip into the wheel.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from functools import cache
from pathlib import Path

import tomllib

import diagnostics

DIST = "torchready_worker"
PACKAGE_DIR = Path(diagnostics.__file__).parent
PYPROJECT = PACKAGE_DIR.parent / "pyproject.toml"
# All that ships: the agent package and the two Django-free entry files above it.
AGENT_DIR = PACKAGE_DIR / "agent"
ENTRY_FILES = ("__init__.py", "__main__.py")
FALLBACK_REQUIRES = ["pydantic>=2.5,<3", "nvidia-ml-py>=12.535", "celery>=5.4,<6"]


def wheel_filename() -> str:
    return f"{DIST}-{diagnostics.__version__}-py3-none-any.whl"


def _requires() -> list[str]:
    try:
        return list(tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return FALLBACK_REQUIRES


def _worker_files() -> list[Path]:
    files = [PACKAGE_DIR / name for name in ENTRY_FILES]
    for path in sorted(AGENT_DIR.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix in (".pyc", ".pyo"):
            continue
        files.append(path)
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _stamp() -> tuple:
    """Rebuild when a shipped file changes (a reload in development)."""
    return tuple((str(p), p.stat().st_mtime_ns) for p in _worker_files())


def worker_wheel() -> bytes:
    return _build(_stamp())


@cache
def _build(stamp: tuple) -> bytes:
    version = diagnostics.__version__
    info = f"{DIST}-{version}.dist-info"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            "Name: torchready-worker",
            f"Version: {version}",
            "Summary: TorchReady worker: runs GPU environment checks for your class server.",
            "Requires-Python: >=3.10",
            *(f"Requires-Dist: {req}" for req in _requires()),
            "",
        ]
    )
    entries: list[tuple[str, bytes]] = []
    for name, _ in stamp:
        path = Path(name)
        entries.append(
            (f"diagnostics/{path.relative_to(PACKAGE_DIR).as_posix()}", path.read_bytes())
        )
    entries += [
        (f"{info}/METADATA", metadata.encode()),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: torchready\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        ),
    ]
    record = [_record_line(name, data) for name, data in entries] + [f"{info}/RECORD,,"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            wheel.writestr(name, data)
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return buffer.getvalue()
