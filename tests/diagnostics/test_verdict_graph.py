"""Root cause first: the dependency graph of checks, the next step and blocked checks."""

import pytest

from diagnostics.agent.report import GpuPresence, NvmlInfo, Report
from diagnostics.agent.verdict import DEPENDS_ON, judge

from .reports import fixture_names, fixture_report


def no_nvidia_gpu_in_a_venv() -> Report:
    """A laptop with only an Intel GPU, torch in a venv: the issue's "wrong first step"."""
    report = fixture_report("venv_not_conda").model_copy(deep=True)
    report.gpu = GpuPresence(nvidia=False, source="pci", other_devices=["8086:9a49 Intel"])
    report.nvml = NvmlInfo(available=False, error="NVMLError_LibraryNotFound")
    report.torch.cuda_available, report.torch.device_count, report.torch.devices = False, 0, []
    report.correctness, report.bench = [], None
    return report


def test_without_an_nvidia_gpu_the_next_step_is_that_verdict_and_nothing_else_is_asked():
    verdict = judge(no_nvidia_gpu_in_a_venv())
    assert verdict.next_step == "gpu-present"
    assert verdict.summary.startswith("No NVIDIA GPU in this machine (only 8086:9a49 Intel)")
    assert "GPU server" in verdict.next_check().hint
    assert [c.id for c in verdict.checks if c.status == "fail"] == ["gpu-present"]
    for check_id in ("driver-present", "conda-env", "gpu-visible", "cuda-tensor-op"):
        check = verdict.check(check_id)
        assert (check.status, check.blocked_by, check.hint) == ("blocked", "gpu-present", None)
        assert check.summary == "can't be judged until gpu-present passes"
    # A fact that holds stays a pass: this torch is a CUDA build.
    assert verdict.check("torch-cuda-build").status == "pass"


def test_a_missing_driver_comes_before_the_env_which_is_still_judged():
    report = no_nvidia_gpu_in_a_venv()
    report.gpu = GpuPresence(nvidia=True, source="pci", nvidia_devices=["10de:2684"])
    verdict = judge(report)
    assert verdict.next_step == "driver-present"
    assert "ubuntu-drivers" in verdict.next_check().hint
    conda = verdict.check("conda-env")
    assert (conda.status, conda.blocked_by) == ("fail", "driver-present")
    assert conda.hint and "conda create" in conda.hint
    assert verdict.check("gpu-visible").status == "blocked"
    assert verdict.check("platform").blocked_by is None


def test_when_nothing_fails_a_missing_fact_with_a_hint_is_the_next_step():
    report = fixture_report("h100_ok").model_copy(deep=True)
    report.nvml = NvmlInfo(available=False, error="pynvml-missing")
    verdict = judge(report)
    assert verdict.objective_met and verdict.next_step is None
    report.torch.cuda_available, report.torch.device_count, report.torch.devices = False, 0, []
    report.correctness = []
    verdict = judge(report)
    assert not verdict.objective_met
    assert verdict.next_step == "gpu-visible"


def test_a_met_objective_has_no_next_step():
    verdict = judge(fixture_report("h100_ok"))
    assert verdict.objective_met and verdict.next_step is None
    assert verdict.summary == "the conda env runs PyTorch on the GPU"
    assert all(c.blocked_by is None for c in verdict.checks)


def test_the_graph_is_in_root_cause_order_and_only_points_backwards():
    ids = list(DEPENDS_ON)
    for check_id, parents in DEPENDS_ON.items():
        assert all(ids.index(p) < ids.index(check_id) for p in parents), check_id
    chain = ["platform", "gpu-present", "driver-present", "conda-env", "torch-cuda-build"]
    chain += ["arch-supported", "cuda-tensor-op", "gpu-beats-cpu"]
    assert [c for c in ids if c in chain] == chain


@pytest.mark.parametrize("name", fixture_names())
def test_every_verdict_carries_the_graph_and_blocks_only_below_a_failure(name):
    verdict = judge(fixture_report(name))
    ids = [c.id for c in verdict.checks]
    assert ids == [i for i in DEPENDS_ON if i in ids]  # every check is in the graph, in order
    for check in verdict.checks:
        assert all(ids.index(p) < ids.index(check.id) for p in check.depends_on)
        if check.blocked_by:
            root = verdict.check(check.blocked_by)
            assert root.status == "fail" and ids.index(root.id) < ids.index(check.id)
        if check.status == "blocked":
            assert check.blocked_by == verdict.next_step
    if verdict.next_step:
        step = verdict.next_check()
        assert step.blocked_by is None and step.hint
        assert verdict.summary == step.summary
