"""Theoretical peaks from device properties: the one place their formulas live.

Matmul: peak FLOP/s = SMs x max SM clock x dense FLOP per clock per SM.
The per-SM figures come from NVIDIA's architecture whitepapers (Volta V100,
Turing, Ampere A100 and GA102, Ada, Hopper H100, Blackwell), checked against
the datasheet numbers, e.g. A100: 108 SMs x 1.41 GHz x 2048 = 312 TFLOP/s fp16,
H100 SXM: 132 x 1.98 GHz x 256 = 67 TFLOP/s fp32, RTX 3090: 82 x 1.695 GHz x 256
= 35.6 TFLOP/s fp32. fp32 means the CUDA cores (2 FLOP per FMA); tf32/fp16/bf16
the tensor cores with fp32 accumulation, which is what torch.matmul asks cuBLAS
for. GeForce cards run tensor-core fp32 accumulation at half rate.

Memory: peak B/s = 2 (double data rate) x max memory clock x bus width / 8,
e.g. H100 SXM: 2 x 2619 MHz x 5120 bit / 8 = 3.35 TB/s.
PCIe: lanes x per-lane rate after line encoding, per direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.agent.report import NvmlDevice, Report, TorchDevice

# (major, minor) -> dense FLOP per clock per SM.
FLOP_PER_CLOCK_PER_SM: dict[tuple[int, int], dict[str, int]] = {
    (6, 0): {"fp32": 128, "fp16": 256},
    (6, 1): {"fp32": 256},
    (7, 0): {"fp32": 128, "fp16": 1024},
    (7, 2): {"fp32": 128, "fp16": 1024},
    (7, 5): {"fp32": 128, "fp16": 1024},
    (8, 0): {"fp32": 128, "tf32": 1024, "fp16": 2048, "bf16": 2048},
    (8, 6): {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024},
    (8, 7): {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024},
    (8, 9): {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024},
    (9, 0): {"fp32": 256, "tf32": 2048, "fp16": 4096, "bf16": 4096},
    (10, 0): {"fp32": 256, "tf32": 4096, "fp16": 8192, "bf16": 8192},
    (10, 3): {"fp32": 256, "tf32": 4096, "fp16": 8192, "bf16": 8192},
    (12, 0): {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024},
    (12, 1): {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024},
}
GEFORCE_HALF_RATE = {(7, 5), (8, 6), (8, 9), (12, 0)}
PCIE_GB_PER_LANE = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}


def matmul_peak(
    *,
    name: str,
    major: int,
    minor: int,
    sm_count: int | None,
    clock_mhz: float | None,
    dtype: str,
) -> float | None:
    """Theoretical dense matmul FLOP/s, or None when the table or the clock is unknown."""
    per_sm = FLOP_PER_CLOCK_PER_SM.get((major, minor), {}).get(dtype)
    if not per_sm or not sm_count or not clock_mhz:
        return None
    if dtype != "fp32" and "GeForce" in name and (major, minor) in GEFORCE_HALF_RATE:
        per_sm //= 2
    return float(sm_count * clock_mhz * 1e6 * per_sm)


def memory_peak(*, mem_clock_mhz: float | None, bus_width_bits: int | None) -> float | None:
    if not mem_clock_mhz or not bus_width_bits:
        return None
    return 2 * mem_clock_mhz * 1e6 * bus_width_bits / 8


def pcie_peak(*, generation: int | None, width: int | None) -> float | None:
    per_lane = PCIE_GB_PER_LANE.get(generation or 0)
    return per_lane * 1e9 * width if per_lane and width else None


@dataclass
class DevicePeaks:
    """Ceilings for cuda:0, as far as the report's facts allow."""

    name: str
    matmul: dict[str, float | None]
    memory: float | None
    pcie: float | None
    source: str


def matching_nvml(report: Report, device: TorchDevice) -> NvmlDevice | None:
    """NVML and torch order GPUs differently (and CUDA_VISIBLE_DEVICES renumbers): match by UUID."""
    if device.uuid:
        for candidate in report.nvml.devices:
            if candidate.uuid == device.uuid:
                return candidate
    same_name = [d for d in report.nvml.devices if d.name == device.name]
    return same_name[0] if same_name else None


def device_peaks(report: Report) -> DevicePeaks | None:
    if not report.torch.devices:
        return None
    dev = report.torch.devices[0]
    nvml = matching_nvml(report, dev)
    clock = (nvml and nvml.max_sm_clock_mhz) or (dev.clock_khz or 0) / 1000 or None
    mem_clock = (nvml and nvml.max_mem_clock_mhz) or (dev.memory_clock_khz or 0) / 1000 or None
    bus = (nvml and nvml.memory_bus_width) or dev.memory_bus_width
    matmul = {
        dtype: matmul_peak(
            name=dev.name,
            major=dev.major,
            minor=dev.minor,
            sm_count=dev.sm_count,
            clock_mhz=clock,
            dtype=dtype,
        )
        for dtype in ("fp32", "tf32", "fp16", "bf16")
    }
    return DevicePeaks(
        name=dev.name,
        matmul=matmul,
        memory=memory_peak(mem_clock_mhz=mem_clock, bus_width_bits=bus),
        pcie=pcie_peak(generation=nvml.pcie_gen_max, width=nvml.pcie_width_max) if nvml else None,
        source=f"sm_{dev.major}{dev.minor}, {dev.sm_count} SMs, {clock} MHz max SM clock",
    )
