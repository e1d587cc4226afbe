"""A report's dashboard summary: written when the report is stored, backfilled for older ones."""

import importlib
import json
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from diagnostics.models import Report
from diagnostics.summary import report_summary
from tests.diagnostics.pipeline.helpers import fixture_dict, post_json, report_dict, submission
from tests.learning.dashboard_data import add_reports

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BEFORE, AFTER = (
    ("diagnostics", "0003_report_student_probed_at_index"),
    ("diagnostics", "0004_report_summary"),
)
backfill_summaries = importlib.import_module(
    "diagnostics.migrations.0004_report_summary"
).backfill_summaries


@pytest.mark.django_db
def test_ingest_writes_the_summary_of_a_passing_report(client, token, module):
    h100 = fixture_dict("h100_ok")
    assert post_json(client, "/reports", submission(h100), token).status_code == 201
    report = Report.objects.get()
    assert report.summary == report_summary(report.facts, report.verdict)
    assert report.summary["gpu"].startswith("NVIDIA H100")
    assert report.summary["vram_gib"] and report.summary["driver"] and report.summary["torch"]
    assert report.summary["build"].startswith("CUDA ")
    assert report.summary["bf16"]["tflops"] > 100 and report.summary["bf16"]["pct_of_peak"]
    assert report.summary["failing"] == []
    # A few hundred bytes, not the kilobytes of facts and verdict it stands for.
    assert len(json.dumps(report.summary)) < len(json.dumps(report.facts)) / 4


@pytest.mark.django_db
def test_ingest_writes_the_failing_checks_with_their_hints(client, token, module):
    assert post_json(client, "/reports", submission(report_dict()), token).status_code == 201
    report = Report.objects.get()
    failing = [c for c in report.verdict["checks"] if c["status"] == "fail"]
    assert failing
    assert report.summary["failing"] == [
        {"id": c["id"], "summary": c.get("summary") or "", "hint": c.get("hint") or ""}
        for c in failing
    ]
    assert report.summary["gpu"] == "no GPU found" and report.summary["bf16"] is None


@pytest.mark.django_db(transaction=True)
def test_migrating_forward_fills_in_existing_reports(student):
    """The real migration, from the schema before the field to the one with it."""
    add_reports(student, "h100_ok", "torch_missing")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([BEFORE])
        executor.loader.build_graph()
        executor.migrate([AFTER])
        # The model as it was at that migration (later ones change the table).
        then = executor.loader.project_state([AFTER]).apps.get_model("diagnostics", "Report")
        for report in then.objects.all():
            assert report.summary == report_summary(report.facts, report.verdict)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
