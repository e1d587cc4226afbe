"""Host, Python, allowlisted variables and the system CUDA toolkit."""

from __future__ import annotations

import ctypes
import glob
import os
import platform
import re
import shutil
import sys

from diagnostics.agent.probe.common import Findings, clip, hashed, run_text
from diagnostics.agent.report import PATH, SHORT, Host, PythonInfo, Toolkit, Variables

WSL_LIB = "/usr/lib/wsl/lib"
# Where a Linux NVIDIA driver package puts libcuda; inside WSL these shadow WSL's own.
LINUX_LIBCUDA = (
    "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
    "/usr/lib/aarch64-linux-gnu/libcuda.so.1",
    "/usr/lib64/libcuda.so.1",
)
VARIABLE_NAMES = {
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_MODULE_LOADING",
    "NVIDIA_VISIBLE_DEVICES",
    "PYTHONNOUSERSITE",
    "VIRTUAL_ENV",
    "WSL_DISTRO_NAME",
}
VARIABLE_PREFIXES = ("CONDA_", "PYTORCH_", "CUDA_PATH_")
# Names that say "credential", in any case: such a variable is never reported.
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH")


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(1_000_000)
    except OSError:
        return None


def os_name(system: str) -> str:
    if system == "Linux":
        match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', read_text("/etc/os-release") or "", re.M)
        if match:
            return match.group(1)
    if system == "Darwin":
        return f"macOS {platform.mac_ver()[0]}"
    if system == "Windows":
        return f"Microsoft Windows {platform.release()} ({platform.version()})"
    return platform.platform()


def is_wsl(system: str) -> bool:
    if system != "Linux":
        return False
    kernel = (read_text("/proc/version") or platform.release()).lower()
    return "microsoft" in kernel or "wsl" in kernel or "WSL_DISTRO_NAME" in os.environ


def linux_driver_in_wsl() -> bool:
    return any(
        os.path.exists(p) and not os.path.realpath(p).startswith(WSL_LIB) for p in LINUX_LIBCUDA
    )


def cpu_model(system: str) -> str | None:
    if system == "Linux":
        match = re.search(r"^model name\s*:\s*(.+)$", read_text("/proc/cpuinfo") or "", re.M)
        if match:
            return match.group(1).strip()
    if system == "Darwin":
        out = run_text(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out.strip()
    return os.environ.get("PROCESSOR_IDENTIFIER") or platform.processor() or None


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [
        ("dwLength", ctypes.c_ulong),
        ("dwMemoryLoad", ctypes.c_ulong),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def ram_bytes(system: str) -> int | None:
    if system == "Windows":
        status = _MemoryStatusEx()
        status.dwLength = ctypes.sizeof(status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullTotalPhys)
        return None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        out = run_text(["sysctl", "-n", "hw.memsize"])  # macOS without SC_PHYS_PAGES
        return int(out) if out and out.strip().isdigit() else None


def collect_host(findings: Findings, share: bool) -> Host:
    system = platform.system()
    host = Host(
        system=clip(system, SHORT),
        os_name=clip(os_name(system), SHORT),
        release=clip(platform.release(), SHORT),
        machine=clip(platform.machine(), SHORT),
        wsl=is_wsl(system),
        hostname=hashed(clip(platform.node(), SHORT), share),
        cpu_count=os.cpu_count(),
    )
    if host.wsl:
        host.wsl_libcuda = bool(glob.glob(f"{WSL_LIB}/libcuda.so*"))
        host.wsl_linux_driver = linux_driver_in_wsl()
    model = findings.guard("host", lambda: cpu_model(system), lambda: None)
    host.cpu_model = clip(model, SHORT) if model else None
    host.ram_bytes = findings.guard("host", lambda: ram_bytes(system), lambda: None)
    return host


def collect_python() -> PythonInfo:
    return PythonInfo(
        version=platform.python_version(),
        implementation=platform.python_implementation(),
        executable=clip(sys.executable, PATH),
        prefix=clip(sys.prefix, PATH),
        base_prefix=clip(sys.base_prefix, PATH),
    )


def allowed_variable(name: str) -> bool:
    if any(word in name for word in SECRET_WORDS):
        return False
    return name in VARIABLE_NAMES or name.startswith(VARIABLE_PREFIXES)


def collect_variables() -> Variables:
    # Never all of os.environ: only names on the allowlist, and only the presence
    # of the two path lists, which can name anything on the machine.
    values = {
        clip(name, SHORT): clip(value)
        for name, value in sorted(os.environ.items())
        if allowed_variable(name.upper())
    }
    return Variables(
        values=dict(list(values.items())[:60]),
        ld_library_path_set=bool(os.environ.get("LD_LIBRARY_PATH")),
        ld_library_path_driver_libs=driver_libs_on(os.environ.get("LD_LIBRARY_PATH", "")),
        pythonpath_set=bool(os.environ.get("PYTHONPATH")),
    )


def driver_libs_on(search_path: str) -> list[str]:
    """libcuda / libnvidia-ml in LD_LIBRARY_PATH's directories: they shadow the driver's."""
    found: list[str] = []
    for folder in dict.fromkeys(p for p in search_path.split(os.pathsep) if p):
        for name in ("libcuda.so*", "libnvidia-ml.so*"):
            found += sorted(glob.glob(os.path.join(folder, name)))
    return [clip(f, PATH) for f in found][:16]


def collect_toolkit(findings: Findings) -> Toolkit:
    path = shutil.which("nvcc")
    if not path:
        return Toolkit()
    out = run_text([path, "--version"], timeout=10)
    match = re.search(r"release (\d+\.\d+)", out or "")
    if not match:
        findings.add("toolkit", "nvcc-unreadable", f"{path} --version gave no release number")
    return Toolkit(nvcc_path=clip(path, PATH), nvcc_version=match.group(1) if match else None)
