"""Judge a report: checks with evidence and the exact command that fixes each.

`judge(report)` is a pure function of the report's facts; it never reads a
verdict from the report, so the server re-judges what the worker sent.
`implausibilities(report)` lists facts that cannot all be true, for the server.
"""

from __future__ import annotations

import re
from typing import Any

from diagnostics.agent.bench.peak import device_peaks, matching_nvml
from diagnostics.agent.report import CondaPackage, PipPackage, Report
from diagnostics.agent.verdict.graph import DEPENDS_ON, next_step, order
from diagnostics.agent.verdict.ids import CheckId
from diagnostics.agent.verdict.model import PASSING, Check, Status, Verdict
from diagnostics.agent.verdict.tables import (
    Build,
    Shell,
    arch_runs,
    choose,
    conda_install,
    last_branch,
    min_driver,
    newest_torch_for,
    pip_install,
    render,
    replace_torch,
    version_tuple,
)

__all__ = ["DEPENDS_ON", "REQUIRED", "Check", "Status", "Verdict", "implausibilities", "judge"]

# These must pass (or warn) for the objective; any failed check also blocks it.
REQUIRED = (
    CheckId.CONDA_ENV,
    CheckId.TORCH_IMPORTABLE,
    CheckId.TORCH_CUDA_BUILD,
    CheckId.DRIVER_PRESENT,
    CheckId.GPU_VISIBLE,
    CheckId.CUDA_TENSOR_OP,
)
ENV_NAME = "torch-gpu"
CREATE_ENV = [f"conda create -n {ENV_NAME} python=3.11 -y", f"conda activate {ENV_NAME}"]
GPU_OPTIONS = (
    "Use a machine with an NVIDIA GPU: your class's GPU server or lab machines (see the "
    "course's GPU page or ask your instructor), or a cloud notebook with a GPU such as "
    "Colab or Kaggle; then run `python -m diagnostics check` there."
)
WSL_DRIVER_HINT = (
    "Inside WSL, never install a Linux NVIDIA driver: install or update the NVIDIA driver "
    "on Windows; WSL then provides libcuda in /usr/lib/wsl/lib. "
    "In PowerShell: `wsl --update` then `wsl --shutdown`."
)


# ---------------------------------------------------------------- fact helpers


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


def shell(report: Report) -> Shell:
    return "windows" if is_windows(report) else "posix"


def driver_version(report: Report) -> str | None:
    """NVML's driver version; without NVML, the lowest driver for torch's "found version"."""
    if report.nvml.driver_version:
        return report.nvml.driver_version
    found = re.search(r"found version (\d+)", warnings_text(report))
    # torch's "found version 11040" is the newest CUDA the driver runs (CUDA 11.4).
    return min_driver(int(found.group(1)) // 1000, windows_driver(report)) if found else None


def build_for(report: Report) -> Build | None:
    """The released torch build this machine's driver runs with kernels for its GPUs."""
    return choose(
        gpus=[(a, b) for _, a, b in capabilities(report)],
        driver=driver_version(report),
        windows=windows_driver(report),
        installed=report.torch.version,
    )


def conda_torch(report: Report, *extra: str) -> list[str]:
    """conda's own records of torch packages, which conda (not pip) must remove."""
    names = ("pytorch", "torch", "torchvision", "torchaudio", "pytorch-cuda", *extra)
    return [n for n in names if conda_record(report, n)]


def install_command(report: Report, *extra_conda: str) -> str:
    """Replace every torch package with the build this machine runs, as a pastable command."""
    build = build_for(report)
    if build is None:
        gpus = capabilities(report)
        build = newest_torch_for(gpus[0][1], gpus[0][2]) if gpus else None
        if build is None:
            return "first update the NVIDIA driver (see driver-new-enough)"
        steps = replace_torch(build, conda_torch(report, *extra_conda))
        return "after updating the NVIDIA driver: " + render(steps, shell(report))
    return render(replace_torch(build, conda_torch(report, *extra_conda)), shell(report))


def fresh_install(report: Report) -> str:
    """Install torch, torchvision and torchaudio where none is installed yet."""
    build = build_for(report)
    if report.host.system == "Darwin" or build is None:
        return "`python -m pip install torch torchvision torchaudio`"
    return render(pip_install(build), shell(report))


def unset_command(report: Report, name: str) -> str:
    if is_windows(report):
        return f"`set {name}=` (cmd) or `Remove-Item Env:{name}` (PowerShell)"
    return f"`unset {name}`"


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
            hint="There is no CUDA on Macs (Apple's GPUs run PyTorch through MPS, which "
            "this course's GPU objectives don't cover). " + GPU_OPTIONS,
        )
    if system not in ("Linux", "Windows"):
        return Check(
            id=CheckId.PLATFORM,
            status="fail",
            summary=f"{system or 'unknown OS'}: PyTorch's CUDA builds need Linux or Windows",
            evidence={"system": system},
            hint=GPU_OPTIONS,
        )
    label = "Linux under WSL2" if report.host.wsl else system
    return Check(
        id=CheckId.PLATFORM,
        status="pass",
        summary=f"{label} can run CUDA",
        evidence={"system": system, "os": report.host.os_name, "wsl": report.host.wsl},
    )


