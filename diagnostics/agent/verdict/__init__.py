"""Judge a report: checks with evidence and the exact command that fixes each.

`judge(report)` is a pure function of the report's facts; it never reads a
verdict from the report, so the server re-judges what the worker sent.
`implausibilities(report)` lists facts that cannot all be true, for the server.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from diagnostics.agent.bench.peak import device_peaks, matching_nvml
from diagnostics.agent.report import CondaPackage, PipPackage, Report
from diagnostics.agent.verdict.ids import CheckId

Status = Literal["pass", "warn", "fail", "skip"]

# Minimum driver for each CUDA major, (Linux, Windows): NVIDIA's CUDA Toolkit
# release notes, table "CUDA Toolkit and Minimum Required Driver Version for
# CUDA Minor Version Compatibility".
MIN_DRIVER = {
    10: ("440.33", "441.22"),
    11: ("450.80.02", "452.39"),
    12: ("525.60.13", "527.41"),
    13: ("580", "580"),
}
# These must pass (or warn) for the objective; any failed check also blocks it.
REQUIRED = (
    CheckId.CONDA_ENV,
    CheckId.TORCH_IMPORTABLE,
    CheckId.TORCH_CUDA_BUILD,
    CheckId.DRIVER_PRESENT,
    CheckId.GPU_VISIBLE,
    CheckId.CUDA_TENSOR_OP,
)
# The oldest GPU any PyTorch wheel still has kernels for: sm_37 (Tesla K80) in the CUDA 11.8 ones.
MIN_CAPABILITY = (3, 7)
TOO_OLD_GPU_HINT = (
    "This GPU ({sm}) is older than every current PyTorch build supports (they need sm_37 or "
    "newer): no install fixes that. Use a newer NVIDIA GPU or a course server / Colab."
)
ENV_NAME = "torch-gpu"
CREATE_ENV = f"conda create -n {ENV_NAME} python=3.11 -y && conda activate {ENV_NAME}"
WHEEL_INDEX = "https://download.pytorch.org/whl"
WSL_DRIVER_HINT = (
    "Inside WSL, never install a Linux NVIDIA driver: install or update the NVIDIA driver "
    "on Windows; WSL then provides libcuda in /usr/lib/wsl/lib. "
    "In PowerShell: `wsl --update` then `wsl --shutdown`."
)


class Check(BaseModel):
    id: CheckId
    status: Status
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    hint: str | None = None


class Verdict(BaseModel):
    objective_met: bool
    checks: list[Check]

    def check(self, check_id: CheckId) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)


# ---------------------------------------------------------------- fact helpers


def version_tuple(text: str | None) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text or ""))


def cuda_major(report: Report) -> int | None:
    numbers = version_tuple(report.torch.cuda)
    return numbers[0] if numbers else None


def is_windows(report: Report) -> bool:
    return report.host.system == "Windows"


def windows_driver(report: Report) -> bool:
    """WSL runs the Windows driver, whose version numbers and minimums are Windows'."""
    return is_windows(report) or report.host.wsl


def conda_record(report: Report, *names: str) -> CondaPackage | None:
    return next((p for p in report.packages.conda if p.name in names), None)


def pip_torch(report: Report) -> list[PipPackage]:
    """torch dist-infos not written by conda: pip, uv, or an unknown installer."""
    return [
        p
        for p in report.packages.pip
        if p.name == "torch" and (p.installer or "").lower() != "conda"
    ]


def capabilities(report: Report) -> list[tuple[str, int, int]]:
    """(name, major, minor) for each GPU: torch's view, or NVML's when torch sees none."""
    if report.torch.devices:
        return [(d.name, d.major, d.minor) for d in report.torch.devices]
    found = []
    for d in report.nvml.devices:
        numbers = version_tuple(d.compute_capability)
        if len(numbers) == 2:
            found.append((d.name, numbers[0], numbers[1]))
    return found


def wheel_tag(report: Report) -> str:
    """The CUDA wheel to suggest: what the driver runs and the GPU's arch needs."""
    driver = version_tuple(report.nvml.driver_version)
    cuda12 = version_tuple(MIN_DRIVER[12][1 if windows_driver(report) else 0])
    if driver and driver < cuda12:
        return "cu118"
    if any(major >= 10 for _, major, _ in capabilities(report)):
        return "cu128"  # Blackwell needs CUDA 12.8 or newer
    return "cu126"


def reinstall_torch(report: Report, tag: str) -> str:
    """Replace torch with the `tag` wheel; a conda-installed torch is removed by conda first."""
    conda_names = " ".join(
        n
        for n in ("pytorch", "torchvision", "torchaudio", "pytorch-cuda")
        if conda_record(report, n)
    )
    remove = (
        f"conda remove -y --force {conda_names}"
        if conda_names
        else "python -m pip uninstall -y torch"
    )
    return f"{remove} && python -m pip install torch --index-url {WHEEL_INDEX}/{tag}"


