"""Run one check in a fresh subprocess and turn any ending into a report.

The check imports torch and may initialise CUDA, so it never runs in the
worker's own process: a segfault, a hang or a CUDA error takes down only the
child. A crash or a timeout becomes a stub report carrying the stderr tail, and
the worker lives on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from diagnostics.agent import __version__
from diagnostics.agent.isolate import BUDGET_ENV
from diagnostics.agent.report import Finding, Report

STDERR_TAIL = 4000
BUDGET_SHARE = 0.9  # of the limit, for the check's CUDA children; the rest to report


@dataclass
class Outcome:
    outcome: str  # completed, crashed, timeout
    report: dict[str, Any]
    detail: str
    seconds: float


def check_command(mode: str, python: str | None = None) -> list[str]:
    command = [python or sys.executable, "-m", "diagnostics", "check", "--json"]
    if mode == "quick":
        command.append("--quick")
    return command


def run_check(
    mode: str, timeout: float, python: str | None = None, command: list[str] | None = None
) -> Outcome:
    command = command or check_command(mode, python)
    started = time.monotonic()
    try:
        # subprocess.run kills the child when the timeout fires, then reaps it.
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, BUDGET_ENV: f"{timeout * BUDGET_SHARE:g}"},
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        tail = _tail(exc.stderr)
        detail = f"the check ran past its {timeout:g} s limit and was killed\n{tail}".strip()
        return Outcome(
            "timeout", stub_report("probe-timeout", detail), detail, time.monotonic() - started
        )
    except OSError as exc:
        detail = f"the check could not start: {exc}"
        return Outcome(
            "crashed", stub_report("probe-crashed", detail), detail, time.monotonic() - started
        )
    seconds = time.monotonic() - started
    # 0 met, 1 not met, 3 the check failed but still printed its report (see cli.py).
    report = _parse(done.stdout) if done.returncode in (0, 1, 3) else None
    if report is None:
        detail = f"the check exited with code {done.returncode}\n{_tail(done.stderr)}".strip()
        return Outcome("crashed", stub_report("probe-crashed", detail), detail, seconds)
    return Outcome("completed", report, "", seconds)


def _parse(stdout: bytes) -> dict[str, Any] | None:
    """The report from `check --json`: the whole object, or its "report" part."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    report = data.get("report", data)
    if not isinstance(report, dict) or "schema_version" not in report:
        return None
    return {k: v for k, v in report.items() if k != "verdict"}


def _tail(stream: bytes | str | None) -> str:
    if not stream:
        return ""
    text = stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream
    return text[-STDERR_TAIL:]


def stub_report(code: str, message: str) -> dict[str, Any]:
    """A minimal valid report that says the probe did not finish, and why."""
    report = Report(
        tool_version=__version__,
        findings=[Finding(section="worker", code=code, message=message[-1900:])],
    )
    return report.model_dump(mode="json")
