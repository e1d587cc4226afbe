"""Timings and correctness on the student's machine, using the torch already installed.

Budgets (the whole check, torch import included): 20 s with a GPU, 10 s on the
CPU only, 3 s for --quick on the CPU. A hung CUDA call cannot be interrupted in
process; the worker runs `python -m diagnostics check` in a subprocess with a
hard timeout for that.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from diagnostics.agent.bench.correctness import check_correctness
from diagnostics.agent.bench.peak import device_peaks
from diagnostics.agent.bench.suite import GPU_NAMES, Runner, cpu_benchmarks, gpu_benchmarks, relate
from diagnostics.agent.probe.common import Findings
from diagnostics.agent.report import BenchReport, BenchResult, Correctness, Report

__all__ = ["correctness", "run_benchmarks"]

# Seconds for the benchmarks alone, after the probe (torch import, CUDA init) is done.
RUN_BUDGET = {(True, False): 13.0, (True, True): 4.0, (False, False): 6.0, (False, True): 0.8}


def _torch() -> Any:
    try:
        import torch
    except Exception:  # noqa: BLE001 - the probe already recorded why
        return None
    return torch


def usable_cuda_major(report: Report) -> int | None:
    if report.torch.cuda_available and report.torch.devices:
        return report.torch.devices[0].major
    return None


def correctness(report: Report, findings: Findings) -> list[Correctness]:
    torch = _torch() if report.torch.importable else None
    if torch is None:
        return []
    return check_correctness(torch, cuda_major=usable_cuda_major(report), findings=findings)


def gpu_skip_reason(report: Report, checks: list[Correctness]) -> str | None:
    if not report.torch.cuda:
        return "torch is not a CUDA build"
    if usable_cuda_major(report) is None:
        return "no usable CUDA device (torch.cuda.is_available() is False)"
    if any(c.device == "cuda" and not c.ok for c in checks):
        return "the GPU gave wrong results or an error in the correctness check"
    return None


def run_benchmarks(
    report: Report,
    findings: Findings,
    *,
    quick: bool,
    progress: Callable[[str], None] | None = None,
) -> BenchReport:
    started = perf_counter()
    torch = _torch() if report.torch.importable else None
    if torch is None:
        results = [
            BenchResult(name=n, device="cpu", status="skipped", reason="torch missing")
            for n in ("matmul-fp32", "copy")
        ]
        return BenchReport(quick=quick, results=results)
    skip_gpu = gpu_skip_reason(report, report.correctness)
    budget = RUN_BUDGET[(skip_gpu is None, quick)]
    runner = Runner(
        torch,
        quick=quick,
        deadline=started + budget,
        findings=findings,
        progress=progress or (lambda _: None),
    )
    if skip_gpu:
        cpu_benchmarks(runner)
        for name in GPU_NAMES:
            runner.skip(name, "cuda", skip_gpu)
    else:
        gpu_benchmarks(runner, report.torch.devices[0].major, device_peaks(report))
    relate(runner.results)
    return BenchReport(quick=quick, wall_s=perf_counter() - started, results=runner.results)