def pip_cuda_install(report: Report) -> str:
    return reinstall_torch(report, wheel_tag(report))


def driver_runs_tag(report: Report) -> str | None:
    """The newest CUDA wheel this driver runs, or None when it runs none (or is unknown)."""
    driver = version_tuple(report.nvml.driver_version)
    column = 1 if windows_driver(report) else 0
    if not driver:
        found = re.search(r"found version (\d+)", warnings_text(report))
        if not found:
            return None
        # torch's "found version 11040" is the newest CUDA the driver runs (CUDA 11.4).
        driver_cuda = int(found.group(1))
        return "cu126" if driver_cuda >= 12000 else "cu118" if driver_cuda > 11000 else None
    if driver >= version_tuple(MIN_DRIVER[12][column]):
        return wheel_tag(report)
    if driver >= version_tuple(MIN_DRIVER[11][column]):
        return "cu118"
    return None


def unset_command(report: Report, name: str) -> str:
    if is_windows(report):
        return f"`set {name}=` (cmd) or `Remove-Item Env:{name}` (PowerShell)"
    return f"`unset {name}`"


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


def warnings_text(report: Report) -> str:
    return " ".join(report.torch.availability_warnings)


# ---------------------------------------------------------------- checks


def check_platform(report: Report) -> Check:
    system = report.host.system
    if system == "Darwin":
        return Check(
            id=CheckId.PLATFORM,
            status="fail",
            summary="macOS: no NVIDIA GPU is possible here, so CUDA cannot work",
            evidence={"system": system, "machine": report.host.machine},
            hint="Use a Linux or Windows machine with an NVIDIA GPU, or a course server, "
            "and run `python -m diagnostics check` there.",
        )
    if system not in ("Linux", "Windows"):
        return Check(
            id=CheckId.PLATFORM,
            status="fail",
            summary=f"{system or 'unknown OS'}: PyTorch's CUDA builds need Linux or Windows",
            evidence={"system": system},
            hint="Use a Linux or Windows machine with an NVIDIA GPU, or a course server.",
        )
    label = "Linux under WSL2" if report.host.wsl else system
    return Check(
        id=CheckId.PLATFORM,
        status="pass",
        summary=f"{label} can run CUDA",
        evidence={"system": system, "os": report.host.os_name, "wsl": report.host.wsl},
    )


def check_conda_env(report: Report) -> Check:
    env = report.env
    evidence = {
        "kind": env.kind,
        "prefix": env.prefix,
        "python": report.python.executable,
        "CONDA_PREFIX": env.activated_conda_prefix,
    }
    if env.kind == "conda" and not env.conda_is_base:
        return Check(
            id=CheckId.CONDA_ENV,
            status="pass",
            summary=f"conda env '{env.conda_env_name}' is active",
            evidence=evidence,
        )
    if env.kind == "conda":
        return Check(
            id=CheckId.CONDA_ENV,
            status="warn",
            summary="the conda base env is active; keep it clean and use a named env",
            evidence=evidence,
            hint=f"`{CREATE_ENV}`",
        )
    if env.kind == "venv":
        base = (
            " (built on a conda Python, but a venv is still not a conda env)"
            if env.venv_base_is_conda
            else ""
        )
        return Check(
            id=CheckId.CONDA_ENV,
            status="fail",
            summary=f"a venv is active, not a conda env{base}",
            evidence=evidence,
            hint=f"`deactivate`, then `{CREATE_ENV}`",
        )
    if env.kind == "none" and env.activated_conda_prefix:
        return Check(
            id=CheckId.CONDA_ENV,
            status="fail",
            summary=f"conda env '{env.activated_conda_env}' is activated, but this "
            "Python does not belong to it",
            evidence=evidence,
            hint="Run the env's own Python: `conda activate "
            f"{env.activated_conda_env or ENV_NAME}` then `python -m diagnostics "
            "check`; if `python` still points elsewhere, check PATH and aliases "
            "(`which python` / `where python`).",
        )
    if env.kind == "none":
        return Check(
            id=CheckId.CONDA_ENV,
            status="fail",
            summary="no conda env: this is a system-wide Python",
            evidence=evidence,
            hint=f"Install Miniforge or Miniconda, then `{CREATE_ENV}`",
        )
    return Check(
        id=CheckId.CONDA_ENV,
        status="skip",
        summary="the environment could not be read",
        evidence=evidence,
    )


