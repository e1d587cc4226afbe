"""POST /api/v1/reports: strict, idempotent, and judged by the server."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics.agent.worker.protocol import MAX_BODY_BYTES
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


def make_run(student, state=CheckRun.State.QUEUED) -> CheckRun:
    return CheckRun.objects.create(
        student=student, state=state, deadline=timezone.now() + timedelta(minutes=5)
    )


def test_it_stores_the_raw_body_and_answers_with_the_servers_verdict(
    client, student, token, module
):
    body = json.dumps(submission(), indent=2)  # whitespace and all, as received
    response = post_json(client, "/reports", body, token)
    assert response.status_code == 201, response.content
    stored = Report.objects.get()
    assert stored.raw_body == body
    assert stored.student == student
    assert stored.facts["tool_version"] == "test"
    answer = response.json()
    assert answer["objective_met"] is False
    assert any(check["status"] == "fail" for check in answer["verdict"]["checks"])


def test_it_never_trusts_a_verdict_sent_by_the_worker(client, token, module):
    forged = submission(verdict={"objective_met": True, "checks": []})
    response = post_json(client, "/reports", forged, token)
    assert response.status_code == 201
    assert response.json()["objective_met"] is False
    assert Report.objects.get().objective_met is False


def test_it_marks_the_gpu_objective_needs_work_with_a_summary(client, student, token, module):
    post_json(client, "/reports", submission(), token)
    progress = ObjectiveProgress.objects.get(student=student, objective__verifier="gpu-env")
    assert progress.evidence == ObjectiveProgress.Evidence.NEEDS_WORK
    assert progress.evidence_summary
    assert progress.evidence_at is not None
    assert not ObjectiveProgress.objects.exclude(objective__verifier="gpu-env").exists()


def test_a_report_for_a_run_moves_the_run_to_posted(client, student, token, module):
    run = make_run(student, CheckRun.State.RUNNING)
    response = post_json(client, "/reports", submission(run_id=run.pk), token)
    assert response.status_code == 201
    run.refresh_from_db()
    assert run.state == CheckRun.State.POSTED
    assert run.finished_at is not None
    assert Report.objects.get().run == run


def test_a_crashed_probe_fails_the_run_with_its_stderr_tail(client, student, token, module):
    run = make_run(student, CheckRun.State.RUNNING)
    body = submission(run_id=run.pk, outcome="crashed", detail="Segmentation fault (core dumped)")
    assert post_json(client, "/reports", body, token).status_code == 201
    run.refresh_from_db()
    assert (run.state, run.reason) == (CheckRun.State.FAILED, CheckRun.Reason.CRASH)
    assert "Segmentation fault" in run.detail
    # A stub report is no evidence either way.
    assert not ObjectiveProgress.objects.filter(evidence__gt="").exists()


def test_a_replay_returns_the_stored_result_and_stores_nothing_new(client, token, module):
    body = json.dumps(submission())
    first = post_json(client, "/reports", body, token)
    again = post_json(client, "/reports", body, token)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Report.objects.count() == 1


def test_the_same_report_id_with_a_different_body_is_a_conflict(client, token, module):
    report = report_dict()
    post_json(client, "/reports", submission(report), token)
    changed = dict(report, tool_version="other")
    response = post_json(client, "/reports", submission(changed), token)
    assert response.status_code == 409
    assert Report.objects.get().facts["tool_version"] == "test"


def test_another_students_report_id_is_a_conflict_not_a_leak(client, token, other_token, module):
    body = json.dumps(submission())
    post_json(client, "/reports", body, token)
    response = post_json(client, "/reports", body, other_token)
    assert response.status_code == 409
    assert "verdict" not in response.json()


@pytest.mark.parametrize("header", [None, "Token abc", "Bearer", "Bearer ", "Bearer not-a-token"])
def test_it_answers_401_without_a_valid_token(client, header, token):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.post("/api/v1/reports", data="{}", content_type="application/json", **extra)
    assert response.status_code == 401
    assert response.json()["error"]


def test_a_revoked_token_gets_401(client, student, token):
    from diagnostics import services

    services.token_revoke_all(student=student)
    assert post_json(client, "/reports", submission(), token).status_code == 401


def test_a_rotated_token_replaces_the_old_one(client, student, token, module):
    from diagnostics import services

    _, new = services.token_create(student=student)
    assert post_json(client, "/reports", submission(), token).status_code == 401
    assert post_json(client, "/reports", submission(), new).status_code == 201


def test_a_run_of_another_student_is_404_and_nothing_is_stored(
    client, other_student, token, module
):
    theirs = make_run(other_student, CheckRun.State.RUNNING)
    response = post_json(client, "/reports", submission(run_id=theirs.pk), token)
    assert response.status_code == 404
    assert not Report.objects.exists()
    theirs.refresh_from_db()
    assert theirs.state == CheckRun.State.RUNNING


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(client, token):
    response = post_json(client, "/reports", b"{}", token, CONTENT_LENGTH=str(MAX_BODY_BYTES + 1))
    assert response.status_code == 413


def test_an_actual_body_over_the_limit_is_413(client, token):
    report = report_dict(findings=[{"section": "x", "code": "y", "message": "z" * 2000}] * 100)
    body = json.dumps(submission(report)) + " " * MAX_BODY_BYTES
    assert post_json(client, "/reports", body, token).status_code == 413
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"",
        b"[1, 2]",
        b'"a string"',
        b"[" * 5000 + b"]" * 5000,  # deeper than Python's recursion limit
        b'{"report": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_malformed_bodies_are_400(client, token, body):
    response = post_json(client, "/reports", body, token)
    assert response.status_code == 400
    assert response.json()["error"]


def test_a_nul_character_anywhere_is_400_and_nothing_is_stored(client, token):
    # PostgreSQL can't store NUL in text or jsonb: refuse it before it gets there.
    body = json.dumps(submission()).replace('"schema_version": "1"', '"schema_version": "1\\u0000"')
    assert "\\u0000" in body
    response = post_json(client, "/reports", body, token)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert not Report.objects.exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_400(client, token, constant):
    body = json.dumps(submission()).replace('"wall_s": 0.0', f'"wall_s": {constant}')
    body = body.replace(
        '"bench": null', f'"bench": {{"quick": true, "wall_s": {constant}, "results": []}}'
    )
    assert constant in body
    response = post_json(client, "/reports", body, token)
    assert response.status_code == 400
    assert constant in response.json()["detail"]


def test_a_field_error_names_the_field_path(client, token):
    report = report_dict()
    report["host"]["cpu_count"] = -4
    report["surprise"] = 1
    response = post_json(client, "/reports", submission(report), token)
    assert response.status_code == 400
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert "report.host.cpu_count" in fields
    assert "greater than or equal to 0" in fields["report.host.cpu_count"]
    assert "report.surprise" in fields


def test_a_missing_report_is_400_naming_it(client, token):
    response = post_json(client, "/reports", {"run_id": None}, token)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["report"]


def test_an_unknown_schema_version_is_400(client, token):
    response = post_json(client, "/reports", submission(report_dict(schema_version="99")), token)
    assert response.status_code == 400
    assert "schema_version" in response.json()["error"]


def test_a_rejected_report_fails_its_run_with_the_reason(client, student, token):
    run = make_run(student, CheckRun.State.RUNNING)
    report = report_dict()
    report["host"]["cpu_count"] = "many"
    assert (
        post_json(client, "/reports", submission(report, run_id=run.pk), token).status_code == 400
    )
    run.refresh_from_db()
    assert (run.state, run.reason) == (CheckRun.State.FAILED, CheckRun.Reason.REJECTED)
    assert "report.host.cpu_count" in run.detail


def test_it_rate_limits_with_429_and_retry_after(client, token, settings, module):
    settings.DIAGNOSTICS_RATE_LIMIT = 2
    codes = [post_json(client, "/heartbeat", {}, token).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    response = post_json(client, "/heartbeat", {}, token)
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_rate_limit_is_per_token(client, token, other_token, settings):
    settings.DIAGNOSTICS_RATE_LIMIT = 1
    assert post_json(client, "/heartbeat", {}, token).status_code == 200
    assert post_json(client, "/heartbeat", {}, token).status_code == 429
    assert post_json(client, "/heartbeat", {}, other_token).status_code == 200


def test_get_is_not_allowed(client, token):
    response = client.get("/api/v1/reports", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405


def test_implausible_values_are_flagged_not_accepted_silently(client, token, module):
    report = report_dict()
    report["bench"] = {
        "quick": True,
        "wall_s": 1.0,
        "results": [
            {"name": "matmul-fp32", "device": "cpu", "status": "ok", "samples": 5, "median": 9.0e15}
        ],
    }
    response = post_json(client, "/reports", submission(report), token)
    assert response.status_code == 201, response.content
    flags = Report.objects.get().flags
    assert any("beyond any CPU" in flag for flag in flags)
    assert response.json()["flags"] == flags


def test_new_report_ids_are_independent(client, token, module):
    for _ in range(2):
        post_json(client, "/reports", submission(report_dict(report_id=new_uuid())), token)
    assert Report.objects.count() == 2


def test_the_report_received_last_is_the_evidence_whatever_its_clock_says(
    client, student, token, module
):
    h100 = fixture_dict("h100_ok")
    h100["created_at"] = (timezone.now() + timedelta(days=1)).isoformat()  # a clock a day ahead
    assert post_json(client, "/reports", submission(h100), token).json()["objective_met"] is True
    late = report_dict(created_at=(timezone.now() - timedelta(days=1)).isoformat())
    assert post_json(client, "/reports", submission(late), token).status_code == 201
    progress = ObjectiveProgress.objects.get(student=student, objective__verifier="gpu-env")
    assert progress.evidence == ObjectiveProgress.Evidence.NEEDS_WORK
    assert Report.objects.count() == 2


def test_guessing_tokens_is_rate_limited_per_address(client, token, settings):
    settings.DIAGNOSTICS_RATE_LIMIT = 2
    guesses = [
        post_json(client, "/heartbeat", {}, f"trw_guess{i}", REMOTE_ADDR="10.9.8.7").status_code
        for i in range(3)
    ]
    assert guesses == [401, 401, 429]
    # The real token's own budget is untouched by someone else's guessing.
    assert post_json(client, "/heartbeat", {}, token, REMOTE_ADDR="10.9.8.7").status_code == 200
