"""Is a report physically possible? Ceilings per GPU family, and cross-checks.

A student controls every byte of a report, so the server checks what it can:
figures no GPU of the reported family can reach, NVML and torch disagreeing
about the device, correctness results that don't fit the timings. The checks
that need other students' reports (a GPU or benchmark figures seen twice) live
in services, which own the database. A flagged report is stored but does not
verify: the objective shows "needs review" until an instructor looks.

The ceilings are data: one row per compute capability, sized for the largest
part of the family with a margin for factory overclocks, each row with its source
and the date it was checked. Peak TFLOP/s = max SMs x max SM clock x dense FLOP
per clock per SM (diagnostics.agent.bench.peak), dense, no sparsity.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.agent.report import Report

GiB = 2**30
# A measurement a little above a theoretical peak is timer noise; far above is not.
MARGIN = 1.05


@dataclass(frozen=True)
class Ceiling:
    family: str
    sm_count: int
    sm_clock_mhz: int
    memory_gib: int
    power_w: int
    temperature_c: int
    tflops: dict[str, float]  # peak dense matmul TFLOP/s per dtype
    source: str
    checked: str


# (major, minor) -> the ceiling for every GPU of that compute capability.
CEILINGS: dict[tuple[int, int], Ceiling] = {
    (6, 0): Ceiling("Pascal GP100 (P100)", 56, 1480, 16, 300, 105,
                    {"fp32": 10.6, "fp16": 21.2},
                    "NVIDIA Tesla P100 whitepaper; datasheet", "2026-11-30"),
    (6, 1): Ceiling("Pascal GP10x (Titan Xp, P40, GTX 1080 Ti)", 30, 2100, 24, 300, 105,
                    {"fp32": 16.1},
                    "GP104 whitepaper; Tesla P40 datasheet; TechPowerUp GPU database",
                    "2026-11-30"),
    (7, 0): Ceiling("Volta GV100 (V100, V100S, Titan V)", 80, 1601, 32, 450, 105,
                    {"fp32": 16.4, "fp16": 131.2},
                    "NVIDIA Tesla V100 whitepaper; V100S datasheet", "2026-11-30"),
    (7, 2): Ceiling("Volta GV10B (Jetson Xavier)", 8, 1377, 64, 60, 105,
                    {"fp32": 1.41, "fp16": 11.3},
                    "Jetson AGX Xavier datasheet", "2026-11-30"),
    (7, 5): Ceiling("Turing TU10x (Titan RTX, Quadro RTX 8000, T4, RTX 20)", 72, 2100, 48, 400,
                    105, {"fp32": 19.4, "fp16": 154.8},
                    "NVIDIA Turing architecture whitepaper; Quadro RTX 8000 datasheet",
                    "2026-11-30"),
    (8, 0): Ceiling("Ampere GA100 (A100, A800, A30)", 108, 1410, 80, 500, 105,
                    {"fp32": 19.5, "tf32": 156.0, "fp16": 312.0, "bf16": 312.0},
                    "NVIDIA A100 Tensor Core GPU architecture whitepaper; A100 datasheet",
                    "2026-11-30"),
    (8, 6): Ceiling("Ampere GA10x (RTX 30, A40, RTX A6000)", 84, 2200, 48, 520, 105,
                    {"fp32": 47.3, "tf32": 94.6, "fp16": 189.2, "bf16": 189.2},
                    "NVIDIA Ampere GA102 GPU architecture whitepaper; A40 datasheet",
                    "2026-11-30"),
    (8, 7): Ceiling("Ampere GA10B (Jetson Orin)", 16, 1300, 64, 60, 105,
                    {"fp32": 5.3, "tf32": 10.6, "fp16": 21.3, "bf16": 21.3},
                    "Jetson AGX Orin datasheet", "2026-11-30"),
    (8, 9): Ceiling("Ada AD10x (RTX 40, L4, L40S, RTX 6000 Ada)", 142, 3150, 48, 600, 105,
                    {"fp32": 114.5, "tf32": 229.0, "fp16": 458.0, "bf16": 458.0},
                    "NVIDIA Ada GPU architecture whitepaper; L40S datasheet", "2026-11-30"),
    (9, 0): Ceiling("Hopper GH100 (H100, H200, GH200)", 144, 1980, 150, 1000, 105,
                    {"fp32": 73.0, "tf32": 584.0, "fp16": 1168.0, "bf16": 1168.0},
                    "NVIDIA H100 Tensor Core GPU architecture whitepaper; H200 and GH200 "
                    "datasheets", "2026-11-30"),
    (10, 0): Ceiling("Blackwell GB100 (B200, GB200)", 160, 2100, 200, 1200, 105,
                     {"fp32": 86.0, "tf32": 1376.0, "fp16": 2752.0, "bf16": 2752.0},
                     "NVIDIA Blackwell architecture technical brief; DGX B200 datasheet",
                     "2026-11-30"),
    (10, 3): Ceiling("Blackwell Ultra GB110 (B300, GB300)", 160, 2100, 300, 1400, 105,
                     {"fp32": 86.0, "tf32": 1376.0, "fp16": 2752.0, "bf16": 2752.0},
                     "NVIDIA Blackwell Ultra technical brief", "2026-11-30"),
    (12, 0): Ceiling("Blackwell GB20x (RTX 50, RTX PRO 6000)", 188, 3100, 96, 600, 105,
                     {"fp32": 149.2, "tf32": 298.4, "fp16": 596.8, "bf16": 596.8},
                     "NVIDIA RTX Blackwell GPU architecture whitepaper; RTX PRO 6000 datasheet",
                     "2026-11-30"),
    (12, 1): Ceiling("Blackwell GB10 (DGX Spark)", 48, 2600, 130, 140, 105,
                     {"fp32": 31.9, "tf32": 63.9, "fp16": 127.8, "bf16": 127.8},
                     "NVIDIA DGX Spark datasheet", "2026-11-30"),
}  # fmt: skip
# A family not in the table (a newer GPU) is held to the highest ceiling of all.
ANY_GPU = Ceiling(
    "any GPU",
    max(c.sm_count for c in CEILINGS.values()),
    max(c.sm_clock_mhz for c in CEILINGS.values()),
    max(c.memory_gib for c in CEILINGS.values()),
    max(c.power_w for c in CEILINGS.values()),
    max(c.temperature_c for c in CEILINGS.values()),
    {
        dtype: max(c.tflops.get(dtype, 0) for c in CEILINGS.values())
        for dtype in ("fp32", "tf32", "fp16", "bf16")
    },
    "the highest row of the table",
    "2026-11-30",
)
# No CPU a student owns does 100 TFLOP/s of fp32 matmul (a 2x128-core server: ~20).
CPU_TFLOPS = 100.0


def ceiling_for(capability: tuple[int, int] | None) -> Ceiling:
    return CEILINGS.get(capability, ANY_GPU) if capability else ANY_GPU


def _capability(text: str | None) -> tuple[int, int] | None:
    major, _, minor = (text or "").partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def plausibility_flags(report: Report) -> list[str]:
    """Facts beyond what the reported GPU family can do, or that contradict each other."""
    return [
        *_device_flags(report),
        *_agreement_flags(report),
        *_bench_flags(report),
        *_completeness_flags(report),
    ]


def _completeness_flags(report: Report) -> list[str]:
    """What the probe always records on a working CUDA machine; a report typed by hand
    tends to leave it out."""
    t = report.torch
    if not (t.cuda_available and t.devices):
        return []
    dev = t.devices[0]
    nvml = next((d for d in report.nvml.devices if d.name == dev.name), None)
    expected = {
        "tool_version": report.tool_version,
        "python.executable": report.python.executable,
        "torch.location": t.location,
        "torch.arch_list": t.arch_list,
        "torch.devices[0].sm_count": dev.sm_count,
        "torch.devices[0].total_memory": dev.total_memory,
        "nvml memory_total of the same GPU": nvml and nvml.memory_total,
    }
    missing = [name for name, value in expected.items() if not value]
    if not missing:
        return []
    return ["missing what the probe always records on a working GPU: " + ", ".join(missing)]


def _over(what: str, value: float, limit: float, unit: str, ceiling: Ceiling) -> list[str]:
    if value <= limit:
        return []
    return [f"{what} {value:,.4g} {unit} is beyond any {ceiling.family} ({limit:,.4g} {unit})"]


def _device_flags(report: Report) -> list[str]:
    found: list[str] = []
    for dev in report.torch.devices:
        c = ceiling_for((dev.major, dev.minor))
        name = f"torch's {dev.name}"
        found += _over(f"{name}: SM count", dev.sm_count or 0, c.sm_count, "SMs", c)
        found += _over(f"{name}: memory", (dev.total_memory or 0) / GiB, c.memory_gib, "GiB", c)
        found += _over(f"{name}: SM clock", (dev.clock_khz or 0) / 1000, c.sm_clock_mhz, "MHz", c)
    for nv in report.nvml.devices:
        c = ceiling_for(_capability(nv.compute_capability))
        name = f"NVML's {nv.name}"
        found += _over(f"{name}: memory", (nv.memory_total or 0) / GiB, c.memory_gib, "GiB", c)
        found += _over(f"{name}: SM clock", nv.max_sm_clock_mhz or 0, c.sm_clock_mhz, "MHz", c)
        found += _over(f"{name}: power limit", nv.power_limit_w or 0, c.power_w, "W", c)
        found += _over(f"{name}: temperature", nv.temperature_c or 0, c.temperature_c, "°C", c)
    return found


def _agreement_flags(report: Report) -> list[str]:
    """NVML and torch describe the same GPU; correctness fits the timings."""
    found: list[str] = []
    nvml_by_uuid = {d.uuid: d for d in report.nvml.devices if d.uuid}
    for dev in report.torch.devices:
        twin = nvml_by_uuid.get(dev.uuid) if dev.uuid else None
        if twin and twin.name != dev.name:
            found.append(f"NVML calls the GPU {twin.name!r} but torch {dev.name!r}")
        cap = _capability(twin.compute_capability) if twin else None
        if cap and cap != (dev.major, dev.minor):
            found.append(
                f"{dev.name}: NVML says compute capability {cap[0]}.{cap[1]}, "
                f"torch {dev.major}.{dev.minor}"
            )
    cuda_ran = any(r.device == "cuda" and r.status == "ok" and r.median for r in _results(report))
    if cuda_ran and report.torch.devices and not report.nvml.devices:
        found.append("CUDA benchmarks ran, but NVML (part of every NVIDIA driver) saw no GPU")
    for check in report.correctness:
        if check.rel_err is not None and check.ok != (check.rel_err <= check.threshold):
            found.append(
                f"correctness {check.device} {check.dtype}: ok={check.ok} but the error "
                f"{check.rel_err:.3g} is {'above' if check.ok else 'within'} its threshold"
            )
        if check.ok and check.dtype in ("fp16", "bf16") and check.rel_err == 0 and check.size:
            found.append(f"correctness {check.device} {check.dtype}: an exact result is impossible")
        broken = not check.ok and check.device == "cuda"
        timed = any(
            r.name == f"matmul-{check.dtype}" and r.device == "cuda" and r.median
            for r in _results(report)
        )
        if broken and check.error and timed:
            found.append(
                f"matmul-{check.dtype} on cuda was timed although the same matmul failed: "
                f"{check.error[:80]}"
            )
    return found


def _results(report: Report) -> list:
    return report.bench.results if report.bench else []


def _bench_flags(report: Report) -> list[str]:
    found: list[str] = []
    dev = report.torch.devices[0] if report.torch.devices else None
    c = ceiling_for((dev.major, dev.minor) if dev else None)
    for r in _results(report):
        if not r.median or r.unit != "FLOP/s" or not r.name.startswith("matmul-"):
            continue
        tflops = r.median / 1e12
        if r.device == "cpu":
            if tflops > CPU_TFLOPS:
                found.append(f"{r.name} (cpu): {tflops:,.4g} TFLOP/s is beyond any CPU")
            continue
        peak = c.tflops.get(r.name.removeprefix("matmul-"))
        if peak:
            found += _over(f"{r.name} (cuda)", tflops, peak * MARGIN, "TFLOP/s", c)
        if r.samples == 0:
            found.append(f"{r.name} (cuda): a median from zero samples")
    return found
