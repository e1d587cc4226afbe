"""Loading the recorded report fixtures, and running the check as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from diagnostics.agent.report import Report

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def fixture_report(name: str) -> Report:
    return Report.model_validate_json((FIXTURES / f"{name}.json").read_text())


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def run_cli(
    *args: str,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [python, "-m", "diagnostics", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def run_json(*args: str, **kwargs) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = run_cli("check", "--json", *args, **kwargs)
    return done, json.loads(done.stdout)


def judged_with_an_nvidia_gpu(report: dict) -> dict[str, dict]:
    """The checks of a real probe's report, re-judged as if an NVIDIA GPU were present.

    The test machines have none, so their real verdict stops at gpu-present; the
    rules below it are what these end-to-end tests are about.
    """
    from diagnostics.agent.verdict import judge

    parsed = Report.model_validate(report)
    parsed.gpu = parsed.gpu.model_copy(update={"nvidia": True, "nvidia_devices": ["10de:2684"]})
    return {c.id: c.model_dump(mode="json") for c in judge(parsed).checks}
