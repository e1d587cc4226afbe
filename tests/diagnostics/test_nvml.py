"""NVML errors are recorded as findings, each kind with its own code, never raised."""

import pynvml
import pytest

from diagnostics.agent.probe.common import Findings, hashed
from diagnostics.agent.probe.gpu import collect_nvml, nvml_code


@pytest.mark.parametrize(
    "error_class, code",
    [
        (pynvml.NVMLError_LibraryNotFound, "nvml-library-not-found"),
        (pynvml.NVMLError_DriverNotLoaded, "nvml-driver-not-loaded"),
        (pynvml.NVMLError_LibRmVersionMismatch, "nvml-lib-rm-version-mismatch"),
        (pynvml.NVMLError_NotSupported, "nvml-not-supported"),
        (pynvml.NVMLError_FunctionNotFound, "nvml-function-not-found"),
    ],
)
def test_each_nvml_init_error_becomes_a_finding(monkeypatch, error_class, code):
    def fail():
        raise error_class()  # pynvml's own exception classes, as the real library raises them

    monkeypatch.setattr(pynvml, "nvmlInit", fail)
    findings = Findings()
    info = collect_nvml(findings, share=False)
    assert (info.available, info.error) == (False, error_class.__name__)
    assert [(f.section, f.code) for f in findings.as_list()] == [("nvml", code)]
    assert nvml_code(error_class()) == code


def test_unsupported_device_fields_are_findings_and_the_rest_is_kept(monkeypatch):
    calls = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlSystemGetDriverVersion": lambda: "551.61",
        "nvmlSystemGetCudaDriverVersion": lambda: 12040,
        "nvmlDeviceGetCount": lambda: 1,
        "nvmlDeviceGetHandleByIndex": lambda i: object(),
        "nvmlDeviceGetName": lambda h: b"NVIDIA GeForce RTX 3060 Laptop GPU",
        "nvmlDeviceGetUUID": lambda h: "GPU-8c2b7f6e-0000-1111-2222-333344445555",
        "nvmlDeviceGetCudaComputeCapability": lambda h: (8, 6),
        "nvmlDeviceGetMaxClockInfo": lambda h, kind: 2100 if kind == pynvml.NVML_CLOCK_SM else 7001,
    }
    for name, fn in calls.items():
        monkeypatch.setattr(pynvml, name, fn)

    def not_supported(*args):
        raise pynvml.NVMLError_NotSupported()

    for name in (
        "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetTemperature",
        "nvmlDeviceGetPowerManagementLimit",
        "nvmlDeviceGetMemoryBusWidth",
        "nvmlDeviceGetMaxPcieLinkGeneration",
        "nvmlDeviceGetMaxPcieLinkWidth",
    ):
        monkeypatch.setattr(pynvml, name, not_supported)
    findings = Findings()
    info = collect_nvml(findings, share=False)
    device = info.devices[0]
    assert (info.driver_version, info.cuda_driver_version) == ("551.61", "12.4")
    assert (device.name, device.compute_capability, device.max_sm_clock_mhz) == (
        "NVIDIA GeForce RTX 3060 Laptop GPU",
        "8.6",
        2100,
    )
    # Hashed without NVML's "GPU-" prefix, so it matches torch's bare UUID of the same GPU.
    assert device.uuid == hashed("8c2b7f6e-0000-1111-2222-333344445555", share=False)
    assert device.memory_total is None
    assert {f.code for f in findings.as_list()} == {"nvml-not-supported"}
    assert len(findings.as_list()) == 6


def test_on_this_machine_without_a_driver_nvml_reports_the_library_missing():
    findings = Findings()
    info = collect_nvml(findings, share=False)
    if info.available:
        pytest.skip("this machine has an NVIDIA driver")
    assert info.error == "NVMLError_LibraryNotFound"
