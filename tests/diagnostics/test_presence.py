"""GPU presence apart from the driver: PCI ids, WSL's /dev/dxg, Windows' WMI."""

from pathlib import Path

from diagnostics.agent.probe.presence import (
    collect_gpu_presence,
    parse_wmi,
    pci_presence,
    wsl_presence,
)


def pci_device(root: Path, slot: str, vendor: str, device: str, klass: str) -> None:
    folder = root / slot
    folder.mkdir(parents=True)
    (folder / "vendor").write_text(f"0x{vendor}\n")
    (folder / "device").write_text(f"0x{device}\n")
    (folder / "class").write_text(f"0x{klass}\n")


def test_an_nvidia_display_controller_on_pci_is_a_gpu_but_its_audio_function_is_not(tmp_path):
    pci_device(tmp_path, "0000:00:02.0", "8086", "9a49", "030000")  # Intel iGPU
    pci_device(tmp_path, "0000:01:00.1", "10de", "22bb", "040300")  # the GPU's HDMI audio
    found = pci_presence(str(tmp_path))
    assert (found.nvidia, found.other_devices) == (False, ["8086:9a49 Intel"])
    pci_device(tmp_path, "0000:01:00.0", "10de", "2684", "030200")  # 3D controller
    found = pci_presence(str(tmp_path))
    assert (found.nvidia, found.nvidia_devices) == (True, ["10de:2684 NVIDIA"])


def test_an_unreadable_pci_bus_is_unknown_not_absent(tmp_path):
    assert pci_presence(str(tmp_path / "missing")).nvidia is None


def test_wsl_needs_dxg_and_the_windows_drivers_libcuda(tmp_path):
    dxg, lib = tmp_path / "dxg", tmp_path / "lib"
    lib.mkdir()
    assert wsl_presence(str(dxg), str(lib)).nvidia is False
    dxg.write_text("")
    assert wsl_presence(str(dxg), str(lib)).nvidia is None  # a GPU, maybe not NVIDIA
    (lib / "libcuda.so.1").write_text("")
    assert wsl_presence(str(dxg), str(lib)).nvidia is True


def test_windows_wmi_output_is_read_by_vendor_id():
    text = (
        "PCI\\VEN_8086&DEV_46A6&SUBSYS_0B1A1028&REV_0C\\3&11583659&0&10|Intel(R) Iris(R) Xe\r\n"
        "PCI\\VEN_10DE&DEV_25A2&SUBSYS_0B1A1028&REV_A1\\4&1&0&0008|NVIDIA GeForce RTX 3050\r\n"
        "ROOT\\DISPLAY\\0000|Microsoft Remote Display Adapter\r\n"
    )
    found = parse_wmi(text)
    assert found.nvidia is True
    assert found.nvidia_devices == ["10de:25a2 NVIDIA GeForce RTX 3050"]
    assert found.other_devices == ["8086:46a6 Intel(R) Iris(R) Xe"]
    assert parse_wmi(text.splitlines()[0]).nvidia is False


def test_a_mac_has_no_nvidia_gpu_to_use():
    assert collect_gpu_presence("Darwin", False).nvidia is False


def test_driver_libraries_on_ld_library_path_are_listed(tmp_path):
    from diagnostics.agent.probe.system import driver_libs_on

    stray = tmp_path / "old-cuda"
    stray.mkdir()
    (stray / "libnvidia-ml.so.1").write_text("")
    (stray / "libcudart.so.12").write_text("")  # the runtime, not the driver: not listed
    found = driver_libs_on(f"{tmp_path / 'missing'}:{stray}:{stray}")
    assert found == [str(stray / "libnvidia-ml.so.1")]