def check_torch_importable(report: Report) -> Check:
    t = report.torch
    if t.importable:
        return Check(
            id=CheckId.TORCH_IMPORTABLE,
            status="pass",
            summary=f"torch {t.version} imports",
            evidence={"version": t.version, "location": t.location},
        )
    mac = report.host.system == "Darwin"
    install = (
        "python -m pip install torch"
        if mac
        else f"python -m pip install torch --index-url {WHEEL_INDEX}/{wheel_tag(report)}"
    )
    if t.import_error and "No module named 'torch'" not in t.import_error:
        return Check(
            id=CheckId.TORCH_IMPORTABLE,
            status="fail",
            summary="torch is installed but fails to import",
            evidence={"error": t.import_error},
            hint=f"Reinstall it in this env: `{install} --force-reinstall`",
        )
    return Check(
        id=CheckId.TORCH_IMPORTABLE,
        status="fail",
        summary="torch missing: it is not installed in this env",
        evidence={"error": t.import_error, "python": report.python.executable},
        hint=f"In the activated env: `{install}`",
    )


def check_torch_cuda_build(report: Report) -> Check:
    t = report.torch
    cpuonly = conda_record(report, "cpuonly")
    mutex = conda_record(report, "pytorch-mutex")
    conda_torch = conda_record(report, "pytorch", "torch")
    evidence = {
        "version": t.version,
        "torch.version.cuda": t.cuda,
        "hip": t.hip,
        "conda cpuonly": bool(cpuonly),
        "pytorch-mutex": mutex.build if mutex else None,
        "conda pytorch build": conda_torch.build if conda_torch else None,
    }
    if t.cuda:
        return Check(
            id=CheckId.TORCH_CUDA_BUILD,
            status="pass",
            summary=f"torch {t.version} is built with CUDA {t.cuda}",
            evidence=evidence,
        )
    if t.hip:
        what = f"a ROCm build (HIP {t.hip}) for AMD GPUs"
    elif (t.version or "").endswith("+cpu"):
        what = "a CPU-only wheel (+cpu)"
    else:
        what = "a CPU-only build (torch.version.cuda is None)"
    hint = f"`{pip_cuda_install(report)}`"
    conda_cpu = (
        cpuonly or (mutex and mutex.build == "cpu") or (conda_torch and "cpu" in conda_torch.build)
    )
    if conda_cpu:
        what = "a CPU-only conda build (cpuonly / pytorch-mutex cpu)"
        names = " ".join(
            n for n in ("pytorch", "cpuonly", "pytorch-mutex") if conda_record(report, n)
        )
        hint = (
            f"`conda remove -y --force {names} && python -m pip install torch "
            f"--index-url {WHEEL_INDEX}/{wheel_tag(report)}` "
            "(or stay with conda: `conda install -y -c conda-forge pytorch-gpu`)"
        )
    return Check(
        id=CheckId.TORCH_CUDA_BUILD,
        status="fail",
        summary=f"torch {t.version} is {what}",
        evidence=evidence,
        hint=hint,
    )


def check_mixed_torch(report: Report) -> Check | None:
    conda_torch = conda_record(report, "pytorch", "torch")
    pip = pip_torch(report)
    if not conda_torch and not pip:
        return None
    evidence = {
        "conda": f"{conda_torch.name} {conda_torch.version} {conda_torch.build}"
        if conda_torch
        else None,
        "pip": [f"{p.version} ({p.installer or 'unknown installer'})" for p in pip],
        "imported": report.torch.version,
    }
    imported = version_tuple((report.torch.version or "").split("+")[0])
    differs = bool(conda_torch and imported and version_tuple(conda_torch.version) != imported)
    if conda_torch and (pip or differs):
        names = " ".join(
            n for n in ("pytorch", "torchvision", "torchaudio") if conda_record(report, n)
        )
        return Check(
            id=CheckId.NO_MIXED_TORCH,
            status="fail",
            summary="torch is installed by both conda and pip; they overwrite each other's files",
            evidence=evidence,
            hint=f"`conda remove -y --force {names} && python -m pip install --force-reinstall "
            f"torch --index-url {WHEEL_INDEX}/{wheel_tag(report)}`",
        )
    source = "conda" if conda_torch else "pip"
    return Check(
        id=CheckId.NO_MIXED_TORCH,
        status="pass",
        summary=f"torch is installed once, by {source}",
        evidence=evidence,
    )


