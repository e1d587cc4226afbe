"""The rules that are data (tables.json), and the install commands built from them.

A hint never invents a wheel: it picks a released torch and CUDA variant from the
table that the driver runs and that has kernels for every GPU, and prints the
install command for exactly those packages from that variant's index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

TABLES = Path(__file__).with_name("tables.json")
Shell = Literal["posix", "windows"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Release(Strict):
    torch: str
    torchvision: str
    torchaudio: str
    status: Literal["released", "planned"]
    pypi: str
    variants: dict[str, list[str]]
    source: str
    date: str

    def preference(self) -> list[str]:
        """The PyPI default first, then the newest CUDA first."""
        rest = sorted((t for t in self.variants if t != self.pypi), key=cuda_of, reverse=True)
        return [self.pypi, *rest] if self.pypi in self.variants else rest


class CudaDriver(Strict):
    cuda_major: int
    linux: str
    windows: str
    source: str
    date: str


class LastBranch(Strict):
    architecture: str
    below_capability: str
    branch: str
    newest_cuda: str
    source: str
    date: str


class Conda(Strict):
    channel: str
    packages: list[str]
    source: str
    date: str


class Tables(Strict):
    about: str
    index_url: str
    releases: list[Release]
    cuda_drivers: list[CudaDriver]
    last_driver_branches: list[LastBranch]
    conda: Conda


@cache
def tables() -> Tables:
    return Tables.model_validate(json.loads(TABLES.read_text(encoding="utf-8")))


def version_tuple(text: str | None) -> tuple[int, ...]:
    """ "12.6.77" -> (12, 6, 77); every run of digits, so "560.35.03" and "cu126" work."""
    return tuple(int(n) for n in re.findall(r"\d+", text or ""))


def cuda_of(tag: str) -> tuple[int, int]:
    """cu126 -> (12, 6), cu130 -> (13, 0)."""
    digits = tag.removeprefix("cu")
    return int(digits[:-1]), int(digits[-1])


def min_driver(cuda_major: int, windows: bool) -> str | None:
    row = next((r for r in tables().cuda_drivers if r.cuda_major == cuda_major), None)
    return (row.windows if windows else row.linux) if row else None


def driver_runs(tag: str, driver: str | None, windows: bool) -> bool:
    needed = min_driver(cuda_of(tag)[0], windows)
    return not driver or (needed is not None and version_tuple(driver) >= version_tuple(needed))


def arch_runs(major: int, minor: int, arch: str) -> bool:
    """Does a compiled arch entry run on a device of capability major.minor?

    sm_XY cubins run on the same major with an equal or higher minor; arch-specific
    ones (sm_90a) only on that exact arch. compute_XY PTX is JIT-compiled for any
    device at least as new.
    """
    match = re.fullmatch(r"(sm|compute)_(\d+)(\d)([a-z]?)", arch)
    if not match:
        return False
    kind, a_major, a_minor, suffix = match.group(1), int(match[2]), int(match[3]), match[4]
    if suffix:
        return kind == "sm" and (a_major, a_minor) == (major, minor)
    if kind == "sm":
        return a_major == major and a_minor <= minor
    return (a_major, a_minor) <= (major, minor)


@dataclass(frozen=True)
class Build:
    release: Release
    tag: str

    @property
    def cuda(self) -> str:
        major, minor = cuda_of(self.tag)
        return f"{major}.{minor}"


def choose(
    *, gpus: list[tuple[int, int]], driver: str | None, windows: bool, installed: str | None
) -> Build | None:
    """The build to install: the student's torch release if one of its variants fits,
    else the newest released one that does; None when the driver runs none of them."""
    released = [r for r in tables().releases if r.status == "released"]
    mine = ".".join(str(n) for n in version_tuple(installed)[:2])
    ordered = sorted(
        released, key=lambda r: (r.torch != mine, tuple(-n for n in version_tuple(r.torch)))
    )
    for release in ordered:
        for tag in release.preference():
            archs = release.variants[tag]
            covers = all(any(arch_runs(a, b, x) for x in archs) for a, b in gpus)
            if covers and driver_runs(tag, driver, windows):
                return Build(release, tag)
    return None


def last_branch(major: int, minor: int) -> LastBranch | None:
    """The last driver branch for a GPU this old, if NVIDIA has ended its driver line."""
    for row in tables().last_driver_branches:
        if (major, minor) < version_tuple(row.below_capability)[:2]:
            return row
    return None


def newest_torch_for(major: int, minor: int) -> Build | None:
    """Any release, driver aside, with kernels for this GPU (None: none has)."""
    return choose(gpus=[(major, minor)], driver=None, windows=False, installed=None)


# ---------------------------------------------------------------- commands

TORCH_PACKAGES = ("torch", "torchvision", "torchaudio")
CONDA_TORCH = ("pytorch", "torchvision", "torchaudio", "pytorch-cuda", "pytorch-gpu")


def pip_install(build: Build) -> list[str]:
    r = build.release
    specs = [f'"torch=={r.torch}.*"', f'"torchvision=={r.torchvision}.*"']
    specs.append(f'"torchaudio=={r.torchaudio}.*"')
    url = f"{tables().index_url}/{build.tag}"
    return ["python -m pip install " + " ".join(specs) + f" --index-url {url}"]


def replace_torch(build: Build, conda_names: list[str]) -> list[str]:
    """Remove every torch package (conda's record, then pip's dist-info), then install.

    conda remove alone leaves a pip-written dist-info behind, and pip then answers
    "already satisfied"; torchvision and torchaudio go too, or they stay on the old build.
    """
    steps = [f"conda remove -y --force {' '.join(conda_names)}"] if conda_names else []
    steps.append("python -m pip uninstall -y " + " ".join(TORCH_PACKAGES))
    return steps + pip_install(build)


def conda_install(build: Build) -> str:
    c = tables().conda
    return f'conda install -y -c {c.channel} {" ".join(c.packages)} "cuda-version={build.cuda}"'


def render(steps: list[str], shell: Shell) -> str:
    """One command line a student can paste: && in POSIX shells; on Windows, where
    PowerShell 5 has no &&, each step is its own command."""
    if shell == "posix":
        return "`" + " && ".join(steps) + "`"
    return ", then ".join(f"`{s}`" for s in steps)
