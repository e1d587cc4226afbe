"""The report a student's machine sends: one versioned pydantic model.

The server validates posted reports against these same classes, so every string
and list is bounded, floats must be finite and unknown fields are rejected.
Every section has defaults, so a section whose collector crashed is still valid
(its error is in ``findings``). Regenerate docs/report.schema.json with
``python -m diagnostics schema > docs/report.schema.json`` after a change here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

SCHEMA_VERSION = "1"

Short = Annotated[str, StringConstraints(max_length=200)]
PathText = Annotated[str, StringConstraints(max_length=1000)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Count = Annotated[int, Field(ge=0, le=2**62)]
Rate = Annotated[float, Field(ge=0)]
Device = Literal["cpu", "cuda"]
Dtype = Literal["fp32", "tf32", "fp16", "bf16"]
Unit = Literal["FLOP/s", "B/s"]

# The same limits for the worker, which clips free text before it fills a field.
SHORT, PATH, TEXT = 200, 1000, 2000


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Finding(Model):
    """Something a collector could not find out or that went wrong, never raised."""

    section: Short
    code: Short
    message: Text = ""


class Host(Model):
    system: Short = ""  # platform.system(): Linux, Windows, Darwin
    os_name: Short | None = None  # "Debian GNU/Linux 12 (bookworm)", "macOS 14.5"
    release: Short | None = None  # kernel release
    machine: Short | None = None
    wsl: bool = False
    wsl_libcuda: bool | None = None  # /usr/lib/wsl/lib/libcuda.so* present
    wsl_linux_driver: bool | None = None  # a Linux NVIDIA driver installed inside WSL
    hostname: Short | None = None  # hashed unless identifiers are shared
    cpu_model: Short | None = None
    cpu_count: Count | None = None
    ram_bytes: Count | None = None


class GpuPresence(Model):
    """Is an NVIDIA GPU in this machine at all, whatever the driver says?"""

    nvidia: bool | None = None  # None: the probe could not tell
    source: Short | None = None  # "pci", "dxg", "wmi", "nvidia-smi"
    nvidia_devices: list[Short] = Field(default_factory=list, max_length=16)  # "10de:2684 ..."
    other_devices: list[Short] = Field(default_factory=list, max_length=16)  # other GPUs


class PythonInfo(Model):
    version: Short = ""
    implementation: Short = ""
    executable: PathText = ""
    prefix: PathText = ""
    base_prefix: PathText = ""


class EnvInfo(Model):
    kind: Literal["conda", "venv", "none", "unknown"] = "unknown"
    prefix: PathText = ""  # sys.prefix: the env the running Python belongs to
    conda_env_name: Short | None = None
    conda_is_base: bool | None = None
    activated_conda_prefix: PathText | None = None  # CONDA_PREFIX
    activated_conda_env: Short | None = None  # CONDA_DEFAULT_ENV
    venv_base_is_conda: bool | None = None


class PipPackage(Model):
    name: Short
    version: Short
    installer: Short | None = None  # the dist-info INSTALLER file: pip, conda, uv
    location: PathText = ""


class CondaPackage(Model):
    name: Short
    version: Short
    build: Short = ""
    channel: Short = ""


class Packages(Model):
    pip: list[PipPackage] = Field(default_factory=list, max_length=200)
    conda: list[CondaPackage] = Field(default_factory=list, max_length=200)
    torch_origin: PathText | None = None  # where `import torch` loads from
    torch_outside_prefix: bool | None = None


class Variables(Model):
    values: dict[Short, Text] = Field(default_factory=dict, max_length=60)
    ld_library_path_set: bool = False
    # NVIDIA driver libraries (libcuda, libnvidia-ml) found in LD_LIBRARY_PATH's directories,
    # which the loader prefers to the driver's own copies.
    ld_library_path_driver_libs: list[PathText] = Field(default_factory=list, max_length=16)
    pythonpath_set: bool = False


class Toolkit(Model):
    nvcc_path: PathText | None = None
    nvcc_version: Short | None = None  # "12.4" from `nvcc --version`


class TorchDevice(Model):
    index: Count
    name: Short
    major: Count
    minor: Count
    total_memory: Count | None = None
    sm_count: Count | None = None
    uuid: Short | None = None
    clock_khz: Count | None = None
    memory_clock_khz: Count | None = None
    memory_bus_width: Count | None = None


class TorchInfo(Model):
    importable: bool = False
    import_error: Text | None = None
    import_warnings: list[Text] = Field(default_factory=list, max_length=10)
    version: Short | None = None
    cuda: Short | None = None  # torch.version.cuda: the CUDA runtime torch was built with
    hip: Short | None = None
    cudnn: Count | None = None
    location: PathText | None = None
    cuda_available: bool | None = None
    availability_warnings: list[Text] = Field(default_factory=list, max_length=10)
    device_count: Count | None = None
    arch_list: list[Short] = Field(default_factory=list, max_length=64)
    devices: list[TorchDevice] = Field(default_factory=list, max_length=16)
    num_threads: Count | None = None
    numpy_version: Short | None = None  # None: numpy not importable
    numpy_error: Text | None = None  # torch.from_numpy failing: a NumPy ABI mismatch


class NvmlDevice(Model):
    index: Count
    name: Short
    uuid: Short | None = None
    compute_capability: Short | None = None  # "8.6"
    memory_total: Count | None = None
    temperature_c: Count | None = None
    power_limit_w: Rate | None = None
    max_sm_clock_mhz: Count | None = None
    max_mem_clock_mhz: Count | None = None
    memory_bus_width: Count | None = None
    pcie_gen_max: Count | None = None
    pcie_width_max: Count | None = None


class NvmlInfo(Model):
    available: bool = False
    error: Short | None = None  # "NVMLError_LibraryNotFound", "pynvml-missing"
    driver_version: Short | None = None
    cuda_driver_version: Short | None = None  # "12.4": the newest CUDA the driver supports
    devices: list[NvmlDevice] = Field(default_factory=list, max_length=16)


class Correctness(Model):
    """A matmul on `device` compared with a float64 CPU reference."""

    device: Device
    dtype: Dtype
    size: Count = 0
    rel_err: Rate | None = None
    threshold: Rate
    ok: bool
    error: Text | None = None


class BenchResult(Model):
    name: Short  # matmul-fp32, copy, h2d-pinned, ...
    device: Device
    status: Literal["ok", "skipped", "error", "timeout"]
    reason: Text | None = None
    unit: Unit = "FLOP/s"
    size: Short | None = None
    samples: Count = 0
    median: Rate | None = None
    min: Rate | None = None
    max: Rate | None = None
    peak: Rate | None = None  # theoretical, from device properties
    peak_source: Short | None = None
    pct_of_peak: Rate | None = None
    vs_other_device: Rate | None = None  # this rate over the other device's


class BenchReport(Model):
    quick: bool = False
    wall_s: Rate = 0.0
    results: list[BenchResult] = Field(default_factory=list, max_length=32)


class Report(Model):
    schema_version: Literal["1"] = "1"
    report_id: UUID = Field(default_factory=uuid4)
    # With its offset: a time without one can't be compared with the server's clock.
    created_at: AwareDatetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    tool_version: Short = ""

    @field_validator("created_at")
    @classmethod
    def _real_time_zone(cls, value: datetime) -> datetime:
        # Real offsets lie within ±14 h; PostgreSQL refuses others (e.g. +16:01).
        offset = value.utcoffset()
        if offset is not None and abs(offset.total_seconds()) > 14 * 3600:
            raise ValueError("time zone offset beyond ±14:00")
        return value

    identifiers_shared: bool = False
    host: Host = Field(default_factory=Host)
    gpu: GpuPresence = Field(default_factory=GpuPresence)
    python: PythonInfo = Field(default_factory=PythonInfo)
    env: EnvInfo = Field(default_factory=EnvInfo)
    packages: Packages = Field(default_factory=Packages)
    variables: Variables = Field(default_factory=Variables)
    toolkit: Toolkit = Field(default_factory=Toolkit)
    torch: TorchInfo = Field(default_factory=TorchInfo)
    nvml: NvmlInfo = Field(default_factory=NvmlInfo)
    correctness: list[Correctness] = Field(default_factory=list, max_length=16)
    bench: BenchReport | None = None
    findings: list[Finding] = Field(default_factory=list, max_length=100)
