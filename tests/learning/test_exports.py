"""Exports: the progress CSV (spreadsheet-safe) and the JSON evidence bundle, both streamed."""

import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from diagnostics.models import Report
from learning.exports import guard
from learning.services.progress import objective_self_assess
from tests.learning.dashboard_data import FAILING, PASSING, add_reports, add_students

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher_client(client, instructor):
    client.force_login(instructor)
    return client


def csv_rows(response) -> list[dict]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        (4, 4),
        (None, ""),
    ],
)
def test_guard_quotes_cells_a_spreadsheet_would_run(value, expected):
    assert guard(value) == expected


def test_the_csv_has_one_row_per_student_and_objective(teacher_client, klass, module, student):
    add_reports(student, FAILING, PASSING)
    objective_self_assess(student=student, objective=module.objectives.get(order=1), confidence=4)
    response = teacher_client.get(reverse("learning:export_csv", args=[klass.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="gpu-course-2025-progress.csv"' == response["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 2 * 3  # two students, three current objectives
    alice = [r for r in rows if r["student"] == "alice"]
    assert [r["state"] for r in alice] == ["not_started", "self_assessed", "not_started"]
    assert alice[1]["confidence"] == "4" and alice[1]["how_verified"] == "self-assessed"
    assert alice[0]["gpu"] == "NVIDIA H100 80GB HBM3"
    assert alice[0]["bf16_tflops"] == "724.0"
    assert alice[0]["torch_build"] == "CUDA 12.4 build"


def test_the_csv_guards_against_formula_injection(teacher_client, klass, module, student):
    get_user_model().objects.filter(pk=student.pk).update(first_name="=cmd|' /C calc'!A0")
    objective_self_assess(
        student=student,
        objective=module.objectives.get(order=1),
        confidence=3,
        reflection='@SUM(1+1)*cmd|" /C calc"!A0\nsecond line, with "quotes"',
    )
    rows = csv_rows(teacher_client.get(reverse("learning:export_csv", args=[klass.pk])))
    alice = [r for r in rows if r["student"] == "alice"]
    assert alice[0]["name"] == "'=cmd|' /C calc'!A0"
    assert alice[1]["reflection"] == '\'@SUM(1+1)*cmd|" /C calc"!A0\nsecond line, with "quotes"'


def test_the_json_bundle_holds_progress_and_raw_reports(teacher_client, klass, module, student):
    add_reports(student, FAILING, PASSING)
    objective_self_assess(student=student, objective=module.objectives.get(order=1), confidence=4)
    response = teacher_client.get(reverse("learning:export_json", args=[klass.pk]))
    assert response.streaming
    bundle = json.loads(b"".join(response.streaming_content))
    assert bundle["class"]["name"] == "GPU course 2025"
    assert len(bundle["objectives"]) == 3
    by_name = {s["username"]: s for s in bundle["students"]}
    assert set(by_name) == {"alice", "bob"}
    alice = by_name["alice"]
    assert [p["confidence"] for p in alice["progress"]] == [4]
    assert [r["objective_met"] for r in alice["reports"]] == [False, True]
    stored = Report.objects.filter(student=student).order_by("received_at")
    assert [r["raw_body"] for r in alice["reports"]] == [r.raw_body for r in stored]
    assert by_name["bob"]["reports"] == []


def test_exports_read_in_batches_not_the_whole_class(teacher_client, klass, module, monkeypatch):
    from learning import exports

    monkeypatch.setattr(exports, "BATCH", 10)
    for s in add_students(klass, 25):
        add_reports(s, PASSING)
    for name in ("export_csv", "export_json"):
        with CaptureQueriesContext(connection) as ctx:
            response = teacher_client.get(reverse(f"learning:{name}", args=[klass.pk]))
            chunks = list(response.streaming_content)
        # 27 students in batches of 10: three batches, each yielding its own chunk.
        assert len(chunks) >= 4
        assert len(ctx.captured_queries) < 25
    rows = csv_rows(teacher_client.get(reverse("learning:export_csv", args=[klass.pk])))
    assert len(rows) == 27 * 3
