"""Storage: raw bodies compressed, and old ones reduced to their summary by beat's task."""

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from diagnostics import services, tasks
from diagnostics.models import Report
from tests.diagnostics.pipeline.helpers import fixture_dict, new_uuid, post_json, submission

pytestmark = pytest.mark.django_db


def post_reports(client, token, count: int, name: str = "torch_missing") -> list[Report]:
    ids = []
    for _ in range(count):
        body = submission({**fixture_dict(name), "report_id": new_uuid()})
        assert post_json(client, "/reports", body, token).status_code == 201
        ids.append(body["report"]["report_id"])
    return list(Report.objects.filter(report_id__in=ids).order_by("pk"))


def age(reports: list[Report]) -> None:
    """Spread one student's reports over the past days, one a day, the newest still the
    evidence (its objectives' evidence_at moves with it)."""
    from learning.models import ObjectiveProgress

    now = timezone.now()
    for i, report in enumerate(reversed(reports)):
        Report.objects.filter(pk=report.pk).update(received_at=now - timedelta(days=i))
    ObjectiveProgress.objects.filter(student=reports[0].student_id).update(evidence_at=now)


def test_the_raw_body_is_stored_compressed_and_read_back_exactly(client, token, module):
    body = json.dumps(submission(fixture_dict("h100_ok")), indent=2)
    post_json(client, "/reports", body, token)
    report = Report.objects.get()
    assert report.raw_body == body
    assert len(bytes(report.raw_gz)) < len(body) / 4


def test_the_prune_keeps_each_students_newest_bodies(
    client, student, other_student, token, other_token, module
):
    mine = post_reports(client, token, 5)
    theirs = post_reports(client, other_token, 2)
    age(mine)
    age(theirs)
    assert services.reports_prune(keep=2) == 3
    kept = Report.objects.filter(student=student, pruned_at__isnull=True)
    assert {r.pk for r in kept} == {r.pk for r in mine[-2:]}
    for report in Report.objects.filter(pruned_at__isnull=False):
        assert report.raw_gz is None and report.facts == {} and report.verdict == {}
        assert report.summary["failing"]  # the summary stays, for the dashboard
    assert not Report.objects.filter(student=other_student, pruned_at__isnull=False).exists()
    assert services.reports_prune(keep=2) == 0  # idempotent


def test_a_report_still_in_use_as_evidence_keeps_its_body(client, student, token, module):
    from learning.models import ObjectiveProgress

    reports = post_reports(client, token, 3)
    age(reports)
    # The oldest is still the evidence: as if the newer ones were crashed probes.
    oldest = Report.objects.get(pk=reports[0].pk)
    ObjectiveProgress.objects.filter(student=student).update(evidence_at=oldest.received_at)
    assert services.reports_prune(keep=1) == 1
    assert Report.objects.get(pk=oldest.pk).raw_gz is not None
    assert Report.objects.get(pk=reports[1].pk).pruned_at is not None


def test_a_pruned_report_page_says_only_its_summary_is_kept(client, student, token, module):
    age(post_reports(client, token, 2))
    services.reports_prune(keep=1)
    report = Report.objects.get(pruned_at__isnull=False)
    client.force_login(student)
    page = client.get(f"/gpu/reports/{report.report_id}")
    assert page.status_code == 200
    assert 'id="pruned-notice"' in page.text


def test_beat_runs_the_prune_hourly(client, token, module, settings):
    entry = django_settings.CELERY_BEAT_SCHEDULE["diagnostics-prune-reports"]
    assert entry == {"task": "diagnostics.prune_reports", "schedule": 3600.0}
    settings.DIAGNOSTICS_KEEP_RAW_REPORTS = 1
    age(post_reports(client, token, 3))
    assert tasks.prune_reports.apply().get() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_compresses_bodies_and_resets_impossible_probe_times(student):
    """0006-0008 on reports stored before them: bodies compressed, skew and fingerprints filled,
    and a created_at years off (which broke every read on PostgreSQL) set to the receive time."""
    import hashlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        ("diagnostics", "0005_issue10_run_attempts"),
        (
            "diagnostics",
            "0008_issue11_store_once",
        ),
    )
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        old = executor.loader.project_state([before]).apps.get_model("diagnostics", "Report")
        facts = fixture_dict("h100_ok")
        body = json.dumps({"report": facts})
        now = timezone.now()
        for probed_at in (now - timedelta(hours=3), now + timedelta(days=3650)):
            old.objects.create(
                report_id=new_uuid(),
                student_id=student.pk,
                raw_body=body,
                body_sha256=hashlib.sha256(body.encode()).hexdigest(),
                schema_version="1",
                probed_at=probed_at,
                facts=facts,
                verdict={},
                objective_met=True,
                response={},
            )
        executor.loader.build_graph()
        executor.migrate([after])
        reports = list(Report.objects.order_by("pk"))
        assert [r.raw_body for r in reports] == [body, body]
        assert round(reports[0].clock_skew_s / 3600) == -3
        assert reports[1].probed_at == reports[1].received_at and reports[1].clock_skew_s == 0
        assert reports[0].gpu_uuid_hash and reports[0].bench_hash
        assert reports[0].facts["nvml"]["devices"][0]["name"].startswith("NVIDIA H100")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
