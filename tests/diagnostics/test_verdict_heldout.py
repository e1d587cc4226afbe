"""Held-out broken and working GPU environments, judged as a reviewer would.

Each fixture under fixtures/heldout/ was derived from a recorded one by changing the
facts a real machine would report (driver strings, wheel tags, conda builds, NVML
errors, torch's own warning text). They live in a subfolder so the recorded set's
own one-case-per-fixture test stays as it is.
"""

from pathlib import Path

import pytest

from diagnostics.agent.report import Report
from diagnostics.agent.verdict import implausibilities, judge

from .reports import fixture_report

HELDOUT = Path(__file__).parent / "fixtures" / "heldout"

# fixture -> (objective met, the check that decides it, its status, words its hint must hold,
#             words its hint must not hold)
CASES = {
    # No released torch build runs on driver 470 any more (cu118 ended with 2.7).
    "cu124_on_driver_470": (False, "driver-new-enough", "fail", ["≥ 525.60.13"], ["cu118"]),
    "cu118_driver_450_80_02_ok": (True, "driver-new-enough", "pass", [], []),
    "cu118_driver_450_80_01": (
        False,
        "driver-new-enough",
        "fail",
        ["≥ 450.80.02"],
        ["which this driver runs"],
    ),
    "windows_cu118_driver_452_38": (
        False,
        "driver-new-enough",
        "fail",
        ["≥ 452.39"],
        ["which this driver runs"],
    ),
    "windows_cu118_driver_452_39_ok": (True, "driver-new-enough", "pass", [], []),
    "cu130_on_driver_575": (False, "driver-new-enough", "fail", ["≥ 580", "whl/cu126"], ["cu118"]),
    "cu130_on_driver_580_ok": (True, "driver-new-enough", "pass", [], []),
    # compute_90 PTX is JIT-compiled for sm_120, and the matmul on the GPU was right.
    "rtx5090_with_compute_90_ptx": (True, "arch-supported", "pass", [], []),
    "gtx780_sm35_modern_torch": (
        False,
        "arch-supported",
        "fail",
        ["sm_35", "no install"],
        ["pip install"],
    ),
    "cvd_minus_one": (False, "gpu-visible", "fail", ["unset CUDA_VISIBLE_DEVICES"], []),
    "cvd_unknown_uuid": (False, "gpu-visible", "fail", ["unset CUDA_VISIBLE_DEVICES"], []),
    # CUDA_VISIBLE_DEVICES=0 selects the one GPU: the suspend is to blame, not the variable.
    "cvd_zero_after_suspend": (
        False,
        "gpu-visible",
        "fail",
        ["nvidia_uvm"],
        ["unset CUDA_VISIBLE_DEVICES"],
    ),
    "torch_from_user_site": (False, "torch-in-env", "fail", ["user site-packages"], []),
    "conda_pytorch_and_pip_torch": (
        False,
        "no-mixed-torch",
        "fail",
        ["conda remove -y --force pytorch torchvision"],
        [],
    ),
    "conda_pytorch_cuda_ok": (True, "no-mixed-torch", "pass", [], []),
    "conda_cpuonly_240_with_gpu": (
        False,
        "torch-cuda-build",
        "fail",
        ["conda remove -y --force pytorch cpuonly", "whl/cu126"],
        [],
    ),
    "windows_pip_cpu_wheel": (
        False,
        "torch-cuda-build",
        "fail",
        ["pip uninstall -y torch", "whl/cu126"],
        [],
    ),
    "wsl_with_linux_driver": (
        False,
        "wsl-driver",
        "fail",
        ["apt-get remove --purge", "wsl --update"],
        [],
    ),
    "macos_arm64_mps": (False, "platform", "fail", ["no CUDA on Macs"], []),
    "python313_torch_missing": (
        False,
        "torch-importable",
        "fail",
        ['pip install "torch==2.14.*" "torchvision==0.29.*" "torchaudio==2.14.*" --index-url'],
        [],
    ),
    "nvml_driver_not_loaded": (
        False,
        "driver-present",
        "fail",
        ["sudo modprobe nvidia", "dkms", "reboot"],
        [],
    ),
    "nvml_rm_version_mismatch": (False, "driver-present", "fail", ["Reboot"], []),
    "too_old_warning_without_nvml": (
        False,
        "driver-new-enough",
        "fail",
        ["≥ 525.60.13"],
        ["driver ,", "cu118"],
    ),
    "wrong_matmul_result": (False, "cuda-tensor-op", "fail", ["nvidia-smi -q -d ECC"], []),
    "cuda_oom_other_process": (False, "cuda-tensor-op", "fail", ["nvidia-smi"], ["Reinstall"]),
    "mx150_slower_than_cpu": (True, "gpu-beats-cpu", "warn", ["power mode"], []),
}
# Faults that show in more than one check: the checks below the root cause are blocked.
BLOCKED = {
    "gtx780_sm35_modern_torch": {"cuda-tensor-op"},
    "wsl_with_linux_driver": {"driver-present"},
}


def heldout_report(name: str) -> Report:
    return Report.model_validate_json((HELDOUT / f"heldout_{name}.json").read_text())


