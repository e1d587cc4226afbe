"""The worker's spool and subprocess runner, with real files and real processes."""

import json
import os
import re
import sys
import time

import pytest

from diagnostics.agent.report import Report
from diagnostics.agent.worker import runner
from diagnostics.agent.worker.client import TransientError, with_backoff
from diagnostics.agent.worker.spool import Spool


def test_the_spool_keeps_a_report_until_it_is_done(tmp_path):
    spool = Spool(tmp_path)
    path = spool.put("abc-123", b'{"x": 1}')
    assert path.read_bytes() == b'{"x": 1}'
    assert spool.pending() == [path]
    assert not list(tmp_path.glob(".incoming-*"))
    spool.done(path)
    assert spool.pending() == []


def test_a_rejected_report_moves_aside_and_is_not_resent(tmp_path):
    spool = Spool(tmp_path)
    kept = spool.reject(spool.put("r1", b"{}"))
    assert kept.exists() and kept.parent.name == "rejected"
    assert spool.pending() == []


def test_the_spool_lists_oldest_first_and_survives_a_new_instance(tmp_path):
    first = Spool(tmp_path).put("one", b"1")
    time.sleep(0.01)
    second = Spool(tmp_path).put("two", b"2")
    assert Spool(tmp_path).pending() == [first, second]


def test_the_spool_folder_defaults_to_the_users_home(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCHREADY_SPOOL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Spool().folder == tmp_path / ".torchready" / "spool"
    monkeypatch.setenv("TORCHREADY_SPOOL", str(tmp_path / "elsewhere"))
    assert Spool().folder == tmp_path / "elsewhere"


def test_backoff_retries_transient_errors_then_succeeds():
    calls = []

    def flaky():
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise TransientError("down")
        return "ok"

    assert with_backoff(flaky, deadline_s=10, base_s=0.05) == "ok"
    assert len(calls) == 3
    assert calls[2] - calls[1] >= 0.05  # the second wait is at least half of 2 × base


def test_backoff_gives_up_at_its_deadline():
    waits = []
    with pytest.raises(TransientError):
        with_backoff(
            lambda: (_ for _ in ()).throw(TransientError("down")),
            deadline_s=0.3,
            base_s=0.05,
            on_retry=lambda exc, delay: waits.append(delay),
        )
    # It never sleeps past its deadline, whatever the machine's load.
    assert waits and sum(waits) <= 0.3


@pytest.mark.slow
def test_a_segfaulting_check_becomes_a_probe_crashed_report():
    code = "import os, signal, sys; sys.stderr.write('Fatal Python error: CUDA went away\\n'); sys.stderr.flush(); os.kill(os.getpid(), signal.SIGSEGV)"  # noqa: E501
    outcome = runner.run_check("quick", timeout=30, command=[sys.executable, "-c", code])
    assert outcome.outcome == "crashed"
    assert "CUDA went away" in outcome.detail
    report = Report.model_validate(outcome.report)
    assert report.findings[0].code == "probe-crashed"
    assert "exited with code" in report.findings[0].message


@pytest.mark.slow
def test_a_hanging_check_is_killed_at_its_time_limit():
    outcome = runner.run_check(
        "quick", timeout=1, command=[sys.executable, "-c", "import time; time.sleep(60)"]
    )
    # Had it not been killed, it would have exited after its sleep: a crash, not a timeout.
    assert outcome.outcome == "timeout"
    assert Report.model_validate(outcome.report).findings[0].code == "probe-timeout"


def test_garbage_on_stdout_is_a_crash_not_a_report():
    outcome = runner.run_check(
        "quick", timeout=30, command=[sys.executable, "-c", "print('hello')"]
    )
    assert outcome.outcome == "crashed"


def test_a_report_with_a_verdict_is_read_without_the_verdict():
    report = Report(tool_version="t").model_dump(mode="json")
    printed = json.dumps({**report, "verdict": {"objective_met": True}})
    command = [sys.executable, "-c", f"import sys; sys.stdout.write({printed!r}); sys.exit(1)"]
    outcome = runner.run_check("quick", timeout=30, command=command)
    assert outcome.outcome == "completed"
    assert "verdict" not in outcome.report
    assert outcome.report["tool_version"] == "t"


@pytest.mark.slow
def test_a_hang_in_the_check_is_reported_within_the_workers_limit(tmp_path, monkeypatch):
    """The worker's limit reaches the check, whose CUDA children stop in time for it to
    report which stage hung; none is left running after the worker's kill."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    (tmp_path / "torch").mkdir()
    pid_file = tmp_path / "torch.pid"
    (tmp_path / "torch" / "__init__.py").write_text(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n"
    )
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{root}")
    outcome = runner.run_check("quick", timeout=10)
    assert outcome.outcome == "completed", outcome.detail
    messages = [f.message for f in Report.model_validate(outcome.report).findings]
    # Killed within the check's share of the limit (less what starting it took).
    hung = [re.search(r"torch: hung for (\d+) s and was killed", m) for m in messages]
    seconds = [int(found[1]) for found in hung if found]
    assert seconds and 1 <= seconds[0] <= 10 * runner.BUDGET_SHARE, messages
    torch_child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(torch_child, 0)
