"""A real run with the oldest supported Python, with only the worker dependencies."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .reports import ROOT, run_cli

LOCAL_VENV = ROOT / "var" / "venv-worker310" / "bin" / "python"


def worker_python() -> str:
    """bin/test exports TORCHREADY_WORKER_PYTHON; otherwise use or build the local venv."""
    if os.environ.get("TORCHREADY_WORKER_PYTHON"):
        return os.environ["TORCHREADY_WORKER_PYTHON"]
    if LOCAL_VENV.exists():
        return str(LOCAL_VENV)
    python310 = shutil.which("python3.10") or "/root/.pyenv/versions/3.10.13/bin/python"
    if not Path(python310).exists():
        pytest.skip("TORCHREADY_WORKER_PYTHON is unset and no python3.10 exists")
    subprocess.run([python310, "-m", "venv", str(LOCAL_VENV.parents[1])], check=True)
    subprocess.run([str(LOCAL_VENV), "-m", "pip", "install", "-q", "pydantic", "nvidia-ml-py"],
                   check=True)
    return str(LOCAL_VENV)


def test_python_310_without_torch_reports_torch_missing_and_does_not_crash():
    python = worker_python()
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout
    assert version.strip() == "(3, 10)"
    done = run_cli("check", "--json", python=python)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    doc = json.loads(done.stdout)
    report, checks = doc["report"], {c["id"]: c for c in doc["verdict"]["checks"]}
    assert report["python"]["version"].startswith("3.10.")
    assert report["torch"]["importable"] is False
    assert {"section": "torch", "code": "torch-missing",
            "message": "torch missing: not installed for this Python"} in report["findings"]
    assert checks["torch-importable"]["status"] == "fail"
    assert "torch missing" in checks["torch-importable"]["summary"]
    assert "pip install torch --index-url" in checks["torch-importable"]["hint"]
    assert all(r["status"] == "skipped" for r in report["bench"]["results"])