def test_every_heldout_fixture_has_a_case():
    assert sorted(CASES) == sorted(
        p.stem.removeprefix("heldout_") for p in HELDOUT.glob("heldout_*.json")
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_heldout_scenario_gets_its_diagnosis(name):
    met, check_id, status, wanted, unwanted = CASES[name]
    verdict = judge(heldout_report(name))
    check = verdict.check(check_id)
    assert check is not None, [c.id for c in verdict.checks]
    assert (check.status, verdict.objective_met) == (status, met), check
    for words in wanted:
        assert words in (check.hint or ""), check.hint
    for words in unwanted:
        assert words not in (check.hint or ""), check.hint
    failed = {c.id for c in verdict.checks if c.status == "fail"}
    assert failed == ({check_id} if status == "fail" else set())
    assert verdict.next_step == (check_id if status == "fail" else None)
    for blocked in BLOCKED.get(name, set()):
        assert verdict.check(blocked).status == "blocked"
        assert verdict.check(blocked).blocked_by == check_id
    for c in verdict.checks:
        assert c.status != "fail" or c.hint, f"{c.id} fails without a hint"
        assert "  " not in (c.hint or "") and " ," not in (c.hint or ""), c.hint


@pytest.mark.parametrize("name", sorted(CASES))
def test_heldout_fixtures_are_plausible(name):
    assert implausibilities(heldout_report(name)) == []


def test_a_conda_installed_torch_is_replaced_by_conda_not_pip_uninstall():
    report = heldout_report("conda_pytorch_cuda_ok")
    report.nvml.driver_version = "560.35.03"  # runs CUDA 12, not torch's CUDA 13
    report.nvml.cuda_driver_version = "12.6"
    report.torch.cuda = "13.0"
    hint = judge(report).check("driver-new-enough").hint
    assert (
        "conda remove -y --force pytorch pytorch-cuda && python -m pip uninstall -y torch "
        "torchvision torchaudio && python -m pip install" in hint
    )
    assert hint.endswith("whl/cu126`")


def test_no_kernel_image_always_comes_with_a_hint():
    # The arch list says PTX covers the GPU, yet the op failed with "no kernel image".
    report = heldout_report("rtx5090_with_compute_90_ptx")
    bad = report.correctness[1]
    bad.ok, bad.rel_err = False, None
    bad.error = "CUDA error: no kernel image is available for execution on the device"
    check = judge(report).check("cuda-tensor-op")
    assert check.status == "fail"
    assert "sm_120" in check.hint and "whl/cu128" in check.hint


def test_cvd_with_an_index_beyond_the_gpus_still_hides_them():
    report = fixture_report("cuda_visible_devices_empty")
    report.variables.values["CUDA_VISIBLE_DEVICES"] = "1"
    assert "unset CUDA_VISIBLE_DEVICES" in judge(report).check("gpu-visible").hint


def test_windows_hint_unsets_the_variable_the_windows_way():
    report = heldout_report("cvd_minus_one")
    report.host.system = "Windows"
    hint = judge(report).check("gpu-visible").hint
    assert "Remove-Item Env:CUDA_VISIBLE_DEVICES" in hint


def test_nvml_no_permission_is_not_told_to_install_a_driver():
    report = heldout_report("nvml_driver_not_loaded")
    report.nvml.error = "NVMLError_NoPermission"
    check = judge(report).check("driver-present")
    assert check.status == "fail" and "/dev/nvidia" in check.hint


# ---------------------------------------------------------------- implausibilities


def test_implausible_cpu_wheel_reporting_cuda():
    report = fixture_report("h100_ok")
    report.torch.version = "2.4.0+cpu"
    assert any("+cpu wheel" in f for f in implausibilities(report))


def test_implausible_cuda_results_without_cuda():
    report = heldout_report("cu124_on_driver_470")
    report.correctness.append(report.correctness[0].model_copy(update={"device": "cuda"}))
    assert any("is_available() is False" in f for f in implausibilities(report))


def test_implausible_more_torch_gpus_than_nvml():
    report = fixture_report("h100_ok")
    report.torch.device_count = 2
    report.torch.devices.append(report.torch.devices[0].model_copy(update={"index": 1}))
    assert any("torch sees 2 GPUs but NVML only 1" in f for f in implausibilities(report))


def test_implausible_matmul_above_peak_and_cpu_beyond_any_cpu():
    report = fixture_report("h100_ok")
    gpu = report.bench.results[0]
    gpu.median, gpu.max = 9e14, 9.1e14
    cpu = next(r for r in report.bench.results if r.device == "cpu" and r.name == "matmul-fp32")
    cpu.median, cpu.max = 2e14, 2.1e14
    found = implausibilities(report)
    assert any("above the theoretical peak" in f for f in found), found
    assert any("beyond any CPU" in f for f in found), found


def test_plausible_without_nvml_and_with_a_gpu_hidden_by_cvd():
    report = fixture_report("h100_ok")
    report.nvml.devices.append(
        report.nvml.devices[0].model_copy(update={"index": 1, "uuid": "sha256:77"})
    )
    report.variables.values["CUDA_VISIBLE_DEVICES"] = "0"
    assert implausibilities(report) == []
    assert "hides the others" in judge(report).check("gpu-visible").summary
