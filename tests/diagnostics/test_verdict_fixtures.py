"""The verdict over recorded reports of realistic machines, one scenario each."""

import pytest

from diagnostics.agent.verdict import REQUIRED, implausibilities, judge

from .reports import fixture_names, fixture_report

# fixture -> (objective met, the check that decides it, its status, words its hint must hold)
CASES = {
    "h100_ok": (True, "gpu-beats-cpu", "pass", None),
    "rtx3060_laptop_wsl_ok": (True, "wsl-driver", "pass", None),
    "base_env": (True, "conda-env", "warn", "conda create -n torch-gpu python=3.11"),
    "venv_not_conda": (False, "conda-env", "fail", "conda activate torch-gpu"),
    "driver_too_old": (False, "driver-new-enough", "fail", "525.60.13"),
    "no_driver_windows": (False, "driver-present", "fail", "nvidia.com/Download"),
    "cuda_visible_devices_empty": (False, "gpu-visible", "fail", "unset CUDA_VISIBLE_DEVICES"),
    "unsupported_arch": (False, "arch-supported", "fail", "whl/cu128"),
    "mixed_pip_conda": (False, "no-mixed-torch", "fail", "conda remove -y --force pytorch"),
    "macos": (False, "platform", "fail", "no CUDA on Macs"),
    "torch_missing": (False, "torch-importable", "fail", '"torchvision==0.29.*" "torchaudio=='),
    "conda_cpuonly": (False, "torch-cuda-build", "fail", "conda remove -y --force pytorch cpuonly"),
    "gpu_slower_than_cpu": (True, "gpu-beats-cpu", "warn", "power mode"),
}


def test_every_fixture_has_a_case():
    assert sorted(CASES) == fixture_names()


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_scenario_gets_its_diagnosis(name):
    met, check_id, status, hint = CASES[name]
    verdict = judge(fixture_report(name))
    check = verdict.check(check_id)
    assert check is not None, [c.id for c in verdict.checks]
    assert (check.status, verdict.objective_met) == (status, met), check
    if hint:
        assert hint in check.hint
    assert check.summary and "\n" not in check.summary


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failing_scenario_fails_only_where_the_fault_is(name):
    verdict = judge(fixture_report(name))
    failed = {c.id for c in verdict.checks if c.status == "fail"}
    _, check_id, status, _ = CASES[name]
    # The arch gap also breaks the tensor op, which is therefore blocked, not failed.
    assert failed == ({check_id} if status == "fail" else set())
    assert verdict.next_step == (check_id if status == "fail" else None)


def test_the_fixtures_cover_every_check_of_the_objective():
    faulted = {
        c.id
        for name in fixture_names()
        for c in judge(fixture_report(name)).checks
        if c.status in ("fail", "warn")
    }
    # The recorded tensor-op fault follows the arch gap, so it is blocked there;
    # test_verdict_rules fails the tensor op on its own.
    wanted = set(REQUIRED) - {"cuda-tensor-op"} | {
        "driver-new-enough",
        "arch-supported",
        "gpu-beats-cpu",
        "no-mixed-torch",
        "platform",
    }
    assert wanted <= faulted, wanted - faulted


def test_wsl_laptop_gets_the_windows_driver_figures():
    verdict = judge(fixture_report("rtx3060_laptop_wsl_ok"))
    assert verdict.check("driver-new-enough").status == "pass"
    assert verdict.check("platform").summary == "Linux under WSL2 can run CUDA"


def test_macos_blocks_every_gpu_check_on_the_platform():
    verdict = judge(fixture_report("macos"))
    for check_id in ("torch-cuda-build", "driver-present", "gpu-visible", "cuda-tensor-op"):
        check = verdict.check(check_id)
        assert (check.status, check.blocked_by) == ("blocked", "platform")
        assert check.summary == "can't be judged until platform passes"
    assert verdict.next_step == "platform"
    assert "no NVIDIA GPU is possible here" in verdict.check("platform").summary


def test_the_recorded_fixtures_are_plausible():
    for name in fixture_names():
        assert implausibilities(fixture_report(name)) == [], name
