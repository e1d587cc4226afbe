"""Forged evidence: stored, never verified; the objective needs review, for both sides of a copy."""

import copy

import pytest

from diagnostics.agent.report import Report as ProbeReport
from diagnostics.models import Report
from diagnostics.plausibility import CEILINGS, plausibility_flags
from learning.models import ObjectiveProgress, Status
from tests.diagnostics.pipeline.helpers import fixture_dict, new_uuid, post_json, submission

pytestmark = pytest.mark.django_db


def h100(**changes) -> dict:
    report = copy.deepcopy(fixture_dict("h100_ok"))
    report["report_id"] = new_uuid()
    return report


def gpu_status(student) -> str:
    return ObjectiveProgress.objects.get(student=student, objective__verifier="gpu-env").status


def test_the_real_h100_report_verifies(client, student, token, module):
    answer = post_json(client, "/reports", submission(h100()), token).json()
    assert answer["objective_met"] is True and answer["flags"] == []
    assert gpu_status(student) == Status.VERIFIED


def _set(report: dict, path: str, value) -> dict:
    *parents, leaf = path.split(".")
    node = report
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(leaf) if leaf.isdigit() else leaf] = value
    return report


FORGERIES = {
    "2^62 °C": ("nvml.devices.0.temperature_c", 2**62, "temperature"),
    "1e308 W": ("nvml.devices.0.power_limit_w", 1e308, "power limit"),
    "4 EiB of VRAM (NVML)": ("nvml.devices.0.memory_total", 4 * 2**60, "memory"),
    "4 EiB of VRAM (torch)": ("torch.devices.0.total_memory", 4 * 2**60, "memory"),
    "2^62 SMs": ("torch.devices.0.sm_count", 2**62, "SM count"),
    "a 10 GHz clock": ("nvml.devices.0.max_sm_clock_mhz", 10_000, "SM clock"),
    "compute capability 8.0 in NVML, 9.0 in torch": (
        "nvml.devices.0.compute_capability",
        "8.0",
        "compute capability",
    ),
    "NVML names another GPU": ("nvml.devices.0.name", "NVIDIA A100", "A100"),
    "9 PFLOP/s fp32": ("bench.results.0.median", 9e15, "matmul-fp32"),
    "a correct fp16 matmul with zero error": ("correctness.3.rel_err", 0.0, "exact"),
    "ok although the error is over its threshold": ("correctness.1.rel_err", 0.5, "threshold"),
}


@pytest.mark.parametrize("name", FORGERIES)
def test_an_impossible_figure_is_stored_but_needs_review(client, student, token, module, name):
    path, value, words = FORGERIES[name]
    report = _set(h100(), path, value)
    response = post_json(client, "/reports", submission(report), token)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["objective_met"] is False and answer["needs_review"] is True
    assert any(words in flag for flag in answer["flags"]), answer["flags"]
    assert Report.objects.get().objective_met is False
    assert gpu_status(student) == Status.NEEDS_REVIEW


def test_9_pflops_with_no_nvml_data_needs_review(client, student, token, module):
    report = h100()
    report["nvml"] = {"available": False, "error": "NVMLError_LibraryNotFound"}
    report["bench"]["results"][0]["median"] = 9e15
    answer = post_json(client, "/reports", submission(report), token).json()
    assert answer["needs_review"] is True
    assert gpu_status(student) == Status.NEEDS_REVIEW


def test_a_hand_written_report_needs_review(client, student, token, module):
    typed = {
        "host": {"system": "Linux"},
        "env": {"kind": "conda", "prefix": "/x", "conda_env_name": "t"},
        "python": {"version": "3.11.9"},
        "torch": {
            "importable": True,
            "version": "2.5.1",
            "cuda": "12.4",
            "cuda_available": True,
            "device_count": 1,
            "devices": [{"index": 0, "name": "NVIDIA H100", "major": 9, "minor": 0}],
        },
        "nvml": {
            "available": True,
            "driver_version": "550.54",
            "cuda_driver_version": "12.4",
            "devices": [{"index": 0, "name": "NVIDIA H100"}],
        },
        "correctness": [
            {"device": "cuda", "dtype": "fp32", "threshold": 1e-4, "ok": True, "rel_err": 1e-7}
        ],
    }
    answer = post_json(client, "/reports", submission(typed), token).json()
    assert answer["verdict"]["objective_met"] is True  # the checks alone would pass it
    assert answer["objective_met"] is False and answer["needs_review"] is True
    assert "missing what the probe always records" in answer["flags"][0]
    assert gpu_status(student) == Status.NEEDS_REVIEW