def check_torch_in_env(report: Report) -> Check | None:
    p = report.packages
    if p.torch_outside_prefix is None:
        return None
    evidence = {
        "torch": p.torch_origin,
        "env prefix": report.env.prefix,
        "PYTHONPATH set": report.variables.pythonpath_set,
    }
    if not p.torch_outside_prefix:
        return Check(
            id=CheckId.TORCH_IN_ENV,
            status="pass",
            summary="torch comes from the active env",
            evidence=evidence,
        )
    origin = p.torch_origin or ""
    if report.variables.pythonpath_set:
        fix = f"PYTHONPATH leads to another torch: {unset_command(report, 'PYTHONPATH')}"
    elif ".local" in origin or "AppData" in origin:
        fix = (
            "your user site-packages shadows the env: `python -m pip uninstall -y torch` "
            "(removes the user copy), then install into the env"
        )
    else:
        fix = "remove the outside copy"
    return Check(
        id=CheckId.TORCH_IN_ENV,
        status="fail",
        summary=f"torch is imported from outside the active env ({origin})",
        evidence=evidence,
        hint=f"{fix}: `python -m pip install torch --index-url "
        f"{WHEEL_INDEX}/{wheel_tag(report)}` with the env active.",
    )


def no_driver_hint(report: Report) -> str:
    if report.host.wsl:
        return WSL_DRIVER_HINT
    if is_windows(report):
        return (
            "Install the NVIDIA driver for your GPU from https://www.nvidia.com/Download/"
            "index.aspx (or the NVIDIA App), then reboot."
        )
    return (
        "Install the NVIDIA driver: on Ubuntu `sudo ubuntu-drivers install`, elsewhere your "
        "distribution's nvidia-driver package; then reboot and check `nvidia-smi`."
    )


def check_driver_present(report: Report) -> Check:
    n = report.nvml
    evidence = {
        "nvml": n.error or "ok",
        "driver": n.driver_version,
        "gpus": [d.name for d in n.devices],
        "torch.cuda.is_available()": report.torch.cuda_available,
    }
    if n.available and n.devices:
        names = ", ".join(d.name for d in n.devices)
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="pass",
            summary=f"NVIDIA driver {n.driver_version} sees {len(n.devices)} GPU(s): {names}",
            evidence=evidence,
        )
    if report.torch.cuda_available:
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="pass",
            summary="the NVIDIA driver works (torch.cuda.is_available() is True)",
            evidence=evidence,
        )
    error = n.error or ""
    if n.available:
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="fail",
            summary="the NVIDIA driver is loaded but reports no GPU",
            evidence=evidence,
            hint="Check `nvidia-smi`; on a laptop make sure the NVIDIA GPU is enabled "
            "(not integrated-only mode) in the BIOS or vendor tool.",
        )
    if "DriverNotLoaded" in error:
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="fail",
            summary="the NVIDIA driver is installed but not loaded",
            evidence=evidence,
            hint=WSL_DRIVER_HINT
            if report.host.wsl
            else "`sudo modprobe nvidia`; if it says 'Module nvidia not found' (usual after a "
            "kernel update), rebuild the module: `sudo dkms autoinstall` (or reinstall "
            "the driver: `sudo ubuntu-drivers install`); if Secure Boot blocks it, enroll "
            "the driver's MOK key; then reboot and check `nvidia-smi`.",
        )
    if "LibRmVersionMismatch" in error:
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="fail",
            summary="the driver library and kernel module versions differ "
            "(usually after a driver update without a reboot)",
            evidence=evidence,
            hint="Reboot, then check `nvidia-smi`.",
        )
    if "NoPermission" in error:
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="fail",
            summary="no permission to use the NVIDIA device files",
            evidence=evidence,
            hint="Check `ls -l /dev/nvidia*`; add yourself to their group "
            "(`sudo usermod -aG video $USER`, then log in again), or ask the "
            "machine's admin.",
        )
    if "LibraryNotFound" in error or "no NVIDIA driver" in warnings_text(report):
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="fail",
            summary="no NVIDIA driver found (NVML library missing)",
            evidence=evidence,
            hint=no_driver_hint(report),
        )
    if error == "pynvml-missing":
        return Check(
            id=CheckId.DRIVER_PRESENT,
            status="skip",
            summary="NVML not queried: nvidia-ml-py is not installed",
            evidence=evidence,
            hint="`python -m pip install nvidia-ml-py`",
        )
    return Check(
        id=CheckId.DRIVER_PRESENT,
        status="fail",
        summary=f"NVML cannot talk to the driver ({error or 'unknown error'})",
        evidence=evidence,
        hint="Run `nvidia-smi` to see the driver's own error, and reboot; if it still "
        "fails, reinstall the driver. "
        + no_driver_hint(report).replace("Install the NVIDIA driver: ", ""),
    )


