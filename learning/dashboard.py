"""Reads for the instructor's class dashboard.

`class_snapshot` reads a whole class in a fixed number of queries, whatever its
size: the students with their last activity and worker heartbeat, their
progress on one module, the key facts of each student's latest report (pulled
out of the stored JSON by the database, not whole reports), and since when each
failing student has been stuck. Filtering, sorting, grouping and the chart data
are then plain Python over those rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import Report, WorkerToken
from diagnostics.report_view import report_changes
from learning.models import (
    Klass,
    Module,
    Objective,
    ObjectiveProgress,
    ResourceProgress,
    Status,
    StudentActivity,
    status_of,
)
from learning.selectors import objective_rows

# The state filter: students with at least one objective in that status.
STATES = dict(Status.choices)
SORTS = {
    "name": "Name",
    "progress": "Least progress first",
    "-progress": "Most progress first",
    "activity": "Recently active first",
    "inactive": "Longest inactive first",
    "stuck": "Stuck longest first",
    "gpu": "GPU model",
}
NO_GPU = "(no report yet)"
EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


@dataclass(frozen=True)
class Bench:
    tflops: float
    pct_of_peak: float | None


@dataclass(frozen=True)
class Failing:
    check_id: str
    summary: str
    hint: str


@dataclass(frozen=True)
class GpuSummary:
    report_id: str
    received_at: datetime
    objective_met: bool
    gpu: str
    vram_gib: float | None
    driver: str
    torch: str
    build: str
    bf16: Bench | None
    fp32: Bench | None
    failing: tuple[Failing, ...]
    # Passing checks, but flagged as implausible or copied: not verified (issue 11).
    needs_review: bool = False


@dataclass(frozen=True)
class Cell:
    objective_id: int
    status: Status
    confidence: int | None = None
    confirmed: bool = False
    contradicted: bool = False


@dataclass
class StudentRow:
    user_id: int
    username: str
    name: str
    cells: list[Cell]
    last_activity: datetime | None
    last_seen: datetime | None
    online: bool
    gpu: GpuSummary | None
    stuck_since: datetime | None
    url: str = ""  # the drill-down page

    @property
    def done(self) -> int:
        return sum(c.status.done for c in self.cells)

    @property
    def pct(self) -> int:
        return round(100 * self.done / len(self.cells)) if self.cells else 0

    @property
    def states(self) -> set[str]:
        return {c.status for c in self.cells}

    @property
    def contradicted(self) -> bool:
        return any(c.contradicted for c in self.cells)

    @property
    def gpu_name(self) -> str:
        return self.gpu.gpu if self.gpu else NO_GPU


@dataclass
class ClassSnapshot:
    klass: Klass
    modules: list[Module]
    module: Module | None
    objectives: list[Objective]
    students: list[StudentRow] = field(default_factory=list)

    def check_ids(self) -> list[str]:
        return sorted({f.check_id for s in self.students if s.gpu for f in s.gpu.failing})

    def gpu_models(self) -> list[str]:
        return sorted({s.gpu_name for s in self.students})


@dataclass
class Filters:
    state: str = ""
    check: str = ""
    gpu: str = ""
    contradicted: bool = False
    q: str = ""
    sort: str = "name"


@dataclass
class StuckGroup:
    check_id: str
    summary: str
    students: list[StudentRow]
    hints: list[tuple[str, int]]


# --- Who may see what ---------------------------------------------------------


def classes_taught(*, user: User) -> QuerySet[Klass]:
    return Klass.objects.filter(instructors=user).annotate(
        n_students=Count("students", distinct=True)
    )


def class_for_instructor(*, user: User, class_id: int) -> Klass | None:
    """The class, if the user is one of its instructors; else None (the view's 404)."""
    return Klass.objects.filter(pk=class_id, instructors=user).first()


def student_in_class(*, klass: Klass, user_id: int) -> User | None:
    return klass.students.filter(pk=user_id).first()


def class_modules(*, klass: Klass) -> list[Module]:
    """The class's modules that have objectives: those it picks, or all when it picks none."""
    picked = Klass.modules.through.objects.filter(klass_id=klass.pk)
    return list(
        Module.objects.filter(archived_at__isnull=True)
        .filter(Q(pk__in=picked.values("module_id")) | ~Exists(picked))
        .annotate(n_objectives=Count("objectives", filter=Q(objectives__archived_at__isnull=True)))
        .filter(n_objectives__gt=0)
    )


# --- Has the live region changed? -------------------------------------------------


def live_version(*, user: User, class_id: int, query: str) -> str | None:
    """A version of the dashboard's live region, from data, in one aggregate query;
    None if the user does not teach the class (the view's 404).

    Whether the user teaches the class; the members, with their active worker
    token, who is online, and their activity counts (StudentActivity, which the
    services that write progress, resources done and reports count up); the
    class's modules and the objectives. With the query string (filters, page)
    and the current minute, for the "5 minutes ago" texts and as the backstop
    for a write no service made (the admin): it shows within a minute. An
    unchanged version lets the poll answer 204 without building the snapshot.
    """
    online_since = timezone.now() - timedelta(seconds=3 * settings.DIAGNOSTICS_HEARTBEAT_INTERVAL)
    params = {
        "klass": class_id,
        "user": user.pk,
        # As the ORM stores it on this backend (SQLite compares text).
        "online_since": connection.ops.adapt_datetimefield_value(online_since),
    }
    with connection.cursor() as cursor:
        cursor.execute(_version_sql(), params)
        teaches, *row = cursor.fetchone()
    if not teaches:
        return None
    minute = timezone.now().replace(second=0, microsecond=0)
    stamp = repr((query, minute.isoformat(), row))
    return hashlib.sha256(stamp.encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _version_sql() -> str:
    """The version query: whether the user teaches the class, then one scalar
    subquery a table, "count,sum" each: a row added or removed changes both.

    Raw SQL because the ORM spent several times the query's own time compiling
    the subqueries on every poll; table names come from the models.
    """

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    teaches = (
        f"SELECT count(*) FROM {table(Klass.instructors.through)} "
        "WHERE klass_id = %(klass)s AND user_id = %(user)s"
    )
    # The members, each with their activity count and their active worker token if
    # any (one at most), and which of those were seen within the online window.
    members = (
        "CAST(count(*) AS TEXT) || ',' || COALESCE(CAST(sum(m.user_id) AS TEXT), '') || ',' || "
        "COALESCE(CAST(sum(a.changes) AS TEXT), '') || ',' || "
        "COALESCE(CAST(sum(t.id) AS TEXT), '') || ',' || "
        "COALESCE(CAST(sum(CASE WHEN t.last_seen_at >= %(online_since)s "
        "THEN t.id END) AS TEXT), '') "
        f"FROM {table(Klass.students.through)} m "
        f"LEFT JOIN {table(StudentActivity)} a ON a.student_id = m.user_id "
        f"LEFT JOIN {table(WorkerToken)} t "
        "ON t.student_id = m.user_id AND t.revoked_at IS NULL WHERE m.klass_id = %(klass)s"
    )
    count_and = "CAST(count(*) AS TEXT) || ',' || COALESCE(CAST({} AS TEXT), '') FROM {}"
    parts = [
        members,
        count_and.format(
            "sum(module_id)", f"{table(Klass.modules.through)} WHERE klass_id = %(klass)s"
        ),
        count_and.format("max(updated_at)", table(Module)),
        count_and.format("sum(id)", f"{table(Objective)} WHERE archived_at IS NULL"),
    ]
    return f"SELECT ({teaches}), " + ", ".join(f"(SELECT {part})" for part in parts)


# --- The snapshot ---------------------------------------------------------------


def class_snapshot(*, klass: Klass, module_slug: str = "") -> ClassSnapshot:
    modules = class_modules(klass=klass)
    module = next((m for m in modules if m.slug == module_slug), modules[0] if modules else None)
    objectives = (
        list(module.objectives.filter(archived_at__isnull=True).order_by("order")) if module else []
    )
    snapshot = ClassSnapshot(klass=klass, modules=modules, module=module, objectives=objectives)
    students = list(_students(klass=klass))
    cells = _cells(klass=klass, objectives=objectives)
    blank = {o.pk: Cell(objective_id=o.pk, status=Status.NOT_STARTED) for o in objectives}
    window = timedelta(seconds=3 * settings.DIAGNOSTICS_HEARTBEAT_INTERVAL)
    now = timezone.now()
    # One reverse() for the class, not one per student link (each costs ~0.1 ms).
    marker = "2147483647"
    url_head, url_tail = reverse("learning:dashboard_student", args=[klass.pk, marker]).rsplit(
        marker, 1
    )
    for s in students:
        gpu = _gpu(s)
        snapshot.students.append(
            StudentRow(
                user_id=s["pk"],
                username=s["username"],
                name=f"{s['first_name']} {s['last_name']}".strip(),
                cells=[cells.get((s["pk"], o.pk)) or blank[o.pk] for o in objectives],
                last_activity=s["last_activity"] if s["last_activity"] > EPOCH else None,
                last_seen=s["last_seen"],
                online=bool(s["last_seen"] and now - s["last_seen"] < window),
                gpu=gpu,
                stuck_since=s["stuck_since"],
                url=f"{url_head}{s['pk']}{url_tail}",
            )
        )
    return snapshot


def _students(*, klass: Klass):
    def latest(model, column: str, **filters):
        rows = model.objects.filter(student=OuterRef("pk"), **filters).order_by(f"-{column}")
        return Subquery(rows.values(column)[:1])

    reports = Report.objects.filter(student=OuterRef("pk"), outcome="completed")
    # The latest report's parts, each one step back along the partial index on
    # (student, received_at) of completed reports; its summary is a few hundred
    # bytes written at ingest, never the full facts and verdict.
    newest = reports.order_by("-received_at")

    def report(column: str):
        return Subquery(newest.values(column)[:1])

    # Stuck since: the first failing report after the last passing one (if any).
    first_fail_after_pass = (
        reports.filter(objective_met=False, received_at__gt=OuterRef("last_pass"))
        .order_by("received_at")
        .values("received_at")[:1]
    )
    return (
        klass.students.order_by("username")
        .annotate(
            last_seen=latest(WorkerToken, "last_seen_at", revoked_at__isnull=True),
            # The newest of three times, picked in SQL: one timestamp to load, not three.
            last_activity=Greatest(
                *(
                    Coalesce(when, Value(EPOCH))
                    for when in (
                        latest(ObjectiveProgress, "updated_at"),
                        latest(ResourceProgress, "done_at"),
                        report("received_at"),
                    )
                )
            ),
            last_pass=Coalesce(
                latest(Report, "received_at", outcome="completed", objective_met=True),
                Value(EPOCH),
            ),
            stuck_since=Subquery(first_fail_after_pass),
            report_uuid=report("report_id"),
            report_at=report("received_at"),
            report_met=report("objective_met"),
            report_summary=report("summary"),
        )
        .values(
            "pk",
            "username",
            "first_name",
            "last_name",
            "last_seen",
            "last_activity",
            "stuck_since",
            "report_uuid",
            "report_at",
            "report_met",
            "report_summary",
        )
    )


def _cells(*, klass: Klass, objectives: list[Objective]) -> dict[tuple[int, int], Cell]:
    # The times only matter compared with each other, so SQL compares them: loading
    # a timestamp is the costliest part of a row (Django's loader is pure Python).
    in_class = Klass.students.through.objects.filter(klass_id=klass.pk).values("user_id")
    rows = ObjectiveProgress.objects.filter(
        objective__in=objectives, student_id__in=in_class
    ).values_list(
        "student_id",
        "objective_id",
        "confidence",
        "evidence",
        "review",
        _is(Q(self_assessed_at__isnull=False)),
        _is(Q(reviewed_at__gte=F("self_assessed_at"))),
    )
    return {(r[0], r[1]): _cell(*r[1:]) for r in rows}


def _is(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


@lru_cache(maxsize=1024)
def _cell(
    objective_id: int,
    confidence: int | None,
    evidence: str,
    review: str,
    assessed: bool | None,
    reviewed_since: bool | None,
) -> Cell:
    """A matrix cell; a class has only a few distinct ones, so they are shared."""
    current = bool(review and assessed and reviewed_since)
    return Cell(
        objective_id=objective_id,
        status=status_of(
            evidence=evidence,
            self_assessed=bool(assessed),
            returned=current and review == ObjectiveProgress.Review.RETURNED,
        ),
        confidence=confidence if assessed else None,
        confirmed=current and review == ObjectiveProgress.Review.CONFIRMED,
        contradicted=bool(assessed and evidence == ObjectiveProgress.Evidence.NEEDS_WORK),
    )


def _gpu(student: dict) -> GpuSummary | None:
    if student["report_uuid"] is None:
        return None
    return gpu_summary(
        {
            "report_id": student["report_uuid"],
            "received_at": student["report_at"],
            "objective_met": student["report_met"],
            "summary": student["report_summary"],
        }
    )


def latest_report_summaries(ids: list[int]) -> dict[int, GpuSummary]:
    """The dashboard's view of each report: its stored summary, never its full facts."""
    rows = Report.objects.filter(pk__in=ids).values(
        "pk", "report_id", "received_at", "objective_met", "summary"
    )
    return {r["pk"]: gpu_summary(r) for r in rows}


def gpu_summary(row: Mapping[str, Any]) -> GpuSummary:
    """A GpuSummary from a report's id, time, verdict and stored summary (report_summary)."""
    summary = row["summary"] or {}
    return GpuSummary(
        report_id=str(row["report_id"]),
        received_at=row["received_at"],
        objective_met=row["objective_met"],
        gpu=summary.get("gpu") or "no GPU found",
        vram_gib=summary.get("vram_gib"),
        driver=summary.get("driver") or "",
        torch=summary.get("torch") or "",
        build=summary.get("build") or "",
        bf16=_bench(summary.get("bf16")),
        fp32=_bench(summary.get("fp32")),
        failing=tuple(
            Failing(f.get("id", "?"), f.get("summary", ""), f.get("hint", ""))
            for f in summary.get("failing") or ()
        ),
        needs_review=bool(summary.get("needs_review")),
    )


def _bench(result: dict | None) -> Bench | None:
    return Bench(result["tflops"], result.get("pct_of_peak")) if result else None


# --- Views of the snapshot --------------------------------------------------------


def filter_students(students: list[StudentRow], filters: Filters) -> list[StudentRow]:
    q = filters.q.strip().casefold()
    rows = [
        s
        for s in students
        if (not filters.state or filters.state in s.states)
        and (not filters.check or (s.gpu and filters.check in {f.check_id for f in s.gpu.failing}))
        and (not filters.gpu or s.gpu_name == filters.gpu)
        and (not filters.contradicted or s.contradicted)
        and (not q or q in s.username.casefold() or q in s.name.casefold())
    ]
    return sort_students(rows, filters.sort)


def sort_students(rows: list[StudentRow], sort: str) -> list[StudentRow]:
    never = datetime.min.replace(tzinfo=timezone.get_current_timezone())
    far = datetime.max.replace(tzinfo=timezone.get_current_timezone())
    keys = {
        "progress": lambda s: (s.pct, s.username),
        "-progress": lambda s: (-s.pct, s.username),
        "activity": lambda s: (-(s.last_activity or never).timestamp(), s.username),
        "inactive": lambda s: ((s.last_activity or never), s.username),
        "stuck": lambda s: (s.stuck_since or far, s.username),
        "gpu": lambda s: (s.gpu_name, s.username),
    }
    return sorted(rows, key=keys.get(sort, lambda s: s.username.casefold()))


NEEDS_REVIEW_GROUP = "needs-review"
NEEDS_REVIEW_SUMMARY = (
    "Evidence needs your review: the check passed, but the report holds values that "
    "cannot be true, or another student sent the same GPU or figures"
)


def stuck_groups(students: list[StudentRow]) -> list[StuckGroup]:
    """Failing checks of each student's latest report, grouped by check, most common first."""
    groups: dict[str, StuckGroup] = {}
    hints: dict[str, Counter] = {}
    for s in students:
        for failing in s.gpu.failing if s.gpu else ():
            group = groups.setdefault(
                failing.check_id, StuckGroup(failing.check_id, failing.summary, [], [])
            )
            group.students.append(s)
            hints.setdefault(failing.check_id, Counter())[failing.hint] += 1
    for check_id, group in groups.items():
        group.hints = [(h, n) for h, n in hints[check_id].most_common(3) if h]
    ordered = sorted(groups.values(), key=lambda g: (-len(g.students), g.check_id))
    # Evidence that passed but cannot be true, or was copied: the instructor must look.
    review = [s for s in students if Status.NEEDS_REVIEW in s.states]
    if review:
        ordered.insert(0, StuckGroup(NEEDS_REVIEW_GROUP, NEEDS_REVIEW_SUMMARY, review, []))
    return ordered


def stuck_longest(students: list[StudentRow], *, limit: int = 10) -> list[StudentRow]:
    stuck = [s for s in students if s.stuck_since]
    return sorted(stuck, key=lambda s: s.stuck_since or EPOCH)[:limit]


def state_counts(students: list[StudentRow]) -> dict[Status, int]:
    """Students, not cells: how many have at least one objective in each status
    (what the state filter then shows)."""
    counts = Counter(status for s in students for status in s.states)
    return {status: counts.get(status, 0) for status in Status}


# --- One student, for the drill-down -------------------------------------------------


@dataclass
class ReportEntry:
    report: Report
    failing: list[dict]
    changes: list[str]


def student_modules(*, klass: Klass, student: User) -> list[tuple[Module, list]]:
    return [
        (module, objective_rows(user=student, module=module))
        for module in class_modules(klass=klass)
    ]


def student_reports(*, student: User, limit: int = 20) -> list[ReportEntry]:
    """The student's latest reports, newest first, each with what changed since the one before."""
    reports = list(Report.objects.filter(student=student).order_by("-received_at")[: limit + 1])
    completed = [r for r in reports if r.outcome == "completed"]
    entries = []
    for report in reports[:limit]:
        previous = next((r for r in completed if r.received_at < report.received_at), None)
        failing = [c for c in report.verdict.get("checks", []) if c.get("status") == "fail"]
        changes = report_changes(report, previous) if report.outcome == "completed" else []
        entries.append(ReportEntry(report, failing, changes))
    return entries
