"""What torch and the NVIDIA driver (through NVML) say about the GPUs.

torch is imported here, lazily, so the rest of the probe works without it.
`torch.cuda.is_available()` initialises the CUDA driver, so this runs only in a
plain process (the CLI), never in a parent that forks afterwards.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

from diagnostics.agent.probe.common import Findings, clip, hashed
from diagnostics.agent.report import PATH, SHORT, NvmlDevice, NvmlInfo, TorchDevice, TorchInfo


def warning_texts(caught: list[warnings.WarningMessage]) -> list[str]:
    texts = dict.fromkeys(clip(w.message) for w in caught)  # dedupe, keep order
    return list(texts)[:10]


def import_torch(info: TorchInfo, findings: Findings) -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import torch
        except Exception as exc:  # noqa: BLE001 - a broken install (missing .so, ABI) is a fact
            if isinstance(exc, ModuleNotFoundError) and exc.name == "torch":
                info.import_error = "No module named 'torch'"
                message = "torch missing: not installed for this Python"
                findings.add("torch", "torch-missing", message)
                return None
            info.import_error = clip(f"{type(exc).__name__}: {exc}")
            findings.add("torch", "torch-import-error", info.import_error)
            return None
        finally:
            info.import_warnings = warning_texts(caught)
    return torch


def arch_list(torch: Any) -> list[str]:
    # get_arch_list() returns [] when no GPU is usable; the compiled-in flags don't need one.
    flags = getattr(torch._C, "_cuda_getArchFlags", None)
    text = flags() if flags else None
    archs = text.split() if text else list(torch.cuda.get_arch_list())
    return [clip(a, SHORT) for a in archs][:64]


def bare_uuid(uuid: str) -> str:
    """NVML writes GPU-<uuid>, torch the bare <uuid>: one form lets the two be matched."""
    return uuid[4:] if uuid.startswith("GPU-") else uuid


def torch_device(torch: Any, index: int, share: bool) -> TorchDevice:
    props = torch.cuda.get_device_properties(index)
    uuid = getattr(props, "uuid", None)
    return TorchDevice(
        index=index,
        name=clip(props.name, SHORT),
        major=props.major,
        minor=props.minor,
        total_memory=props.total_memory,
        sm_count=props.multi_processor_count,
        uuid=hashed(bare_uuid(str(uuid)), share) if uuid else None,
        # Newer CUDA runtimes drop the clock fields (they read 0); treat 0 as unknown.
        clock_khz=getattr(props, "clock_rate", 0) or None,
        memory_clock_khz=getattr(props, "memory_clock_rate", 0) or None,
        memory_bus_width=getattr(props, "memory_bus_width", 0) or None,
    )


def collect_torch(findings: Findings, share: bool) -> TorchInfo:
    info = TorchInfo()
    torch = import_torch(info, findings)
    if torch is None:
        return info
    info.importable = True
    info.version = clip(torch.__version__, SHORT)
    info.cuda = torch.version.cuda
    info.hip = getattr(torch.version, "hip", None)
    info.location = clip(getattr(torch, "__file__", "") or "", PATH) or None
    info.num_threads = torch.get_num_threads()
    try:
        info.cudnn = torch.backends.cudnn.version()
    except Exception as exc:  # noqa: BLE001 - a broken cuDNN library is a finding
        findings.add("torch", "cudnn-error", exc)
    numpy_interop(torch, info)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The warning text is the best evidence: "driver too old (found version 11040)".
        info.cuda_available = bool(torch.cuda.is_available())
        info.device_count = int(torch.cuda.device_count())
    info.availability_warnings = warning_texts(caught)
    info.arch_list = arch_list(torch) if info.cuda else []
    for index in range(min(info.device_count, 16)):
        try:
            info.devices.append(torch_device(torch, index, share))
        except Exception as exc:  # noqa: BLE001
            findings.add("torch", "device-properties-error", f"cuda:{index}: {exc}")
    return info


def numpy_interop(torch: Any, info: TorchInfo) -> None:
    """torch built against NumPy 1 beside NumPy 2 imports fine, then fails here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import numpy
        except Exception:  # noqa: BLE001 - torch works without numpy
            return
        info.numpy_version = clip(getattr(numpy, "__version__", "?"), SHORT)
        try:
            torch.from_numpy(numpy.zeros(2, dtype="float32")).sum().item()
        except Exception as exc:  # noqa: BLE001 - the mismatch's own message is the evidence
            info.numpy_error = clip(f"{type(exc).__name__}: {exc}")


def nvml_code(exc: Exception) -> str:
    """NVMLError_LibRmVersionMismatch -> nvml-lib-rm-version-mismatch."""
    name = type(exc).__name__.replace("NVMLError_", "").replace("NVMLError", "error")
    return "nvml-" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def collect_nvml(findings: Findings, share: bool) -> NvmlInfo:
    info = NvmlInfo()
    try:
        import pynvml
    except ImportError:
        info.error = "pynvml-missing"
        findings.add("nvml", "pynvml-missing", "nvidia-ml-py is not installed; NVML not queried")
        return info
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        info.error = type(exc).__name__
        findings.add("nvml", nvml_code(exc), exc)
        return info

    def field(fn: Callable[..., Any], *args: Any) -> Any:
        """One NVML value; NotSupported and friends are recorded, never raised."""
        try:
            return fn(*args)
        except pynvml.NVMLError as exc:
            findings.add("nvml", nvml_code(exc), f"{fn.__name__}: {exc}")
            return None

    try:
        info.available = True
        driver = field(pynvml.nvmlSystemGetDriverVersion)
        info.driver_version = clip(text(driver), SHORT) if driver else None
        cuda = field(pynvml.nvmlSystemGetCudaDriverVersion)
        info.cuda_driver_version = f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None
        for index in range(min(field(pynvml.nvmlDeviceGetCount) or 0, 16)):
            handle = field(pynvml.nvmlDeviceGetHandleByIndex, index)
            if handle is not None:
                info.devices.append(nvml_device(pynvml, field, handle, index, share))
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return info


def nvml_device(
    pynvml: Any, field: Callable[..., Any], handle: Any, index: int, share: bool
) -> NvmlDevice:
    name = field(pynvml.nvmlDeviceGetName, handle)
    uuid = field(pynvml.nvmlDeviceGetUUID, handle)
    memory = field(pynvml.nvmlDeviceGetMemoryInfo, handle)
    capability = field(pynvml.nvmlDeviceGetCudaComputeCapability, handle)
    power_mw = field(pynvml.nvmlDeviceGetPowerManagementLimit, handle)
    return NvmlDevice(
        index=index,
        name=clip(text(name), SHORT) if name else "unknown",
        uuid=hashed(bare_uuid(text(uuid)), share) if uuid else None,
        compute_capability=f"{capability[0]}.{capability[1]}" if capability else None,
        memory_total=memory.total if memory else None,
        temperature_c=field(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU),
        power_limit_w=power_mw / 1000 if power_mw else None,
        max_sm_clock_mhz=field(pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_SM),
        max_mem_clock_mhz=field(pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_MEM),
        memory_bus_width=field(pynvml.nvmlDeviceGetMemoryBusWidth, handle),
        pcie_gen_max=field(pynvml.nvmlDeviceGetMaxPcieLinkGeneration, handle),
        pcie_width_max=field(pynvml.nvmlDeviceGetMaxPcieLinkWidth, handle),
    )
