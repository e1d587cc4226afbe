"""A spool the student's machine can't write gives a clear error, not a traceback.

A folder under a regular file fails with ENOTDIR even as root (chmod doesn't stop
root); a full disk is simulated where it shows up, at fsync.
"""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.agent.worker.spool import Spool, SpoolError

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def unwritable(tmp_path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "spool"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_spool_names_the_folder_and_what_to_do(unwritable):
    with pytest.raises(SpoolError) as raised:
        Spool(unwritable)
    message = str(raised.value.strerror)
    assert str(unwritable) in message
    assert "--spool" in message and "disk space" in message


def test_a_full_disk_while_writing_a_report_is_a_spool_error(tmp_path, monkeypatch):
    spool = Spool(tmp_path / "spool")

    def full(fd):  # where a full disk shows up for a buffered write
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SpoolError, match="No space left on device"):
        spool.put("a-report", b"{}" * 1000)
    monkeypatch.undo()
    assert spool.pending() == []
    assert not list(spool.folder.glob(".incoming-*"))  # no half-written file left


def test_the_worker_exits_with_the_message_and_no_traceback(unwritable):
    result = cli(
        "worker", "--server", "http://127.0.0.1:9", "--token", "tr_x", "--spool", str(unwritable)
    )
    assert result.returncode == 2
    assert "is not writable" in result.stderr and "Traceback" not in result.stderr


def test_check_post_exits_with_the_message_and_no_traceback(unwritable):
    result = cli(
        "check",
        "--quick",
        "--post",
        "http://127.0.0.1:9",
        "--token",
        "tr_x",
        "--spool",
        str(unwritable),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "is not writable" in result.stderr and "Traceback" not in result.stderr
