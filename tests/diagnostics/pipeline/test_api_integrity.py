"""POST /api/v1/reports against a hostile student: clocks, bodies, ids and quotas."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics.models import CheckRun, Report
from learning.models import ObjectiveProgress
from tests.diagnostics.pipeline.helpers import (
    fixture_dict,
    new_uuid,
    post_json,
    report_dict,
    submission,
)

pytestmark = pytest.mark.django_db


def passing(**overrides) -> dict:
    return {**fixture_dict("h100_ok"), "report_id": new_uuid(), **overrides}


def gpu_progress(student) -> ObjectiveProgress:
    return ObjectiveProgress.objects.get(student=student, objective__verifier="gpu-env")


# --- 1. The server's receive time is the authority ---------------------------


@pytest.mark.parametrize(
    "created_at",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999+00:00",
        "0001-01-01T00:00:00Z",
        "2000-01-01T00:00:00Z",
    ],
)
def test_a_created_at_beyond_two_days_is_a_400_naming_the_field(
    client, student, token, module, created_at
):
    run = CheckRun.objects.create(
        student=student, state=CheckRun.State.RUNNING, deadline=timezone.now() + timedelta(hours=1)
    )
    body = submission(passing(created_at=created_at), run_id=run.pk)
    response = post_json(client, "/reports", body, token)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "report.created_at"
    assert "2 days" in response.json()["error"]
    assert not Report.objects.exists()
    run.refresh_from_db()
    assert run.reason == CheckRun.Reason.REJECTED and "created_at" in run.detail
    # A replay is the same clear 400, never a 500 the worker would retry forever.
    assert post_json(client, "/reports", body, token).status_code == 400
    # Every page that reads the student's reports still works.
    client.force_login(student)
    assert client.get("/gpu/").status_code == 200


@pytest.mark.parametrize("created_at", ["2026-12-01T00:00:00", "2026-12-01", "2026-12-01 10:00"])
def test_a_created_at_without_its_offset_is_a_400_naming_the_field(
    client, student, token, module, created_at
):
    """A local time can't be compared with the server's clock: the worker must not
    get a 500, which it would count as the server's fault and resend for ever."""
    response = post_json(client, "/reports", submission(passing(created_at=created_at)), token)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "report.created_at"
    assert "timezone" in response.json()["errors"][0]["message"]
    assert not Report.objects.exists()


@pytest.mark.parametrize("hours", [-47, -3, 0, 3, 47])
def test_a_created_at_within_two_days_is_stored_as_sent_and_reads_back(
    client, student, token, module, hours
):
    sent = (timezone.now() + timedelta(hours=hours)).replace(microsecond=999999)
    body = submission(passing(created_at=sent.isoformat()))
    assert post_json(client, "/reports", body, token).status_code == 201
    report = Report.objects.get()
    assert report.probed_at == sent
    assert abs(report.clock_skew_s - hours * 3600) <= 5
    client.force_login(student)
    page = client.get(f"/gpu/reports/{report.report_id}")
    assert page.status_code == 200
    if abs(hours) >= 1:
        assert f"{abs(hours):.1f} hours {'ahead' if hours > 0 else 'behind'}" in page.text
    else:
        assert 'id="clock-notice"' not in page.text


def test_a_report_from_a_clock_far_ahead_does_not_freeze_the_objective(
    client, student, token, module
):
    ahead = (timezone.now() + timedelta(days=1, hours=23)).isoformat()
    post_json(client, "/reports", submission(report_dict(created_at=ahead)), token)
    assert gpu_progress(student).evidence == ObjectiveProgress.Evidence.NEEDS_WORK
    post_json(client, "/reports", submission(passing()), token)
    assert gpu_progress(student).evidence == ObjectiveProgress.Evidence.VERIFIED


# --- 2. Bodies ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1"])
def test_a_body_that_is_not_utf8_is_a_400(client, token, module, encoding):
    text = json.dumps(submission(report_dict(tool_version="café")), ensure_ascii=False)
    response = post_json(client, "/reports", text.encode(encoding), token)
    assert response.status_code == 400
    assert response.json()["error"] == "the body must be UTF-8"
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        '{"report": %(a)s, "report": %(b)s}',
        '{"run_id": null, "run_id": null, "report": %(a)s}',
    ],
)
def test_a_duplicate_key_is_a_400(client, token, module, body):
    a, b = json.dumps(report_dict()), json.dumps(passing())
    response = post_json(client, "/reports", body % {"a": a, "b": b}, token)
    assert response.status_code == 400
    assert "duplicate key" in response.json()["detail"]
    assert not Report.objects.exists()


def test_a_duplicate_key_deep_inside_the_report_is_a_400_too(client, token, module):
    text = json.dumps(submission(passing())).replace(
        '"driver_version":', '"driver_version": "1", "driver_version":', 1
    )
    response = post_json(client, "/reports", text, token)
    assert response.status_code == 400
    assert "'driver_version'" in response.json()["detail"]


@pytest.mark.parametrize("run_id", ["1", 1.0, True, [1], {"id": 1}])
def test_a_run_id_of_the_wrong_type_is_a_400_not_a_detached_report(
    client, student, token, module, run_id
):
    run = CheckRun.objects.create(
        student=student, state=CheckRun.State.RUNNING, deadline=timezone.now() + timedelta(hours=1)
    )
    response = post_json(client, "/reports", submission(run_id=run_id), token)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "run_id"
    assert not Report.objects.exists()
    assert post_json(client, "/reports", submission(run_id=run.pk), token).status_code == 201
    assert Report.objects.get().run == run


# --- 4. The daily quota ---------------------------------------------------------


def test_past_the_daily_quota_a_report_is_a_429_with_a_message(
    client, student, token, module, settings
):
    settings.DIAGNOSTICS_DAILY_REPORT_QUOTA = 2
    first = submission(report_dict(report_id=new_uuid()))
    for body in (first, submission(report_dict(report_id=new_uuid()))):
        assert post_json(client, "/reports", body, token).status_code == 201
    response = post_json(client, "/reports", submission(report_dict(report_id=new_uuid())), token)
    assert response.status_code == 429
    assert "daily report limit" in response.json()["error"]
    assert 0 < int(response["Retry-After"]) <= 86400 + 1
    # A replay of a stored report still gets its stored answer.
    assert post_json(client, "/reports", first, token).status_code == 200
    # A day later the oldest report no longer counts.
    Report.objects.update(received_at=timezone.now() - timedelta(days=1, seconds=1))
    response = post_json(client, "/reports", submission(report_dict(report_id=new_uuid())), token)
    assert response.status_code == 201
    assert Report.objects.filter(student=student).count() == 3


# --- Findings of perf/api_fuzz.py, fixed ------------------------------------------


def test_a_failed_gpu_matmul_with_no_error_and_no_rel_err_is_judged_not_a_500(
    client, student, token, module
):
    """perf/api_fuzz.py --seed 3247868491: the verdict formatted rel_err None."""
    report = passing()
    report["correctness"] = [
        {"device": "cuda", "dtype": "fp32", "threshold": 1e-4, "ok": False, "rel_err": None}
    ]
    response = post_json(client, "/reports", submission(report), token)
    assert response.status_code == 201, response.content
    failing = [c for c in response.json()["verdict"]["checks"] if c["status"] == "fail"]
    assert any("no relative error recorded" in c["summary"] for c in failing)
    assert gpu_progress(student).evidence == ObjectiveProgress.Evidence.NEEDS_WORK