def check_gpu_present(report: Report) -> Check:
    """Is there NVIDIA hardware at all? Asked apart from the driver, which may be missing."""
    gpu = report.gpu
    seen = [d.name for d in report.nvml.devices] or [d.name for d in report.torch.devices]
    evidence = {
        "source": gpu.source,
        "nvidia devices": gpu.nvidia_devices or seen,
        "other display devices": gpu.other_devices,
    }
    if seen or gpu.nvidia:
        names = ", ".join(seen or gpu.nvidia_devices)
        return Check(
            id=CheckId.GPU_PRESENT,
            status="pass",
            summary=f"an NVIDIA GPU is in this machine ({names})",
            evidence=evidence,
        )
    if gpu.nvidia is False:
        others = ", ".join(gpu.other_devices)
        return Check(
            id=CheckId.GPU_PRESENT,
            status="fail",
            summary="No NVIDIA GPU in this machine"
            + (f" (only {others})" if others else "")
            + ": CUDA needs one, so no driver or install can fix this here",
            evidence=evidence,
            hint=GPU_OPTIONS,
        )
    return Check(
        id=CheckId.GPU_PRESENT,
        status="skip",
        summary="could not tell whether an NVIDIA GPU is present; the driver check decides",
        evidence=evidence,
    )


def check_conda_env(report: Report) -> Check:
    env = report.env
    evidence = {
        "kind": env.kind,
        "prefix": env.prefix,
        "python": report.python.executable,
        "CONDA_PREFIX": env.activated_conda_prefix,
    }
    activated = env.activated_conda_prefix
    if env.kind == "conda" and activated and not same_path(activated, env.prefix, report):
        return Check(
            id=CheckId.CONDA_ENV,
            status="fail",
            summary=f"conda env '{env.activated_conda_env or activated}' is activated, but "
            f"this Python belongs to '{env.conda_env_name or env.prefix}'",
            evidence=evidence,
            hint="Run the activated env's own Python: `conda deactivate`, then `conda activate "
            f"{env.activated_conda_env or ENV_NAME}` and `python -m diagnostics check`; if "
            "`python` still points elsewhere, check PATH and aliases (`which python` / "
            "`where python`).",
        )
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
            hint=render(CREATE_ENV, shell(report)),
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
            hint=f"`deactivate`, then {render(CREATE_ENV, shell(report))}",
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
            hint=f"Install Miniforge or Miniconda, then {render(CREATE_ENV, shell(report))}",
        )
    return Check(
        id=CheckId.CONDA_ENV,
        status="skip",
        summary="the environment could not be read",
        evidence=evidence,
    )


