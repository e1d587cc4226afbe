"""The check never crashes: torch dying or hanging on import, closed and broken pipes,
encodings without "≥", and the documented exit codes."""

import io
import json
import subprocess
import sys

import pytest

from diagnostics.agent import cli
from diagnostics.agent.isolate import CHILD_ENV

from .reports import ROOT, judged_with_an_nvidia_gpu, run_cli


def fake_torch(tmp_path, body: str) -> dict[str, str]:
    """A torch package whose import does `body`: what a broken install does to a process."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(body)
    return {"PYTHONPATH": f"{tmp_path}:{ROOT}"}


def test_a_torch_that_dies_of_sigbus_on_import_becomes_a_finding_and_a_hint(tmp_path):
    env = fake_torch(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGBUS)\n")
    done = run_cli("check", "--json", "--no-bench", env=env)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert "killed by SIGBUS" in doc["report"]["torch"]["import_error"]
    codes = [f["code"] for f in doc["report"]["findings"]]
    assert "torch-crashed" in codes
    check = judged_with_an_nvidia_gpu(doc["report"])["torch-importable"]
    assert (
        check["status"] == "fail"
        and "torch crashes on import (killed by SIGBUS)" in (check["summary"])
    )
    assert "pip uninstall -y torch torchvision torchaudio" in check["hint"]
    assert doc["report"]["host"]["system"] == "Linux"  # the other facts are all there


def test_a_torch_that_hangs_on_import_is_killed_and_reported(tmp_path):
    env = fake_torch(tmp_path, "import time\ntime.sleep(600)\n")
    env["TORCHREADY_CHECK_TIMEOUT"] = "8"
    done = run_cli("check", "--json", "--no-bench", env=env)
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)["report"]["torch"]["import_error"]
    assert "hung for 8 s and was killed" in error


def test_exit_codes_are_documented_and_kept():
    assert "0  the objective is met" in cli.__doc__
    assert "3  the check itself failed" in cli.__doc__
    assert run_cli("check", "--no-such-flag").returncode == 2
    assert run_cli("check", "--quick").returncode in (0, 1)


def test_an_internal_error_exits_3_with_a_report(monkeypatch, capsys):
    def explode(**kwargs):
        raise RuntimeError("probe exploded")

    monkeypatch.setenv(CHILD_ENV, "1")
    monkeypatch.setattr(cli, "run_check", explode)
    assert cli.main(["check", "--json"]) == 3
    doc = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert doc["report"]["findings"][0]["message"] == "RuntimeError: probe exploded"


def test_a_failure_in_the_parent_process_exits_3_with_a_report(monkeypatch, capsys):
    """Where the child can't even start (no such interpreter, a full process table),
    the student still gets a report and exit 3, not a traceback and exit 1."""

    def cannot_start(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.delenv(CHILD_ENV, raising=False)
    monkeypatch.setattr(cli, "run_child", cannot_start)
    assert cli.main(["check", "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"]["findings"][0]["message"] == "OSError: [Errno 24] Too many open files"
    assert doc["verdict"]["objective_met"] is False


def shell(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        errors="replace",
        cwd=ROOT,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/tmp"},
    )


def test_a_closed_stdout_is_no_error():
    done = shell(f"{sys.executable} -m diagnostics check --no-bench >&-; echo rc=$?")
    assert "rc=1" in done.stdout and "Traceback" not in done.stderr, done.stderr


def test_a_broken_pipe_is_no_error():
    done = shell(
        f"{sys.executable} -m diagnostics check --no-bench | head -1; echo rc=${{PIPESTATUS[0]}}"
    )
    assert "rc=1" in done.stdout and "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipeError" not in done.stderr


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_any_stdout_encoding_falls_back_to_ascii(encoding):
    from diagnostics.agent.verdict import judge

    from .reports import fixture_report

    report = fixture_report("h100_ok")
    text = cli.render(report, judge(report)) + "≥ 525.60.13 … “quoted” 日本"
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding)
    assert cli.emit(stream, text)
    written = raw.getvalue().decode(encoding)
    assert '>= 525.60.13 ... "quoted" ??' in written
    assert "Objective met" in written


def test_the_real_check_under_cp1252_exits_by_its_verdict():
    done = shell(
        f"PYTHONIOENCODING=cp1252 {sys.executable} -m diagnostics check --no-bench; echo rc=$?"
    )
    assert "rc=1" in done.stdout and "UnicodeEncodeError" not in done.stderr, done.stderr
