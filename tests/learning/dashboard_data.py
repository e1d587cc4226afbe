"""Realistic class data for the dashboard tests and bench: reports from the recorded fixtures."""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from django.utils import timezone

from diagnostics.models import Report
from diagnostics.summary import report_summary

FIXTURES = Path(__file__).resolve().parents[1] / "diagnostics" / "fixtures"
PASSING = "h100_ok"
FAILING = "conda_cpuonly"


@lru_cache
def judged(name: str) -> tuple[dict, dict, bool]:
    """A fixture's facts, with the server's verdict on it."""
    from diagnostics.agent.report import Report as ProbeReport
    from diagnostics.services import judge_report

    probe = ProbeReport.model_validate_json((FIXTURES / f"{name}.json").read_text())
    verdict, met = judge_report(probe)
    return probe.model_dump(mode="json"), verdict, met


def report_row(student, name: str = PASSING, *, at: datetime | None = None) -> Report:
    """An unsaved Report as the API would have stored it; `at` is when it arrived."""
    facts, verdict, met = judged(name)
    report_id = str(uuid.uuid4())
    facts = {**facts, "report_id": report_id}
    raw = json.dumps(facts)
    at = at or timezone.now()
    return Report(
        report_id=report_id,
        student=student,
        received_at=at,
        raw_gz=zlib.compress(raw.encode()),
        body_sha256=hashlib.sha256(raw.encode()).hexdigest(),
        schema_version="1",
        probed_at=at,
        verdict=verdict,
        objective_met=met,
        summary=report_summary(facts, verdict),
    )


def add_reports(student, *names: str, start: datetime | None = None) -> list[Report]:
    """Store reports one hour apart, oldest first (received_at is auto_now_add, so set it after)."""
    start = start or timezone.now() - timedelta(hours=len(names))
    reports = Report.objects.bulk_create(report_row(student, n) for n in names)
    for i, report in enumerate(reports):
        report.received_at = report.probed_at = start + timedelta(hours=i)
        Report.objects.filter(pk=report.pk).update(
            received_at=report.received_at, probed_at=report.probed_at
        )
    return reports


def add_students(klass, count: int, *, prefix: str = "s") -> list:
    """Students without passwords, in one insert: hashing passwords would dominate the tests."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    start = klass.students.count()
    users = User.objects.bulk_create(
        User(username=f"{prefix}{i:04}") for i in range(start, start + count)
    )
    klass.students.add(*users)
    return users
