"""Is an NVIDIA GPU in this machine at all? Asked of the hardware, not of the driver.

A missing driver and a missing GPU call for opposite advice (install one / use
another machine), and NVML can't tell them apart: both are "library not found".
- Linux: display-class PCI devices (class 0x03xxxx) under /sys/bus/pci, NVIDIA's
  vendor id being 0x10de; Jetsons have their GPU on the SoC, not on PCI.
- WSL: the GPU is paravirtualised through /dev/dxg and the Windows driver's
  libcuda in /usr/lib/wsl/lib; the PCI bus shows no GPU.
- Windows: WMI's Win32_VideoController, or `nvidia-smi -L`.
- macOS: no Mac runs CUDA; the platform check says so.
"""

from __future__ import annotations

import glob
import os
import re

from diagnostics.agent.probe.common import clip, run_text
from diagnostics.agent.report import SHORT, GpuPresence

NVIDIA = "10de"
PCI_DEVICES = "/sys/bus/pci/devices"
VENDORS = {
    "10de": "NVIDIA",
    "8086": "Intel",
    "1002": "AMD",
    "1414": "Microsoft",
    "15ad": "VMware",
    "1234": "QEMU",
    "1af4": "virtio",
    "1a03": "ASPEED",
    "102b": "Matrox",
}
WMI_QUERY = (
    "Get-CimInstance Win32_VideoController | ForEach-Object { $_.PNPDeviceID + '|' + $_.Name }"
)


def read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read(200).strip()
    except OSError:
        return ""


def label(vendor: str, device: str, name: str = "") -> str:
    return clip(f"{vendor}:{device} {name or VENDORS.get(vendor, 'unknown vendor')}", SHORT)


def pci_presence(root: str = PCI_DEVICES) -> GpuPresence:
    """Display controllers on the PCI bus; unknown when the bus can't be read."""
    nvidia: list[str] = []
    other: list[str] = []
    slots = sorted(glob.glob(os.path.join(root, "*")))
    for slot in slots:
        klass = read(os.path.join(slot, "class")).lower().removeprefix("0x")
        if not klass.startswith("03"):  # 0x0300 VGA, 0x0302 3D controller, 0x0380 other
            continue
        vendor = read(os.path.join(slot, "vendor")).lower().removeprefix("0x")
        device = read(os.path.join(slot, "device")).lower().removeprefix("0x")
        (nvidia if vendor == NVIDIA else other).append(label(vendor, device))
    if not slots:
        return GpuPresence(source="pci")
    return GpuPresence(
        nvidia=bool(nvidia), source="pci", nvidia_devices=nvidia[:16], other_devices=other[:16]
    )


def tegra() -> bool:
    """A Jetson: the GPU is part of the SoC and never shows on PCI."""
    compatible = read("/proc/device-tree/compatible")
    return "nvidia,tegra" in compatible or os.path.exists("/etc/nv_tegra_release")


def wsl_presence(dxg: str = "/dev/dxg", wsl_lib: str = "/usr/lib/wsl/lib") -> GpuPresence:
    """WSL shows a GPU through /dev/dxg; the NVIDIA one brings the Windows driver's libcuda."""
    if not os.path.exists(dxg):
        return GpuPresence(nvidia=False, source="dxg")
    if glob.glob(os.path.join(wsl_lib, "libcuda.so*")) or os.path.exists(
        os.path.join(wsl_lib, "nvidia-smi")
    ):
        return GpuPresence(nvidia=True, source="dxg", nvidia_devices=["/dev/dxg + NVIDIA driver"])
    # A GPU is shared with WSL, but not an NVIDIA one, or the Windows driver is missing:
    # the wsl-driver check tells these apart no better, so this stays unknown.
    return GpuPresence(source="dxg", other_devices=["/dev/dxg without NVIDIA's libcuda"])


def parse_wmi(text: str) -> GpuPresence:
    """Lines of "PCI\\VEN_10DE&DEV_2684&...|NVIDIA GeForce RTX 4090" from WMI."""
    nvidia: list[str] = []
    other: list[str] = []
    for line in text.splitlines():
        pnp, _, name = line.strip().partition("|")
        match = re.search(r"VEN_([0-9A-Fa-f]{4})&DEV_([0-9A-Fa-f]{4})", pnp)
        if not match:
            continue
        vendor, device = match.group(1).lower(), match.group(2).lower()
        (nvidia if vendor == NVIDIA else other).append(label(vendor, device, name.strip()))
    return GpuPresence(
        nvidia=bool(nvidia), source="wmi", nvidia_devices=nvidia[:16], other_devices=other[:16]
    )


def windows_presence() -> GpuPresence:
    out = run_text(["powershell", "-NoProfile", "-NonInteractive", "-Command", WMI_QUERY], 15)
    if out and "VEN_" in out:
        return parse_wmi(out)
    smi = run_text(["nvidia-smi", "-L"], 10)
    if smi and "GPU " in smi:
        names = [clip(line.strip(), SHORT) for line in smi.splitlines() if line.strip()]
        return GpuPresence(nvidia=True, source="nvidia-smi", nvidia_devices=names[:16])
    return GpuPresence(source="wmi")


def collect_gpu_presence(system: str, wsl: bool) -> GpuPresence:
    if system == "Darwin":
        return GpuPresence(nvidia=False, source="macos")
    if system == "Windows":
        return windows_presence()
    if wsl:
        return wsl_presence()
    if system == "Linux" and tegra():
        return GpuPresence(nvidia=True, source="tegra", nvidia_devices=["Jetson (Tegra SoC)"])
    if system == "Linux":
        return pci_presence()
    return GpuPresence()
