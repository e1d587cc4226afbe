"""A class's progress as CSV and its evidence as JSON, streamed in constant memory.

Students are read through a server-side iterator and handled a batch at a
time: each batch brings its progress rows and report facts with it, so the
memory an export needs does not grow with the class.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Iterator
from datetime import datetime
from itertools import groupby, islice
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from diagnostics.models import Report
from learning.dashboard import GpuSummary, class_modules, latest_report_summaries
from learning.models import Klass, Objective, ObjectiveProgress, Status, status_of

BATCH = 200
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = [
    "student",
    "name",
    "module",
    "objective",
    "verifier",
    "state",
    "confidence",
    "self_assessed_at",
    "how_verified",
    "evidence_at",
    "evidence_summary",
    "review",
    "reviewed_by",
    "reviewed_at",
    "review_comment",
    "reflection",
    "gpu",
    "vram_gib",
    "driver",
    "torch",
    "torch_build",
    "bf16_tflops",
    "fp32_tflops",
    "report_id",
    "report_received_at",
]
PROGRESS_FIELDS = (
    "student_id",
    "objective_id",
    "confidence",
    "reflection",
    "self_assessed_at",
    "evidence",
    "evidence_at",
    "evidence_summary",
    "review",
    "review_comment",
    "reviewed_by__username",
    "reviewed_at",
)


def guard(value) -> object:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _objectives(klass: Klass) -> list[Objective]:
    return list(
        Objective.objects.filter(module__in=class_modules(klass=klass), archived_at__isnull=True)
        .select_related("module")
        .order_by("module__sort", "module__title", "order")
    )


def _student_batches(klass: Klass) -> Iterator[list[dict]]:
    latest = Report.objects.filter(student=OuterRef("pk"), outcome="completed").order_by(
        "-received_at"
    )
    students = (
        klass.students.order_by("username", "pk")
        .annotate(latest_report=Subquery(latest.values("pk")[:1]))
        .values("pk", "username", "first_name", "last_name", "latest_report")
        .iterator(chunk_size=BATCH)
    )
    while batch := list(islice(students, BATCH)):
        yield batch


def _progress(batch: list[dict], objectives: list[Objective]) -> dict[tuple[int, int], dict]:
    rows = ObjectiveProgress.objects.filter(
        student__in=[s["pk"] for s in batch], objective__in=objectives
    ).values(*PROGRESS_FIELDS)
    return {(r["student_id"], r["objective_id"]): r for r in rows}


def _state(p: dict | None) -> Status:
    if not p:
        return Status.NOT_STARTED
    returned = p["review"] == ObjectiveProgress.Review.RETURNED and bool(
        p["reviewed_at"] and p["self_assessed_at"] and p["reviewed_at"] >= p["self_assessed_at"]
    )
    return status_of(
        evidence=p["evidence"], self_assessed=p["self_assessed_at"] is not None, returned=returned
    )


def _how_verified(p: dict | None, objective: Objective) -> str:
    state = _state(p)
    p = p or {}
    if state == Status.VERIFIED:
        return f"evidence: {objective.verifier or 'check'} passed"
    if state == Status.NEEDS_WORK:
        how = f"evidence: {objective.verifier or 'check'} failed"
        return how + (" (self-assessed before)" if p.get("self_assessed_at") else "")
    if state == Status.RETURNED:
        return f"self-assessed, returned by {p['reviewed_by__username']}"
    if state == Status.SELF_ASSESSED:
        review = f", {p['review']} by {p['reviewed_by__username']}" if p.get("review") else ""
        return "self-assessed" + review
    return ""


def _name(s: dict) -> str:
    return f"{s['first_name']} {s['last_name']}".strip()


def _csv_row(s: dict, o: Objective, p: dict | None, gpu: GpuSummary | None) -> list:
    p_ = p or {}
    return [
        s["username"],
        _name(s),
        o.module.title,
        o.text,
        o.verifier,
        _state(p).value,
        p_.get("confidence") if p_.get("self_assessed_at") else None,
        p_.get("self_assessed_at"),
        _how_verified(p, o),
        p_.get("evidence_at"),
        p_.get("evidence_summary"),
        p_.get("review"),
        p_.get("reviewed_by__username"),
        p_.get("reviewed_at"),
        p_.get("review_comment"),
        p_.get("reflection"),
        gpu and gpu.gpu,
        gpu and gpu.vram_gib,
        gpu and gpu.driver,
        gpu and gpu.torch,
        gpu and gpu.build,
        gpu and gpu.bf16 and round(gpu.bf16.tflops, 1),
        gpu and gpu.fp32 and round(gpu.fp32.tflops, 1),
        gpu and gpu.report_id,
        gpu and gpu.received_at,
    ]


def progress_csv(*, klass: Klass) -> Iterator[str]:
    """One row per student × objective. Starts with a UTF-8 BOM so spreadsheets read UTF-8."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)
    objectives = _objectives(klass)
    for batch in _student_batches(klass):
        progress = _progress(batch, objectives)
        reports = latest_report_summaries([s["latest_report"] for s in batch if s["latest_report"]])
        lines = []
        for s in batch:
            gpu = reports.get(s["latest_report"])
            for o in objectives:
                row = _csv_row(s, o, progress.get((s["pk"], o.pk)), gpu)
                lines.append(writer.writerow([guard(v) for v in row]))
        yield "".join(lines)


def _json(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def _reports_by_student(batch: list[dict]) -> Iterator[tuple[int, Iterator[Any]]]:
    reports = (
        Report.objects.filter(student__in=[s["pk"] for s in batch])
        .order_by("student__username", "student_id", "received_at")
        .values(
            "student_id",
            "report_id",
            "received_at",
            "probed_at",
            "outcome",
            "schema_version",
            "objective_met",
            "verdict",
            "flags",
            "clock_skew_s",
            "pruned_at",
            "raw_gz",
        )
        .iterator(chunk_size=50)
    )
    return groupby(map(_with_raw_body, reports), key=lambda r: r["student_id"])


def _with_raw_body(row: Any) -> dict:
    """The stored body is compressed; the bundle carries it as posted (null once pruned)."""
    raw = row.pop("raw_gz")
    row["raw_body"] = zlib.decompress(bytes(raw)).decode() if raw is not None else None
    return row


def evidence_json(*, klass: Klass) -> Iterator[str]:
    """The class's evidence bundle: progress per student and every report as received.

    `raw_body` is each report exactly as the worker posted it; `verdict` is the
    server's own judgement of it.
    """
    objectives = _objectives(klass)
    head = {
        "class": {"id": klass.pk, "name": klass.name},
        "generated_at": timezone.now(),
        "objectives": [
            {"id": o.pk, "module": o.module.slug, "text": o.text, "verifier": o.verifier}
            for o in objectives
        ],
    }
    yield _json(head)[:-1] + ', "students": ['
    first = True
    for batch in _student_batches(klass):
        progress = _progress(batch, objectives)
        reports = _reports_by_student(batch)
        pending = next(reports, None)
        for s in batch:
            student_reports = []
            if pending and pending[0] == s["pk"]:
                student_reports = [
                    {k: v for k, v in r.items() if k != "student_id"} for r in pending[1]
                ]
                pending = next(reports, None)
            entry = {
                "username": s["username"],
                "name": _name(s),
                "progress": [
                    {k: v for k, v in p.items() if k != "student_id"}
                    for o in objectives
                    if (p := progress.get((s["pk"], o.pk)))
                ],
                "reports": student_reports,
            }
            yield ("" if first else ",") + "\n" + _json(entry)
            first = False
    yield "\n]}\n"
