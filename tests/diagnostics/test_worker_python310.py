"""A real run with the oldest supported Python, with only the worker dependencies."""

import json
import os
import subprocess

import pytest

from .reports import judged_with_an_nvidia_gpu, run_cli


def worker_python() -> str:
    """bin/test builds the Python 3.10 worker-only venv and exports its interpreter."""
    python = os.environ.get("TORCHREADY_WORKER_PYTHON")
    if not python:
        pytest.skip("TORCHREADY_WORKER_PYTHON is unset: bin/test builds the Python 3.10 venv")
    return python


def test_python_310_without_torch_reports_torch_missing_and_does_not_crash():
    python = worker_python()
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.strip() == "(3, 10)"
    done = run_cli("check", "--json", python=python)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    doc = json.loads(done.stdout)
    # This machine has no NVIDIA GPU: the rules below gpu-present are judged as if it had.
    report, checks = doc["report"], judged_with_an_nvidia_gpu(doc["report"])
    assert report["python"]["version"].startswith("3.10.")
    assert report["torch"]["importable"] is False
    assert {
        "section": "torch",
        "code": "torch-missing",
        "message": "torch missing: not installed for this Python",
    } in report["findings"]
    assert checks["torch-importable"]["status"] == "fail"
    assert "torch missing" in checks["torch-importable"]["summary"]
    assert '"torch==2.14.*"' in checks["torch-importable"]["hint"]
    assert all(r["status"] == "skipped" for r in report["bench"]["results"])