def crash_cause(error: str) -> str:
    """'import torch crashed the process (killed by SIGBUS (last output: ...))' -> the signal."""
    found = re.search(
        r"\((killed by [A-Z0-9 ]+|hung for [^)(]+|crashed with [^)(]+|exited [^)(]+)", error
    )
    return found.group(1).strip() if found else "it crashed"


def check_torch_importable(report: Report) -> Check:
    t = report.torch
    if t.importable:
        return Check(
            id=CheckId.TORCH_IMPORTABLE,
            status="pass",
            summary=f"torch {t.version} imports",
            evidence={"version": t.version, "location": t.location},
        )
    if t.import_error and "crashed the process" in t.import_error:
        return Check(
            id=CheckId.TORCH_IMPORTABLE,
            status="fail",
            summary=f"torch crashes on import ({crash_cause(t.import_error)}): "
            "one of its libraries is truncated or corrupt",
            evidence={"error": t.import_error, "location": report.packages.torch_origin},
            hint="Reinstall torch from scratch (a download cut short or a full disk leaves a "
            f"truncated library): {install_command(report)}",
        )
    if t.import_error and "No module named 'torch'" not in t.import_error:
        return Check(
            id=CheckId.TORCH_IMPORTABLE,
            status="fail",
            summary="torch is installed but fails to import",
            evidence={"error": t.import_error},
            hint=f"Reinstall it in this env: {install_command(report)}",
        )
    return Check(
        id=CheckId.TORCH_IMPORTABLE,
        status="fail",
        summary="torch missing: it is not installed in this env",
        evidence={"error": t.import_error, "python": report.python.executable},
        hint=f"In the activated env: {fresh_install(report)}",
    )


NUMPY_ABI = ("_ARRAY_API not found", "compiled using NumPy 1.x", "numpy.core.multiarray failed")


def check_torch_numpy(report: Report) -> Check | None:
    """torch built for NumPy 1 beside NumPy 2 imports, but every numpy hand-off fails."""
    t = report.torch
    said = " ".join([t.numpy_error or "", *t.import_warnings])
    if not t.importable or (t.numpy_version is None and not any(w in said for w in NUMPY_ABI)):
        return None
    evidence = {"numpy": t.numpy_version, "torch": t.version, "torch.from_numpy": t.numpy_error}
    if t.numpy_error or any(w in said for w in NUMPY_ABI):
        return Check(
            id=CheckId.TORCH_NUMPY,
            status="fail",
            summary=f"torch {t.version} was built for NumPy 1 but NumPy {t.numpy_version} is "
            "installed: torch.from_numpy and every numpy hand-off fail",
            evidence=evidence,
            hint='Install a NumPy 1 beside this torch: `python -m pip install "numpy<2"` '
            f"(or move to a torch built for NumPy 2: {install_command(report)})",
        )
    return Check(
        id=CheckId.TORCH_NUMPY,
        status="pass",
        summary=f"torch and NumPy {t.numpy_version} exchange arrays",
        evidence=evidence,
    )