def check_driver_new_enough(report: Report) -> Check:
    major = cuda_major(report)
    driver = report.nvml.driver_version
    if major is None or not driver:
        found = re.search(r"found version (\d+)", warnings_text(report))
        # torch warns "The NVIDIA driver on your system is too old (found version 11040)".
        if major is not None and found:
            driver_cuda = int(found.group(1))
            return Check(
                id=CheckId.DRIVER_NEW_ENOUGH,
                status="fail",
                summary=f"the driver supports CUDA {driver_cuda // 1000}.{driver_cuda % 1000 // 10}"
                f", older than torch's CUDA {report.torch.cuda}",
                evidence={"torch.version.cuda": report.torch.cuda, "torch warning": found.group(0)},
                hint=driver_update_hint(report, None),
            )
        return Check(
            id=CheckId.DRIVER_NEW_ENOUGH,
            status="skip",
            summary="no driver version or no CUDA build to compare",
            evidence={"driver": driver, "torch.version.cuda": report.torch.cuda},
        )
    if major not in MIN_DRIVER:
        return Check(
            id=CheckId.DRIVER_NEW_ENOUGH,
            status="warn",
            summary=f"no driver table for CUDA {report.torch.cuda}",
            evidence={"driver": driver, "torch.version.cuda": report.torch.cuda},
        )
    needed = MIN_DRIVER[major][1 if windows_driver(report) else 0]
    evidence = {
        "driver": driver,
        "torch.version.cuda": report.torch.cuda,
        "needs": needed,
        "driver CUDA": report.nvml.cuda_driver_version,
    }
    if version_tuple(driver) >= version_tuple(needed):
        return Check(
            id=CheckId.DRIVER_NEW_ENOUGH,
            status="pass",
            summary=f"driver {driver} runs CUDA {major}.x (needs ≥ {needed})",
            evidence=evidence,
        )
    cuda_results = [c for c in report.correctness if c.device == "cuda"]
    if cuda_results and all(c.ok for c in cuda_results):
        # CUDA's forward-compatibility package lets an older (datacenter) driver run a newer
        # runtime; the GPU computed correctly, so the table's minimum is advice, not a blocker.
        return Check(
            id=CheckId.DRIVER_NEW_ENOUGH,
            status="warn",
            summary=f"driver {driver} is below the usual minimum {needed} for CUDA "
            f"{major}.x, but CUDA ran correctly (forward compatibility?)",
            evidence=evidence,
            hint=driver_update_hint(report, needed),
        )
    return Check(
        id=CheckId.DRIVER_NEW_ENOUGH,
        status="fail",
        summary=f"driver {driver} is too old for torch's CUDA {report.torch.cuda} "
        f"(needs ≥ {needed})",
        evidence=evidence,
        hint=driver_update_hint(report, needed),
    )


def driver_update_hint(report: Report, needed: str | None) -> str:
    major = cuda_major(report)
    if needed is None and major in MIN_DRIVER:
        needed = MIN_DRIVER[major][1 if windows_driver(report) else 0]
    parts = ["Update the NVIDIA driver"]
    if report.host.wsl:
        parts.append("on Windows (not inside WSL)")
    if needed:
        parts.append(f"to ≥ {needed}")
    hint = " ".join(parts) + ", then reboot."
    tag = driver_runs_tag(report)
    # Only a wheel for an older CUDA than torch's own is an alternative to the update.
    if tag and major is not None and version_tuple(tag)[0] // 10 < major:
        cuda = {"cu118": "11.8", "cu126": "12.6", "cu128": "12.8"}[tag]
        hint += (
            f" Or install a torch built for CUDA {cuda}, which this driver runs: "
            f"`{reinstall_torch(report, tag)}`"
        )
    return hint


def cvd_hides_all(cvd: str, report: Report) -> bool:
    """Does CUDA_VISIBLE_DEVICES select no GPU? CUDA reads it up to its first invalid entry."""
    first = cvd.split(",")[0].strip()
    if first.isdigit():
        count = len(report.nvml.devices)
        return bool(count) and int(first) >= count
    if first.startswith(("GPU-", "MIG-")):
        uuids = [d.uuid for d in report.nvml.devices if d.uuid]
        # Hashed UUIDs can't be compared: then the GPU list is taken as unknown.
        if uuids and all(u.startswith(("GPU-", "MIG-")) for u in uuids):
            return not any(u.startswith(first) for u in uuids)
        return True
    return True  # "", "-1", "none", "NoDevFiles", a typo


