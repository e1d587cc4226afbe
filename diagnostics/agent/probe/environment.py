"""Which environment the running Python belongs to, and where its torch came from."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

from diagnostics.agent.probe.common import Findings, clip
from diagnostics.agent.report import PATH, SHORT, CondaPackage, EnvInfo, Packages, PipPackage

PIP_NAMES = {"torch", "torchvision", "torchaudio", "numpy", "triton", "pytorch-triton"}
CONDA_NAMES = {
    "pytorch",
    "torch",
    "pytorch-cuda",
    "pytorch-mutex",
    "cpuonly",
    "pytorch-gpu",
    "pytorch-cpu",
    "libtorch",
    "torchvision",
    "torchaudio",
    "numpy",
    "cudatoolkit",
    "cuda-version",
    "cuda-runtime",
    "cuda-cudart",
    "cudnn",
    "nccl",
    "triton",
    "python",
}
SUBDIR = re.compile(r"^(noarch|linux-\w+|win-\w+|osx-\w+)$")


def same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def inside(path: str, prefix: str) -> bool:
    path, prefix = (os.path.normcase(os.path.realpath(p)) for p in (path, prefix))
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)


def is_conda_prefix(prefix: str | Path) -> bool:
    return (Path(prefix) / "conda-meta").is_dir()


def is_conda_root(prefix: Path) -> bool:
    """The root ("base") install holds conda itself and the envs/ of named envs.

    Named envs live at <root>/envs/<name> (or anywhere with `-p`) and have none
    of condabin/, envs/ or a conda package record; all of them have conda-meta/history.
    """
    if prefix.parent.name == "envs" and is_conda_prefix(prefix.parent.parent):
        return False
    meta = prefix / "conda-meta"
    return (
        (prefix / "condabin").is_dir()
        or (prefix / "envs").is_dir()
        or any(meta.glob("conda-[0-9]*.json"))
    )


def collect_env() -> EnvInfo:
    prefix = sys.prefix
    activated = os.environ.get("CONDA_PREFIX") or None
    activated_name = os.environ.get("CONDA_DEFAULT_ENV") or None
    info = EnvInfo(
        prefix=clip(prefix, PATH),
        activated_conda_prefix=clip(activated, PATH) if activated else None,
        activated_conda_env=clip(activated_name, SHORT) if activated_name else None,
    )
    if sys.prefix != sys.base_prefix:
        info.kind = "venv"
        info.venv_base_is_conda = is_conda_prefix(sys.base_prefix)
    elif is_conda_prefix(prefix):
        info.kind = "conda"
        path = Path(prefix)
        is_active = bool(activated) and same_path(activated or "", prefix)
        info.conda_is_base = is_conda_root(path) or (
            is_active and activated_name == "base" and path.parent.name != "envs"
        )
        if info.conda_is_base:
            info.conda_env_name = "base"
        elif path.parent.name == "envs" or not (is_active and activated_name):
            info.conda_env_name = clip(path.name, SHORT)
        else:
            info.conda_env_name = clip(activated_name, SHORT)
    else:
        info.kind = "none"
    return info


def channel_name(channel: str) -> str:
    """https://conda.anaconda.org/conda-forge/linux-64 -> conda-forge."""
    parts = [p for p in re.sub(r"^\w+://[^/]+", "", channel).split("/") if p]
    if parts and SUBDIR.match(parts[-1]):
        parts.pop()
    return "/".join(parts) or channel


def conda_records(prefix: str, findings: Findings) -> list[CondaPackage]:
    records = []
    for path in sorted(Path(prefix, "conda-meta").glob("*.json")):
        # <name>-<version>-<build>.json: read only the few records we care about,
        # since each holds the full file list of its package.
        name = path.stem.rsplit("-", 2)[0]
        if name not in CONDA_NAMES:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            records.append(
                CondaPackage(
                    name=clip(data["name"], SHORT),
                    version=clip(data["version"], SHORT),
                    build=clip(data.get("build") or data.get("build_string") or "", SHORT),
                    channel=clip(channel_name(str(data.get("channel") or "")), SHORT),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            findings.add("packages", "conda-record-unreadable", f"{path.name}: {exc}")
    return records[:200]


def pip_records(findings: Findings) -> list[PipPackage]:
    records = []
    seen = set()
    for dist in importlib.metadata.distributions():
        try:
            name = (dist.metadata["Name"] or "").lower().replace("_", "-")
            if name not in PIP_NAMES and not name.startswith("nvidia-"):
                continue
            location = str(dist.locate_file(""))
            if (name, location) in seen:
                continue
            seen.add((name, location))
            installer = (dist.read_text("INSTALLER") or "").strip() or None
            records.append(
                PipPackage(
                    name=clip(name, SHORT),
                    version=clip(dist.version, SHORT),
                    installer=clip(installer, SHORT) if installer else None,
                    location=clip(location, PATH),
                )
            )
        except Exception as exc:  # noqa: BLE001 - one broken dist-info must not hide the rest
            findings.add("packages", "dist-info-unreadable", exc)
    return sorted(records, key=lambda r: r.name)[:200]


def collect_packages(findings: Findings) -> Packages:
    packages = Packages(pip=pip_records(findings))
    if is_conda_prefix(sys.prefix):
        packages.conda = conda_records(sys.prefix, findings)
    try:
        # find_spec finds the torch that `import torch` would load, without importing it.
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError) as exc:
        findings.add("packages", "torch-spec-error", exc)
        spec = None
    if spec and spec.origin:
        packages.torch_origin = clip(spec.origin, PATH)
        packages.torch_outside_prefix = not inside(spec.origin, sys.prefix)
    return packages