def check_driver_libs(report: Report) -> Check | None:
    """Driver libraries on LD_LIBRARY_PATH are loaded before the driver's own copies."""
    libs = report.variables.ld_library_path_driver_libs
    if not libs or is_windows(report):
        return None
    evidence = {"LD_LIBRARY_PATH holds": libs, "nvml": report.nvml.error or "ok"}
    broken = (
        report.nvml.error not in (None, "pynvml-missing")
        or (bool(report.torch.cuda) and report.torch.cuda_available is False)
        or any(c.device == "cuda" and not c.ok for c in report.correctness)
    )
    if not broken:
        return Check(
            id=CheckId.DRIVER_LIBS,
            status="pass",
            summary="LD_LIBRARY_PATH holds NVIDIA driver libraries, and they work",
            evidence=evidence,
        )
    return Check(
        id=CheckId.DRIVER_LIBS,
        status="fail",
        summary=f"LD_LIBRARY_PATH puts {libs[0]} ahead of the installed driver's own library",
        evidence=evidence,
        hint="A stray copy of a driver library, of another driver version, is loaded instead "
        "of the driver's: remove its directory from LD_LIBRARY_PATH (try `unset "
        "LD_LIBRARY_PATH` first, and find where it is set: `grep -n LD_LIBRARY_PATH ~/.bashrc "
        "~/.profile`), then open a new terminal.",
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
    hint = install_command(report)
    conda_cpu = (
        cpuonly or (mutex and mutex.build == "cpu") or (conda_torch and "cpu" in conda_torch.build)
    )
    if conda_cpu:
        what = "a CPU-only conda build (cpuonly / pytorch-mutex cpu)"
        hint = install_command(report, "cpuonly", "pytorch-mutex")
        build = build_for(report)
        if build is not None:
            hint += f" (or stay with conda: `{conda_install(build)}`)"
    return Check(
        id=CheckId.TORCH_CUDA_BUILD,
        status="fail",
        summary=f"torch {t.version} is {what}",
        evidence=evidence,
        hint=hint,
    )


def same_path(a: str, b: str, report: Report) -> bool:
    def norm(p: str) -> str:
        p = p.rstrip("/\\")
        return p.lower().replace("\\", "/") if is_windows(report) else p

    return norm(a) == norm(b)


def check_mixed_torch(report: Report) -> Check | None:
    conda_torch = conda_record(report, "pytorch", "torch")
    pip = pip_torch(report)
    if not conda_torch and not pip:
        return None
    places = list(dict.fromkeys(p.location for p in pip))
    if len(places) > 1:
        return Check(
            id=CheckId.NO_MIXED_TORCH,
            status="fail",
            summary=f"torch is installed {len(places)} times by pip, in {', '.join(places)}; "
            "only the first on sys.path is imported",
            evidence={"pip": [f"{p.version} in {p.location}" for p in pip]},
            hint="Remove the extra copies: run `python -m pip uninstall -y torch torchvision "
            f"torchaudio` until pip says torch is not installed, then {fresh_install(report)}",
        )
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
        return Check(
            id=CheckId.NO_MIXED_TORCH,
            status="fail",
            summary="torch is installed by both conda and pip; they overwrite each other's files",
            evidence=evidence,
            hint=install_command(report),
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
            "your user site-packages shadows the env: "
            "`python -m pip uninstall -y torch torchvision torchaudio` "
            "(removes the user copies), then install into the env"
        )
    else:
        fix = "remove the outside copy"
    return Check(
        id=CheckId.TORCH_IN_ENV,
        status="fail",
        summary=f"torch is imported from outside the active env ({origin})",
        evidence=evidence,
        hint=f"{fix}: {fresh_install(report)} with the env active.",
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
    needed = min_driver(major, windows_driver(report))
    if needed is None:
        return Check(
            id=CheckId.DRIVER_NEW_ENOUGH,
            status="warn",
            summary=f"no driver table for CUDA {report.torch.cuda}",
            evidence={"driver": driver, "torch.version.cuda": report.torch.cuda},
        )
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
    if needed is None and major is not None:
        needed = min_driver(major, windows_driver(report))
    oldest = min((version_tuple(f"{a}.{b}") for _, a, b in capabilities(report)), default=None)
    branch = last_branch(*oldest[:2]) if oldest else None
    if branch is not None:
        # No update exists: NVIDIA's driver line for this GPU ended with its last branch.
        return (
            f"R{branch.branch} is the last driver branch for {branch.architecture} GPUs, and it "
            f"runs CUDA {branch.newest_cuda} at most: no driver update or current PyTorch "
            "build runs on this GPU. " + GPU_OPTIONS
        )
    parts = ["Update the NVIDIA driver"]
    if report.host.wsl:
        parts.append("on Windows (not inside WSL)")
    if needed:
        parts.append(f"to ≥ {needed}")
    hint = " ".join(parts) + ", then reboot."
    build = build_for(report)
    # Only a build for an older CUDA than torch's own is an alternative to the update.
    if build and major is not None and version_tuple(build.cuda)[0] < major:
        hint += (
            f" Or install a torch built for CUDA {build.cuda}, which this driver runs: "
            + install_command(report)
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
    if (
        "unknown error" in warnings_text(report)
        and report.host.system == "Linux"
        and not report.host.wsl
    ):
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
    sm = f"sm_{major}{minor}"
    if newest_torch_for(major, minor) is None:
        return (
            f"This GPU ({sm}) is older than every released PyTorch build supports: no "
            "install fixes that. " + GPU_OPTIONS
        )
    return f"Install a torch build that includes {sm}: {install_command(report)}"


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
            else install_command(report)
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
    alloc = {
        k: v for k, v in report.variables.values.items() if k.endswith(("ALLOC_CONF", "_ALLOCATOR"))
    }
    if first.error and (alloc or "CachingAllocator" in error or "ALLOC_CONF" in error):
        names = ", ".join(alloc) or "PYTORCH_CUDA_ALLOC_CONF"
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="fail",
            summary=f"torch's CUDA allocator rejects its settings ({names}): {first.error}",
            evidence={**evidence, **alloc},
            hint=" and ".join(unset_command(report, n) for n in alloc or [names])
            + "; if the conda env sets it: `conda env config vars unset "
            + (next(iter(alloc), names))
            + "`, then re-activate the env.",
        )
    if first.error:
        return Check(
            id=CheckId.CUDA_TENSOR_OP,
            status="fail",
            summary=f"a {first.dtype} matmul on the GPU failed: {first.error}",
            evidence=evidence,
            hint="Read the error above; reboot after a driver change and run the check "
            "again. If it stays, copy the report to the course staff.",
        )
    what = (
        f"a relative error of {first.rel_err:.1e}"
        if first.rel_err is not None
        else "a result marked wrong, with no error and no relative error recorded"
    )
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
    """Every check, in root-cause order; the first failure whose parents pass is next."""
    checks: dict[CheckId, Check] = {}

    def add(check: Check | None) -> None:
        if check is not None:
            checks[check.id] = check

    add(check_platform(report))
    add(check_gpu_present(report))
    add(check_wsl(report))
    add(check_driver_libs(report))
    add(check_driver_present(report))
    add(check_driver_new_enough(report))
    add(check_conda_env(report))
    add(check_mixed_torch(report))  # package facts: judged even when the import fails
    add(check_torch_importable(report))
    add(check_torch_in_env(report))
    add(check_torch_numpy(report))
    if report.torch.importable:
        add(check_torch_cuda_build(report))
    else:
        add(Check(id=CheckId.TORCH_CUDA_BUILD, status="skip", summary="see torch-importable"))
    add(check_gpu_visible(report, checks))
    add(check_arch_supported(report))
    add(check_cuda_tensor_op(report, checks[CheckId.ARCH_SUPPORTED]))
    add(check_gpu_beats_cpu(report))
    add(check_system_nvcc(report))
    ordered = order(list(checks.values()))
    judged = {c.id: c for c in ordered}
    met = all(c.status != "fail" for c in ordered) and all(
        i in judged and judged[i].status in PASSING for i in REQUIRED
    )
    step = None if met else next_step(ordered)
    return Verdict(
        objective_met=met,
        checks=ordered,
        next_step=step,
        summary=verdict_summary(met, judged.get(step) if step else None),
    )


def verdict_summary(met: bool, step: Check | None) -> str:
    if met:
        return "the conda env runs PyTorch on the GPU"
    if step is None:
        return "the objective is not met, but no check names a cause"
    return step.summary


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