def check_gpu_visible(report: Report, earlier: dict[CheckId, Check]) -> Check:
    t = report.torch
    cvd = report.variables.values.get("CUDA_VISIBLE_DEVICES")
    evidence = {
        "torch devices": t.device_count,
        "nvml devices": len(report.nvml.devices),
        "CUDA_VISIBLE_DEVICES": cvd,
        "torch warnings": t.availability_warnings,
    }
    if t.cuda_available and t.device_count:
        names = ", ".join(d.name for d in t.devices)
        note = ""
        if cvd is not None and len(report.nvml.devices) > t.device_count:
            note = f" (CUDA_VISIBLE_DEVICES={cvd!r} hides the others)"
        return Check(
            id=CheckId.GPU_VISIBLE,
            status="pass",
            summary=f"torch sees {t.device_count} GPU(s): {names}{note}",
            evidence=evidence,
        )
    for cause in (
        CheckId.TORCH_IMPORTABLE,
        CheckId.TORCH_CUDA_BUILD,
        CheckId.DRIVER_PRESENT,
        CheckId.DRIVER_NEW_ENOUGH,
    ):
        if earlier[cause].status == "fail":
            return Check(
                id=CheckId.GPU_VISIBLE, status="skip", summary=f"see {cause}", evidence=evidence
            )
    if cvd is not None and cvd_hides_all(cvd, report):
        return Check(
            id=CheckId.GPU_VISIBLE,
            status="fail",
            summary=f"CUDA_VISIBLE_DEVICES={cvd!r} hides every GPU from torch",
            evidence=evidence,
            hint=f"{unset_command(report, 'CUDA_VISIBLE_DEVICES')}, and if the conda env "
            "sets it: `conda env config vars unset CUDA_VISIBLE_DEVICES`; then "
            "re-activate the env.",
        )
    hint = (
        "Read torch's warning in the evidence; reboot after driver changes, and check "
        '`nvidia-smi` and `python -c "import torch; torch.cuda.init()"`.'
    )
    if "unknown error" in warnings_text(report) and not report.host.wsl:
        hint = (
            "CUDA's 'unknown error' usually follows a suspend: reboot, or reload the UVM "
            "module: `sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm`."
        )
    return Check(
        id=CheckId.GPU_VISIBLE,
        status="fail",
        summary="the driver sees the GPU but torch does not",
        evidence=evidence,
        hint=hint,
    )


def check_arch_supported(report: Report) -> Check:
    archs = report.torch.arch_list
    devices = capabilities(report)
    if not report.torch.cuda or not archs or not devices:
        return Check(
            id=CheckId.ARCH_SUPPORTED,
            status="skip",
            summary="no CUDA build or no GPU to compare",
            evidence={"arch_list": archs},
        )
    evidence = {"arch_list": archs, "gpus": [f"{n} sm_{a}{b}" for n, a, b in devices]}
    missing = [(n, a, b) for n, a, b in devices if not any(arch_runs(a, b, x) for x in archs)]
    if not missing:
        return Check(
            id=CheckId.ARCH_SUPPORTED,
            status="pass",
            summary="torch has kernels for every GPU's architecture",
            evidence=evidence,
        )
    name, major, minor = missing[0]
    summary = (
        f"{name} is sm_{major}{minor}, which this torch has no kernels for "
        '("no kernel image is available")'
    )
    return Check(
        id=CheckId.ARCH_SUPPORTED,
        status="fail",
        summary=summary,
        evidence=evidence,
        hint=arch_install_hint(report, major, minor),
    )


def arch_install_hint(report: Report, major: int, minor: int) -> str:
    if (major, minor) < MIN_CAPABILITY:
        return TOO_OLD_GPU_HINT.format(sm=f"sm_{major}{minor}")
    newest = max(
        (version_tuple(x)[0] for x in report.torch.arch_list if version_tuple(x)), default=0
    )
    tag = "cu128" if major * 10 + minor > newest else "cu118"
    return (
        f"Install a torch build that includes sm_{major}{minor}: `{reinstall_torch(report, tag)}`"
    )


