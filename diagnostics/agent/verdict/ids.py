"""The names the verdict produces and the server binds objectives to, as enums.

The agent runs on Python 3.10, which has no `enum.StrEnum`; these are str
enums whose str() and format() are the plain value, as StrEnum's are, so they
go into JSON, f-strings and dict lookups as the strings the reports carry.
"""

from __future__ import annotations

from enum import Enum


class _StrEnum(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


class CheckId(_StrEnum):
    """One check of the verdict; reports and the dashboard name checks by these values."""

    PLATFORM = "platform"
    GPU_PRESENT = "gpu-present"
    DRIVER_LIBS = "driver-libs"
    TORCH_NUMPY = "torch-numpy"
    CONDA_ENV = "conda-env"
    TORCH_IMPORTABLE = "torch-importable"
    TORCH_CUDA_BUILD = "torch-cuda-build"
    NO_MIXED_TORCH = "no-mixed-torch"
    TORCH_IN_ENV = "torch-in-env"
    WSL_DRIVER = "wsl-driver"
    DRIVER_PRESENT = "driver-present"
    DRIVER_NEW_ENOUGH = "driver-new-enough"
    GPU_VISIBLE = "gpu-visible"
    ARCH_SUPPORTED = "arch-supported"
    CUDA_TENSOR_OP = "cuda-tensor-op"
    GPU_BEATS_CPU = "gpu-beats-cpu"
    SYSTEM_NVCC = "system-nvcc"


class Verifier(_StrEnum):
    """The registry of verifiers an objective can name (content/verifiers.yaml, the admin).

    A verifier is evidence the worker produces: `gpu-env` is met when the
    verdict's objective is (every required check passes or warns, none fails).
    The course import and `manage.py check` refuse any other name.
    """

    GPU_ENV = "gpu-env"
