"""services.report_receive owns idempotency: (report, created), or ReportConflict."""

import hashlib
import json

import pytest
from django.utils import timezone

from diagnostics import services
from diagnostics.agent.report import Report as ProbeReport
from diagnostics.models import Report, WorkerToken
from learning.models import ObjectiveProgress
from tests.diagnostics.pipeline.helpers import report_dict

pytestmark = pytest.mark.django_db


def receive(token: str, facts: dict) -> tuple[Report, bool]:
    raw = json.dumps(facts)
    probe = ProbeReport.model_validate(facts)
    data = services.ReportInput(
        report_id=str(probe.report_id),
        raw_body=raw.encode(),
        body_sha256=hashlib.sha256(raw.encode()).hexdigest(),
        schema_version=probe.schema_version,
        probed_at=probe.created_at,
        received_at=timezone.now(),
        clock_skew_s=0,
        facts=probe.model_dump(mode="json"),
        run=None,
        outcome="completed",
        detail="",
    )
    stored = WorkerToken.objects.get(token_hash=services.hash_token(token))
    return services.report_receive(token=stored, data=data, report=probe)


def test_the_first_receipt_creates_the_report_and_applies_its_evidence(token, student, module):
    report, created = receive(token, report_dict())
    assert created
    assert report.student == student
    progress = ObjectiveProgress.objects.get(student=student)
    assert (progress.evidence, progress.objective.verifier) == ("needs_work", "gpu-env")


def test_a_replay_returns_the_stored_report_and_stores_nothing_new(token, module):
    facts = report_dict()
    first, _ = receive(token, facts)
    again, created = receive(token, facts)
    assert not created
    assert again.pk == first.pk
    assert Report.objects.count() == 1


def test_another_body_with_the_same_report_id_raises_a_conflict(token, module):
    facts = report_dict()
    receive(token, facts)
    with pytest.raises(services.ReportConflict, match="different report"):
        receive(token, {**facts, "tool_version": "other"})
    assert Report.objects.get().facts["tool_version"] == "test"


def test_another_students_replay_raises_a_conflict(token, other_token, module):
    facts = report_dict()
    receive(token, facts)
    with pytest.raises(services.ReportConflict):
        receive(other_token, facts)
    assert Report.objects.count() == 1