def test_a_copy_of_another_students_report_puts_both_under_review(
    client, student, other_student, token, other_token, module
):
    original = h100()
    assert post_json(client, "/reports", submission(original), token).json()["objective_met"]
    assert gpu_status(student) == Status.VERIFIED
    copied = {**copy.deepcopy(original), "report_id": new_uuid()}
    answer = post_json(client, "/reports", submission(copied), other_token).json()
    assert answer["needs_review"] is True
    assert student.username in answer["flags"][-1]
    assert gpu_status(other_student) == Status.NEEDS_REVIEW
    # The first student's evidence is held for review too, with the other name on it.
    assert gpu_status(student) == Status.NEEDS_REVIEW
    first = Report.objects.get(report_id=original["report_id"])
    assert other_student.username in first.flags[-1] and first.objective_met is False


def test_the_same_gpu_from_two_students_puts_both_under_review(
    client, student, other_student, token, other_token, module
):
    post_json(client, "/reports", submission(h100()), token)
    mine = h100()
    for result in mine["bench"]["results"]:
        result["median"] *= 0.97  # another run: other figures, the same GPU UUID
    answer = post_json(client, "/reports", submission(mine), other_token).json()
    assert answer["needs_review"] is True
    assert gpu_status(other_student) == gpu_status(student) == Status.NEEDS_REVIEW


def test_the_same_student_may_send_the_same_gpu_again(client, student, token, module):
    for _ in range(2):
        assert post_json(client, "/reports", submission(h100()), token).json()["objective_met"]
    assert gpu_status(student) == Status.VERIFIED


def test_a_failing_report_with_flags_stays_needs_work(client, student, token, module):
    report = _set(h100(), "torch.cuda_available", False)
    answer = post_json(client, "/reports", submission(report), token).json()
    assert answer["flags"] and answer["needs_review"] is True
    assert gpu_status(student) == Status.NEEDS_WORK


def test_every_ceiling_row_names_its_source_and_date_and_matches_the_peak_formula():
    from diagnostics.agent.bench.peak import FLOP_PER_CLOCK_PER_SM

    for capability, row in CEILINGS.items():
        assert row.source and row.checked, capability
        for dtype, tflops in row.tflops.items():
            per_sm = FLOP_PER_CLOCK_PER_SM[capability][dtype]
            formula = row.sm_count * row.sm_clock_mhz * 1e6 * per_sm / 1e12
            assert tflops == pytest.approx(formula, rel=0.02), (capability, dtype)


def test_no_recorded_fixture_is_flagged():
    from tests.diagnostics.pipeline.helpers import FIXTURES

    for path in FIXTURES.rglob("*.json"):
        report = ProbeReport.model_validate_json(path.read_text())
        assert plausibility_flags(report) == [], path.name


def test_the_student_and_the_instructor_see_needs_review(
    client, student, other_student, token, instructor, klass, module
):
    post_json(
        client, "/reports", submission(_set(h100(), "torch.devices.0.sm_count", 2**62)), token
    )
    client.force_login(student)
    page = client.get(f"/modules/{module.slug}/").text
    assert "Needs review" in page
    report = Report.objects.get()
    detail = client.get(f"/gpu/reports/{report.report_id}").text
    assert 'id="review-notice"' in detail and "SM count" in detail
    client.force_login(instructor)
    dashboard = client.get(f"/teach/{klass.pk}/?module={module.slug}").text
    assert "cell--needs_review" in dashboard
    assert "verdict--review" in dashboard  # the latest report column says so too
    stuck = dashboard[dashboard.index('id="stuck"') :]
    assert "Evidence needs your review" in stuck and student.username in stuck
    assert f"state={Status.NEEDS_REVIEW.value}" in stuck
    filtered = client.get(f"/teach/{klass.pk}/?module={module.slug}&state=needs_review").text
    assert (
        student.username in filtered
        and other_student.username not in filtered.split('id="stuck"')[0]
    )
