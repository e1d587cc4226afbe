"""Timing loops: warm-up, then many samples within a time budget.

Every loop takes MIN_SAMPLES before its budget applies: on a loaded machine a
benchmark gives fewer, slower samples, never none. The budget is checked
between iterations. A CUDA call that hangs cannot be
interrupted from inside the process, so the worker pipeline runs the whole
check in a subprocess with a hard timeout; this budget keeps a healthy run short.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

MIN_SAMPLES = 3
BATCH_SECONDS = 0.05  # CUDA: queue this much work between syncs so the GPU never idles


@dataclass
class Timed:
    seconds: list[float]
    timed_out: bool  # the budget ran out before more than the minimum samples

    def rates(self, work: float) -> tuple[float, float, float]:
        """(median, min, max) of work per second."""
        return (
            work / statistics.median(self.seconds),
            work / max(self.seconds),
            work / min(self.seconds),
        )


def time_cpu(fn: Callable[[], Any], *, budget_s: float, max_samples: int = 30) -> Timed:
    """perf_counter around each call; CPU torch ops return when they are done."""
    deadline = perf_counter() + budget_s
    fn()  # warm-up: thread pools, allocator, first-call dispatch
    seconds: list[float] = []
    while len(seconds) < max_samples and (len(seconds) < MIN_SAMPLES or perf_counter() < deadline):
        start = perf_counter()
        fn()
        seconds.append(perf_counter() - start)
    return Timed(seconds, timed_out=len(seconds) <= MIN_SAMPLES and perf_counter() > deadline)


def time_cuda(
    torch: Any, fn: Callable[[], Any], *, budget_s: float, max_samples: int = 50
) -> Timed:
    """CUDA events around each call, synchronising once per batch."""
    deadline = perf_counter() + budget_s
    torch.cuda.synchronize()
    fn()  # warm-up: cuBLAS handle and algorithm choice, allocator
    torch.cuda.synchronize()
    start = perf_counter()
    fn()
    torch.cuda.synchronize()
    per_call = max(perf_counter() - start, 1e-6)
    batch = max(1, min(max_samples, int(BATCH_SECONDS / per_call)))
    seconds: list[float] = []
    while len(seconds) < max_samples and (len(seconds) < MIN_SAMPLES or perf_counter() < deadline):
        events = [
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            for _ in range(min(batch, max_samples - len(seconds)))
        ]
        for begin, end in events:
            begin.record()
            fn()
            end.record()
        events[-1][1].synchronize()
        seconds += [begin.elapsed_time(end) / 1000 for begin, end in events]
    return Timed(seconds, timed_out=len(seconds) <= MIN_SAMPLES and perf_counter() > deadline)
