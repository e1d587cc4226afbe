"""Run the parts that load CUDA in a child process, so that a crash there is a finding.

torch with a truncated library dies of SIGBUS on import; a broken driver can
segfault NVML; a wedged GPU can hang a matmul. None of these may take the check
down with them. The parent runs `check` again as a child (CHILD_ENV set), which
prints one JSON line per stage as soon as it has it, then the whole document.
If the child dies or hangs, the parent knows the stage from the last line, and
runs a fresh child that records that stage as crashed instead of entering it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

CHILD_ENV = "TORCHREADY_CHECK_CHILD"
# Seconds the whole check may take, set by the worker (its own limit kills the check,
# not the check's children): the children stop in time for the check to report.
BUDGET_ENV = "TORCHREADY_CHECK_BUDGET"
MIN_RETRY_S = 10.0  # a retry with less time left than this would only be cut short
CRASHED_ENV = "TORCHREADY_CRASHED"  # JSON: {"torch": "killed by SIGBUS (last output: ...)"}
LAST_WORDS = 3  # stderr lines of a crashed child kept as evidence
# The stages that load CUDA, in the order the child enters them.
RISKY = ("nvml", "torch", "correctness", "bench")


@dataclass
class ChildResult:
    document: dict[str, Any] | None
    crashed: dict[str, str]  # stage -> what happened, for the stages that killed a child
    code: int | None


def crashed_stages() -> dict[str, str]:
    """In a child: the stages an earlier child died in, which this one must not enter."""
    try:
        stages = json.loads(os.environ.get(CRASHED_ENV) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in stages.items()} if isinstance(stages, dict) else {}


def emit_stage(stream: IO[str], stage: str) -> None:
    """In a child: tell the parent this stage is done."""
    stream.write(json.dumps({"stage": stage}) + "\n")
    stream.flush()


def how_it_ended(code: int | None, timeout: float) -> str:
    if code is None:
        return f"hung for {timeout:g} s and was killed"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code > 255:  # Windows: an NTSTATUS such as 0xC0000005, an access violation
        return f"crashed with status {code:#x}"
    return f"exited with code {code}"


def run_child(
    argv: list[str],
    *,
    timeout: float,
    relay: Callable[[str], object],
    retries: int = len(RISKY),
    deadline: float | None = None,
) -> ChildResult:
    """Children until one reports, each given `timeout` (and no more than is left
    before `deadline`, a time.monotonic() value)."""
    crashed: dict[str, str] = {}
    code: int | None = None
    for _ in range(retries + 1):
        limit = timeout if deadline is None else min(timeout, deadline - time.monotonic())
        if crashed and limit < min(timeout, MIN_RETRY_S):
            break  # the deadline is near: what crashed so far is the report
        env = {**os.environ, CHILD_ENV: "1", "PYTHONIOENCODING": "utf-8"}
        env[CRASHED_ENV] = json.dumps(crashed)
        said: list[str] = []
        limit = float(max(round(limit), 1))  # whole seconds, as the finding says them
        stages, document, code = _one_child(argv, env, limit, _tee(said, relay))
        if document is not None and code in (0, 1, 3):
            return ChildResult(document, crashed, code)
        stage = next((s for s in RISKY if s not in stages and s not in crashed), None)
        if stage is None:
            break  # it died outside the CUDA stages: the check itself failed
        last = [line for line in said if line.strip() and not line.startswith("[")][-LAST_WORDS:]
        why = how_it_ended(code, limit)
        crashed[stage] = f"{why} (last output: {' | '.join(last)})" if last else why
    return ChildResult(None, crashed, code)


def _tee(said: list[str], relay: Callable[[str], object]) -> Callable[[str], None]:
    def hear(line: str) -> None:
        said.append(line)
        relay(line)

    return hear


def _one_child(
    argv: list[str], env: dict[str, str], timeout: float, relay: Callable[[str], object]
) -> tuple[set[str], dict[str, Any] | None, int | None]:
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "diagnostics", *argv],
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        pump = threading.Thread(target=_relay_lines, args=(proc.stderr, relay), daemon=True)
        pump.start()
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        pump.join(timeout=5)
        out.seek(0)
        lines = out.read().decode("utf-8", errors="replace").splitlines()
    stages: set[str] = set()
    document: dict[str, Any] | None = None
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "stage" in item:
            stages.add(str(item["stage"]))
        elif isinstance(item, dict) and "report" in item:
            document = item
    return stages, document, code


def _relay_lines(stream: IO[bytes] | None, relay: Callable[[str], object]) -> None:
    if stream is None:
        return
    for raw in stream:
        relay(raw.decode("utf-8", errors="replace").rstrip("\n"))