def check_cuda_tensor_op(report: Report, arch: Check) -> Check:
    results = [c for c in report.correctness if c.device == "cuda"]
    if not results:
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="skip",
            summary="no CUDA tensor op was run (no usable GPU)",
        )
    evidence: dict[str, Any] = {
        c.dtype: (
            f"rel. error {c.rel_err:.1e} (limit {c.threshold:.0e})"
            if c.rel_err is not None
            else c.error
        )
        for c in results
    }
    bad = [c for c in results if not c.ok]
    if not bad:
        dtypes = "/".join(c.dtype for c in results)
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="pass",
            summary=f"{dtypes} matmuls on the GPU match a float64 CPU reference",
            evidence=evidence,
        )
    first = bad[0]
    error = first.error or ""
    if "no kernel image" in error:
        devices = capabilities(report)
        hint = arch.hint or (
            arch_install_hint(report, devices[0][1], devices[0][2])
            if devices
            else f"`{pip_cuda_install(report)}`"
        )
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="fail",
            summary='the GPU has no kernels for this torch ("no kernel image")',
            evidence=evidence,
            hint=hint,
        )
    if "out of memory" in error:
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="fail",
            summary="the GPU ran out of memory for a small test matmul",
            evidence=evidence,
            hint="Other processes hold the GPU's memory: list them with `nvidia-smi`, "
            "close them (or restart the Jupyter kernels), then run the check again.",
        )
    if "busy or unavailable" in error:
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="fail",
            summary="the GPU is busy or unavailable (exclusive compute mode or in use)",
            evidence=evidence,
            hint="Check `nvidia-smi` for the compute mode and other processes; "
            "`sudo nvidia-smi -c 0` restores the default mode.",
        )
    what = first.error or f"a relative error of {first.rel_err:.1e}"
    return Check(
        id=CheckId.CUDA_TENSOR_OP,
        status="fail",
        summary=f"a {first.dtype} matmul on the GPU gave {what}",
        evidence=evidence,
        hint="Reinstall or update the NVIDIA driver and reboot; if results stay wrong, "
        "test the GPU with `nvidia-smi -q -d ECC` and tell the course staff.",
    )


def check_gpu_beats_cpu(report: Report) -> Check:
    if report.bench is None:
        return Check(id=CheckId.GPU_BEATS_CPU, status="skip", summary="benchmarks were not run")
    rates = {(r.name, r.device): r for r in report.bench.results}
    gpu, cpu = rates.get(("matmul-fp32", "cuda")), rates.get(("matmul-fp32", "cpu"))
    if not gpu or not cpu or not gpu.median or not cpu.median:
        reason = gpu.reason if gpu and gpu.reason else "no GPU and CPU matmul timings to compare"
        return Check(id=CheckId.GPU_BEATS_CPU, status="skip", summary=reason)
    ratio = gpu.median / cpu.median
    evidence = {
        "gpu fp32 TFLOP/s": round(gpu.median / 1e12, 2),
        "cpu fp32 GFLOP/s": round(cpu.median / 1e9, 1),
        "ratio": round(ratio, 1),
    }
    if ratio >= 1:
        return Check(
            id=CheckId.GPU_BEATS_CPU,
            status="pass",
            summary=f"the GPU's fp32 matmul is {ratio:.0f}x the CPU's",
            evidence=evidence,
        )
    return Check(
        id=CheckId.GPU_BEATS_CPU,
        status="warn",
        summary=f"the GPU's fp32 matmul is slower than the CPU's ({ratio:.2f}x)",
        evidence=evidence,
        hint="Plug in the laptop and pick the high-performance power mode; check "
        "`nvidia-smi` for other processes using the GPU.",
    )


def check_system_nvcc(report: Report) -> Check:
    nvcc, torch_cuda = report.toolkit.nvcc_version, report.torch.cuda
    evidence = {"nvcc": nvcc, "torch.version.cuda": torch_cuda}
    if not report.toolkit.nvcc_path:
        summary = (
            "no system nvcc: that is fine, PyTorch brings its own CUDA runtime; nvcc is "
            "only needed to compile CUDA extensions"
        )
    elif not torch_cuda:
        summary = (
            f"system nvcc {nvcc} is not torch's CUDA: this torch has none "
            "(collect_env calls nvcc the 'CUDA runtime version', which misleads)"
        )
    elif version_tuple(nvcc)[:2] != version_tuple(torch_cuda)[:2]:
        summary = (
            f"system nvcc {nvcc} differs from torch's CUDA {torch_cuda}: that is fine, "
            "torch uses its own runtime"
        )
    else:
        summary = f"system nvcc {nvcc} matches torch's CUDA {torch_cuda}"
    return Check(id=CheckId.SYSTEM_NVCC, status="pass", summary=summary, evidence=evidence)


def check_wsl(report: Report) -> Check | None:
    host = report.host
    if not host.wsl:
        return None
    evidence = {"wsl libcuda": host.wsl_libcuda, "linux driver inside WSL": host.wsl_linux_driver}
    if host.wsl_linux_driver:
        return Check(
            id=CheckId.WSL_DRIVER,
            status="warn" if report.torch.cuda_available else "fail",
            summary="a Linux NVIDIA driver is installed inside WSL and shadows the Windows one",
            evidence=evidence,
            hint="`sudo apt-get remove --purge 'nvidia-driver-*' 'libnvidia-compute-*' && "
            "sudo apt-get autoremove`. " + WSL_DRIVER_HINT,
        )
    if host.wsl_libcuda is False:
        return Check(
            id=CheckId.WSL_DRIVER,
            status="fail",
            summary="WSL has no /usr/lib/wsl/lib/libcuda.so: the Windows driver is "
            "missing or too old",
            evidence=evidence,
            hint=WSL_DRIVER_HINT,
        )
    return Check(
        id=CheckId.WSL_DRIVER,
        status="pass",
        summary="WSL uses the Windows driver through /usr/lib/wsl/lib",
        evidence=evidence,
    )


