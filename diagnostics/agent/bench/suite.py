"""The timed benchmarks: matmul FLOP/s, copy and host<->device bandwidth.

Inputs are fresh `torch.randn` tensors (never zeros: newer GPUs compress zeros),
sized to the free memory. Each result carries its theoretical peak and its
ratio to the same benchmark on the other device (GPU vs CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from diagnostics.agent.bench.correctness import supported_dtypes, tf32, torch_dtype
from diagnostics.agent.bench.peak import DevicePeaks
from diagnostics.agent.bench.timing import MIN_SAMPLES, time_cpu, time_cuda
from diagnostics.agent.probe.common import Findings, clip
from diagnostics.agent.report import BenchResult

MIB = 2**20
# Seconds per benchmark: (full, quick).
BUDGETS = {
    "gpu-matmul": (1.2, 0.25),
    "gpu-copy": (0.8, 0.2),
    "transfer": (0.5, 0.15),
    "cpu-matmul": (1.5, 0.3),
    "cpu-copy": (0.5, 0.15),
}
GPU_NAMES = [
    "matmul-fp32",
    "matmul-tf32",
    "matmul-fp16",
    "matmul-bf16",
    "copy",
    "h2d-pinned",
    "h2d-pageable",
    "d2h-pinned",
    "d2h-pageable",
]
Prepared = tuple[Callable[[], Any], float, str]  # (call, work per call, size label)


def fit_matmul(free_bytes: int, elem_size: int, sizes: list[int]) -> int:
    """The largest square size whose three operands fit in half the free memory."""
    for n in sizes:
        if 3 * n * n * elem_size <= free_bytes // 2:
            return n
    return sizes[-1]


class Runner:
    def __init__(
        self,
        torch: Any,
        *,
        quick: bool,
        deadline: float,
        findings: Findings,
        progress: Callable[[str], None],
    ) -> None:
        self.torch = torch
        self.quick = quick
        self.deadline = deadline
        self.findings = findings
        self.progress = progress
        self.results: list[BenchResult] = []
        self.cuda_broken: str | None = None

    def budget(self, kind: str) -> float:
        full, quick = BUDGETS[kind]
        return quick if self.quick else full

    def skip(self, name: str, device: str, reason: str) -> None:
        self.results.append(BenchResult(name=name, device=device, status="skipped", reason=reason))  # type: ignore[arg-type]

    def run(
        self,
        name: str,
        device: str,
        kind: str,
        prepare: Callable[[], Prepared],
        *,
        unit: str = "FLOP/s",
        peak: float | None = None,
        peak_source: str | None = None,
    ) -> None:
        if device == "cuda" and self.cuda_broken:
            return self.skip(name, device, f"an earlier CUDA error: {self.cuda_broken}")
        # Past the run's deadline a benchmark still takes its minimum samples (budget 0).
        remaining = max(0.0, self.deadline - perf_counter())
        self.progress(f"benchmark {name} ({device})")
        result = BenchResult(
            name=name,
            device=device,
            status="error",
            unit=unit,  # type: ignore[arg-type]
            peak=peak,
            peak_source=peak_source,
        )
        try:
            call, work, result.size = prepare()
            budget = min(self.budget(kind), remaining)
            if device == "cuda":
                timed = time_cuda(self.torch, call, budget_s=budget)
            else:
                timed = time_cpu(call, budget_s=budget)
            del call  # frees the inputs the closure holds
        except Exception as exc:  # noqa: BLE001 - OOM and CUDA errors are findings
            self.fail(result, exc)
            return None
        finally:
            if device == "cuda" and not self.cuda_broken:
                self.torch.cuda.empty_cache()
        result.samples = len(timed.seconds)
        if timed.seconds:
            result.median, result.min, result.max = timed.rates(work)
            if peak:
                result.pct_of_peak = 100 * result.median / peak
        result.status = "ok"
        if timed.timed_out:
            result.reason = (
                f"only the minimum {MIN_SAMPLES} samples: they took longer than the time "
                "budget (a busy machine?)"
            )
        self.results.append(result)
        return None

    def fail(self, result: BenchResult, exc: Exception) -> None:
        message = clip(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, self.torch.cuda.OutOfMemoryError):
            code = "cuda-oom"
        elif result.device == "cuda":
            code = "cuda-error"
            self.cuda_broken = clip(message, 200)  # most CUDA errors poison the context
        else:
            code = "bench-error"
        self.findings.add("bench", code, f"{result.name}: {message}")
        result.reason = message
        self.results.append(result)


def cpu_benchmarks(runner: Runner) -> None:
    torch = runner.torch
    n = 512 if runner.quick else 1024

    def matmul() -> Prepared:
        a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
        return (lambda: torch.matmul(a, b, out=c)), 2.0 * n**3, f"{n}x{n}x{n}"

    def copy() -> Prepared:
        count = (16 if runner.quick else 64) * MIB // 4
        src, dst = torch.randn(count), torch.empty(count)
        return (lambda: dst.copy_(src)), 2.0 * count * 4, f"{count * 4 // MIB} MiB"

    runner.run("matmul-fp32", "cpu", "cpu-matmul", matmul)
    runner.run("copy", "cpu", "cpu-copy", copy, unit="B/s")


def gpu_benchmarks(runner: Runner, major: int, peaks: DevicePeaks | None) -> None:
    torch = runner.torch
    free = int(torch.cuda.mem_get_info()[0])
    sizes = [4096, 2048, 1024] if runner.quick else [8192, 4096, 2048, 1024]

    def matmul(dtype: str) -> Callable[[], Prepared]:
        def prepare() -> Prepared:
            dt = torch_dtype(torch, dtype)
            n = fit_matmul(free, torch.empty(0, dtype=dt).element_size(), sizes)
            a = torch.randn(n, n, device="cuda", dtype=dt)
            b = torch.randn(n, n, device="cuda", dtype=dt)
            c = torch.empty(n, n, device="cuda", dtype=dt)
            return (lambda: torch.matmul(a, b, out=c)), 2.0 * n**3, f"{n}x{n}x{n}"

        return prepare

    def copy() -> Prepared:
        nbytes = min((256 if runner.quick else 1024) * MIB, free // 4)
        src = torch.randn(nbytes // 4, device="cuda")
        dst = torch.empty_like(src)
        return (lambda: dst.copy_(src)), 2.0 * nbytes, f"{nbytes // MIB} MiB"  # read + written

    def transfer(direction: str, pinned: bool) -> Callable[[], Prepared]:
        def prepare() -> Prepared:
            nbytes = min((64 if runner.quick else 256) * MIB, free // 4)
            device = torch.randn(nbytes // 4, device="cuda")
            host = device.cpu()  # random host data without a slow CPU randn
            if pinned:
                host = host.pin_memory()
            if direction == "h2d":
                call = lambda: device.copy_(host, non_blocking=pinned)  # noqa: E731
            else:
                call = lambda: host.copy_(device, non_blocking=pinned)  # noqa: E731
            return call, float(nbytes), f"{nbytes // MIB} MiB"

        return prepare

    for dtype in ("fp32", "tf32", "fp16", "bf16"):
        name = f"matmul-{dtype}"
        if dtype not in supported_dtypes(major):
            runner.skip(name, "cuda", f"sm_{major}x has no {dtype} tensor cores")
            continue
        with tf32(torch, dtype == "tf32"):
            runner.run(
                name,
                "cuda",
                "gpu-matmul",
                matmul(dtype),
                peak=peaks.matmul[dtype] if peaks else None,
                peak_source=peaks.source if peaks else None,
            )
        if dtype == "fp32":
            cpu_benchmarks(runner)  # early, so the GPU-vs-CPU comparison survives a tight budget
    runner.run(
        "copy",
        "cuda",
        "gpu-copy",
        copy,
        unit="B/s",
        peak=peaks.memory if peaks else None,
        peak_source="2 x max memory clock x bus width",
    )
    for direction in ("h2d", "d2h"):
        for pinned in (True, False):
            name = f"{direction}-{'pinned' if pinned else 'pageable'}"
            runner.run(
                name,
                "cuda",
                "transfer",
                transfer(direction, pinned),
                unit="B/s",
                peak=peaks.pcie if peaks else None,
                peak_source="PCIe max generation x width",
            )


def relate(results: list[BenchResult]) -> None:
    """Each rate over the other device's: GPU matmuls against the CPU's fp32 matmul."""
    rates: dict[tuple[str, str], float] = {
        (r.name, r.device): r.median for r in results if r.median
    }
    for r in results:
        if not r.median:
            continue
        other = "cpu" if r.device == "cuda" else "cuda"
        if r.name.startswith("matmul-"):
            name = "matmul-fp32"
        elif r.name == "copy":
            name = "copy"
        else:
            continue
        if rates.get((name, other)):
            r.vs_other_device = r.median / rates[(name, other)]