# ---------------------------------------------------------------- judge


def judge(report: Report) -> Verdict:
    checks: dict[CheckId, Check] = {}

    def add(check: Check | None) -> None:
        if check is not None:
            checks[check.id] = check

    add(check_platform(report))
    add(check_conda_env(report))
    add(check_torch_importable(report))
    gpu_possible = checks[CheckId.PLATFORM].status == "pass"
    if not gpu_possible:
        why = "macOS has no CUDA" if report.host.system == "Darwin" else "see platform"
        add(Check(id=CheckId.TORCH_CUDA_BUILD, status="skip", summary=why))
    elif not report.torch.importable:
        add(Check(id=CheckId.TORCH_CUDA_BUILD, status="skip", summary="see torch-importable"))
    else:
        add(check_torch_cuda_build(report))
    add(check_mixed_torch(report))  # package facts: judged even when the import fails
    add(check_torch_in_env(report))
    if gpu_possible:
        add(check_wsl(report))
        add(check_driver_present(report))
        add(check_driver_new_enough(report))
        add(check_gpu_visible(report, checks))
        add(check_arch_supported(report))
        add(check_cuda_tensor_op(report, checks[CheckId.ARCH_SUPPORTED]))
        add(check_gpu_beats_cpu(report))
        add(check_system_nvcc(report))
    else:
        for check_id in (CheckId.DRIVER_PRESENT, CheckId.GPU_VISIBLE, CheckId.CUDA_TENSOR_OP):
            add(Check(id=check_id, status="skip", summary=checks[CheckId.PLATFORM].summary))
    met = (
        all(c.status != "fail" for c in checks.values())
        and all(checks[i].status in ("pass", "warn") for i in REQUIRED if i in checks)
        and all(i in checks for i in REQUIRED)
    )
    return Verdict(objective_met=met, checks=list(checks.values()))


# ---------------------------------------------------------------- implausibilities


def implausibilities(report: Report) -> list[str]:
    """Facts that cannot all be true; the server flags such reports for a human."""
    found: list[str] = []
    t, nvml = report.torch, report.nvml
    if t.cuda_available and not t.cuda:
        found.append("torch says CUDA is available but it is not a CUDA build")
    if t.cuda and (t.version or "").endswith("+cpu"):
        found.append(f"torch {t.version} is a +cpu wheel yet reports CUDA {t.cuda}")
    timings = report.bench.results if report.bench else []
    if t.cuda_available is False and (
        any(c.device == "cuda" for c in report.correctness)
        or any(r.device == "cuda" and r.median for r in timings)
    ):
        found.append("CUDA results are present although torch.cuda.is_available() is False")
    if nvml.available and t.device_count and t.device_count > len(nvml.devices):
        found.append(f"torch sees {t.device_count} GPUs but NVML only {len(nvml.devices)}")
    for dev in t.devices:
        twin = matching_nvml(report, dev)
        if nvml.devices and twin is None:
            names = ", ".join(d.name for d in nvml.devices)
            found.append(f"torch's GPU {dev.name!r} is not among NVML's ({names})")
        elif (
            twin
            and twin.memory_total
            and dev.total_memory
            and dev.total_memory > twin.memory_total * 1.01
        ):
            found.append(f"{dev.name}: torch reports more memory than NVML")
    found += bench_implausibilities(report)
    return found


def bench_implausibilities(report: Report) -> list[str]:
    if report.bench is None:
        return []
    found = []
    peaks = device_peaks(report)
    for r in report.bench.results:
        if r.median is None:
            continue
        if r.min is not None and r.max is not None and not r.min <= r.median <= r.max:
            found.append(f"{r.name} ({r.device}): median outside its min..max")
        peak = None
        if r.device == "cuda" and peaks:
            if r.name.startswith("matmul-"):
                peak = peaks.matmul.get(r.name.removeprefix("matmul-"))
            elif r.name == "copy":
                peak = peaks.memory
            elif r.name[:3] in ("h2d", "d2h"):
                peak = peaks.pcie
        if peak and r.median > 1.05 * peak:
            found.append(
                f"{r.name} ({r.device}): {r.median:.3g} {r.unit} is above the "
                f"theoretical peak {peak:.3g}"
            )
        if r.device == "cpu" and r.unit == "FLOP/s" and r.median > 100e12:
            found.append(f"{r.name} (cpu): {r.median:.3g} FLOP/s is beyond any CPU")
    return found
