"""Writes of the worker pipeline: tokens, runs, heartbeats and reports."""

from __future__ import annotations

import hashlib
import logging
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from diagnostics.agent.report import Report as ProbeReport
from diagnostics.agent.verdict.ids import Verifier
from diagnostics.agent.worker.protocol import RUN_TASK

from . import broker
from .models import CheckRun, Report, WorkerToken
from .plausibility import plausibility_flags
from .summary import report_summary

log = logging.getLogger(__name__)

TOKEN_PREFIX = "trw_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Tokens ---------------------------------------------------------------


def token_create(*, student: User) -> tuple[WorkerToken, str]:
    """A new active token for the student, revoking any older one. Returns the raw token once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token_revoke_all(student=student)
        token = WorkerToken.objects.create(
            student=student, prefix=raw[:10], token_hash=hash_token(raw)
        )
        transaction.on_commit(lambda: queue_ensure(student=student))
    return token, raw


def token_revoke_all(*, student: User) -> int:
    """Revoke the student's active tokens; their broker connections close once this commits."""
    active = WorkerToken.objects.filter(student=student, revoked_at__isnull=True)
    token_ids = list(active.values_list("pk", flat=True))
    revoked = active.filter(pk__in=token_ids).update(revoked_at=timezone.now())
    if token_ids:
        transaction.on_commit(_broker_disconnect_now)
    return revoked


def token_heartbeat(*, token: WorkerToken, info: dict) -> WorkerToken:
    token.last_seen_at = timezone.now()
    token.last_seen_info = info
    token.save(update_fields=["last_seen_at", "last_seen_info"])
    return token


# --- The students' broker ----------------------------------------------------


def _broker_disconnect_now() -> None:
    """Close revoked tokens' broker connections at once, not at beat's next sweep.

    RabbitMQ refuses the token's next log-in once its auth cache forgets it (30 s
    at most); a worker that got back in meanwhile is closed by the sweep, which
    beat runs every 15 s.
    """
    try:
        broker_disconnect_revoked()
    except broker.ManagementError as exc:
        log.warning("could not close revoked workers' broker connections yet: %s", exc)


def broker_disconnect_revoked() -> int:
    """Close every connection in the students' vhost that no active worker token owns."""
    if not broker.management_enabled():
        return 0
    server_user = urlsplit(broker.student_broker_url()).username
    connections = [c for c in broker.worker_connections() if c.get("user") != server_user]
    owners = {c["name"]: broker.token_id_of(str(c.get("user", ""))) for c in connections}
    active = set(
        WorkerToken.objects.filter(
            pk__in=set(owners.values()) - {None}, revoked_at__isnull=True, student__is_active=True
        ).values_list("pk", flat=True)
    )
    return broker.close_connections(c for c in connections if owners[c["name"]] not in active)


# --- Runs -----------------------------------------------------------------


def queue_name(*, student: User) -> str:
    return f"{settings.DIAGNOSTICS_QUEUE_PREFIX}{student.pk}"


def queue_ensure(*, student: User) -> bool:
    """Declare the student's queue on RabbitMQ, so their worker finds it before the
    first run; False (and a warning) if the broker can't be reached just now."""
    try:
        broker.declare_student_queue(queue_name(student=student))
    except broker.UNREACHABLE as exc:
        log.warning("could not declare %s's queue: %s", student, exc)
        return False
    return True


def run_create(*, student: User, mode: str = CheckRun.Mode.QUICK) -> CheckRun:
    """Create a run and enqueue it once the transaction commits.

    The task carries only the run id and mode. If the broker is down the run is
    failed with that reason, so the page says so instead of waiting forever.
    """
    deadline = timezone.now() + timedelta(seconds=settings.DIAGNOSTICS_QUEUE_TIMEOUT)
    run = CheckRun.objects.create(student=student, mode=mode, deadline=deadline)
    queue = queue_name(student=student)
    transaction.on_commit(lambda: _enqueue(run_id=run.pk, mode=mode, queue=queue))
    return run


def _enqueue(*, run_id: int, mode: str, queue: str) -> None:
    from amqp.exceptions import MessageNacked

    from config.celery import app

    # Django's settings name the broker (Celery's own conf prefers the
    # environment variable, which settings may override).
    broker_url = broker.student_broker_url()
    options, properties = broker.publish_settings(broker_url)
    try:
        # A fresh connection with no publish retries: a click must fail fast
        # and visibly when the broker is down, not hang the request.
        with app.connection_for_write(broker_url, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            app.send_task(
                RUN_TASK,
                kwargs={"run_id": run_id, "mode": mode},
                # A kombu Queue is accepted at run time; celery-types says str only.
                queue=broker.student_queue(queue),  # type: ignore[arg-type]
                connection=conn,
                retry=False,
                # No one takes it after the run's deadline; the sweep expires it.
                expires=settings.DIAGNOSTICS_QUEUE_TIMEOUT,
                **properties,
            )
    except broker.UNREACHABLE as exc:
        # kombu wraps the broker's nack (a full queue refusing the run) in its OperationalError.
        if isinstance(exc.__cause__ or exc.__context__, MessageNacked):
            _enqueue_failed(run_id, CheckRun.Reason.QUEUE_FULL, "the student's queue is full")
            return
        log.warning("enqueue of run %s failed: %s", run_id, exc)
        _enqueue_failed(run_id, CheckRun.Reason.BROKER_DOWN, str(exc))


def _enqueue_failed(run_id: int, reason: str, detail: str) -> None:
    run = CheckRun.objects.get(pk=run_id)
    run_finish(run=run, state=CheckRun.State.FAILED, reason=reason, detail=detail)


def run_claim(*, run: CheckRun, redelivered: bool = False) -> bool:
    """queued → running, once. A run the broker redelivered (its worker died mid-run,
    so its connection dropped before the acknowledgement) runs once more; if it
    comes back a second time it is failed with the reason instead."""
    now = timezone.now()
    deadline = now + timedelta(
        seconds=settings.DIAGNOSTICS_CHECK_TIMEOUT + settings.DIAGNOSTICS_RUN_GRACE
    )
    claim = {"state": CheckRun.State.RUNNING, "claimed_at": now, "deadline": deadline}
    runs = CheckRun.objects.filter(pk=run.pk)
    claimed = runs.filter(state=CheckRun.State.QUEUED, deadline__gt=now).update(**claim, attempts=1)
    if not claimed and redelivered:
        running = runs.filter(state=CheckRun.State.RUNNING)
        claimed = running.filter(attempts__lte=1).update(**claim, attempts=2)
        if not claimed:
            running.update(
                state=CheckRun.State.FAILED,
                reason=CheckRun.Reason.WORKER_KILLED,
                detail="The worker running this check stopped twice before it posted a report "
                "(killed, out of memory, or its machine went down). Run it again once the "
                "cause is fixed.",
                finished_at=now,
            )
    run.refresh_from_db()
    return claimed == 1


def run_finish(*, run: CheckRun, state: str, reason: str = "", detail: str = "") -> bool:
    """Move an active run to a final state; a finished run is never reopened."""
    updated = CheckRun.objects.filter(pk=run.pk, state__in=CheckRun.ACTIVE_STATES).update(
        state=state, reason=reason, detail=detail[-4000:], finished_at=timezone.now()
    )
    run.refresh_from_db()
    return updated == 1


def runs_sweep_stale() -> int:
    """Expire queued runs and fail running ones past their deadline. Never leaves one stuck."""
    now = timezone.now()
    stale = CheckRun.objects.filter(state__in=CheckRun.ACTIVE_STATES, deadline__lte=now)
    expired = stale.filter(state=CheckRun.State.QUEUED).update(
        state=CheckRun.State.EXPIRED, reason=CheckRun.Reason.NO_WORKER, finished_at=now
    )
    lost = stale.filter(state=CheckRun.State.RUNNING).update(
        state=CheckRun.State.FAILED, reason=CheckRun.Reason.WORKER_LOST, finished_at=now
    )
    return expired + lost


# --- Reports ----------------------------------------------------------------


# Students' clocks are often wrong (a dual-boot laptop by whole hours): a report
# within two days of the server's clock is stored as sent, past five minutes the
# student is told; beyond two days it is refused.
CLOCK_SKEW_LIMIT = timedelta(days=2)
CLOCK_SKEW_NOTICE = timedelta(minutes=5)


class ClockTooFarOff(ValueError):
    pass


def clock_skew(*, created_at: datetime, received_at: datetime) -> int:
    """Seconds the report's clock is ahead of the server's (negative: behind)."""
    skew = created_at - received_at
    if abs(skew) > CLOCK_SKEW_LIMIT:
        raise ClockTooFarOff(
            f"created_at {created_at.isoformat()} is {_duration(skew)} "
            f"{'ahead of' if skew > timedelta(0) else 'behind'} the server's clock "
            f"({received_at.isoformat(timespec='seconds')}); at most 2 days either way is "
            "accepted: set the computer's clock and run the check again"
        )
    return round(skew.total_seconds())


def _duration(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def clock_notice(*, skew_s: int) -> str:
    """What the report page tells a student whose clock is off; "" when it is close enough."""
    if abs(skew_s) <= CLOCK_SKEW_NOTICE.total_seconds():
        return ""
    direction = "ahead" if skew_s > 0 else "behind"
    return (
        f"Your computer's clock is {_duration(timedelta(seconds=skew_s))} {direction} of "
        "the server's. The report is kept and ordered by the time the server received it; "
        "set the clock (enable automatic time) so your times read right."
    )


@dataclass(frozen=True)
class ReportInput:
    """A validated report submission, ready to store."""

    report_id: str
    raw_body: bytes
    body_sha256: str
    schema_version: str
    probed_at: datetime
    received_at: datetime
    clock_skew_s: int
    facts: dict
    run: CheckRun | None
    outcome: str
    detail: str


class ReportConflict(Exception):
    """A different report (another body or another student) already has this report_id."""


class ReportQuotaExceeded(Exception):
    """The student sent the daily quota of reports; retry_after says when one frees up."""

    def __init__(self, retry_after: int):
        super().__init__(
            f"daily report limit reached ({settings.DIAGNOSTICS_DAILY_REPORT_QUOTA} reports in "
            "24 hours); the worker keeps this report and sends it later"
        )
        self.retry_after = retry_after


def report_receive(
    *, token: WorkerToken, data: ReportInput, report: ProbeReport
) -> tuple[Report, bool]:
    """Judge a validated report on the server and store it, once: (report, created).

    A replay of the same body by the same student returns the stored report
    (created is False), also when both copies arrive at once; a different
    report with the same report_id raises ReportConflict. A worker's verdict
    is ignored.
    """
    existing = Report.objects.filter(report_id=data.report_id).first()
    if existing is None:
        from .selectors import report_quota_wait

        wait = report_quota_wait(student=token.student, now=data.received_at)
        if wait:
            raise ReportQuotaExceeded(wait)
        verdict, met = judge_report(report)
        try:
            stored = report_store(
                token=token,
                data=data,
                verdict=verdict,
                objective_met=met,
                flags=implausible(report),
            )
            return stored, True
        except IntegrityError:  # the same report_id, stored by a concurrent request
            existing = Report.objects.filter(report_id=data.report_id).first()
            if existing is None:
                raise
    if existing.student_id != token.student_id or existing.body_sha256 != data.body_sha256:
        raise ReportConflict("a different report with this report_id was already received")
    return existing, False


def judge_report(report: ProbeReport) -> tuple[dict, bool]:
    from diagnostics.agent.verdict import judge

    verdict = judge(report).model_dump(mode="json")
    return verdict, bool(verdict.get("objective_met"))


def implausible(report: ProbeReport) -> list[str]:
    from diagnostics.agent.verdict import implausibilities

    return [*implausibilities(report), *plausibility_flags(report)]


def report_store(
    *, token: WorkerToken, data: ReportInput, verdict: dict, objective_met: bool, flags: list
) -> Report:
    """Store the report as received and apply it, in one transaction.

    The run moves to posted (or failed for a crashed or timed-out probe) and
    the student's gpu-env objectives get the server's verdict as evidence. A
    flagged report, or one whose GPU or figures another student sent too, does
    not verify: the objectives need review.
    """
    fingerprints = report_fingerprints(data.facts)
    with transaction.atomic():
        twins = _twins(student=token.student, fingerprints=fingerprints)
        if twins:
            flags = [*flags, _twin_flag(twins)]
        report = Report.objects.create(
            report_id=data.report_id,
            student=token.student,
            run=data.run,
            token=token,
            received_at=data.received_at,
            raw_gz=zlib.compress(data.raw_body, 6),
            body_sha256=data.body_sha256,
            schema_version=data.schema_version,
            probed_at=data.probed_at,
            clock_skew_s=data.clock_skew_s,
            verdict=verdict,
            objective_met=objective_met and not flags,
            flags=flags,
            outcome=data.outcome,
            summary=report_summary(data.facts, verdict, needs_review=bool(flags and objective_met)),
            **fingerprints,
        )
        if data.run is not None:
            _run_apply_report(run=data.run, outcome=data.outcome, detail=data.detail)
        if data.outcome == "completed":
            _evidence_apply(student=token.student, report=report)
        if twins:
            _twins_flag(twins=twins, student=token.student)
    return report


def report_fingerprints(facts: dict) -> dict:
    """What identifies a machine or a run across students: the GPU's UUID (hashed) and
    the exact benchmark figures (no two runs measure the same medians)."""
    devices = (facts.get("nvml") or {}).get("devices") or (facts.get("torch") or {}).get("devices")
    uuid = next((d.get("uuid") for d in devices or () if d.get("uuid")), None)
    results = sorted(
        (r["name"], r["device"], r["median"])
        for r in ((facts.get("bench") or {}).get("results") or ())
        if r.get("median")
    )
    return {
        "gpu_uuid_hash": hashlib.sha256(uuid.encode()).hexdigest() if uuid else "",
        "bench_hash": hashlib.sha256(repr(results).encode()).hexdigest() if results else "",
    }


def _twins(*, student: User, fingerprints: dict) -> list[Report]:
    """Other students' reports with this GPU, or these exact figures."""
    match = Q()
    for field, value in fingerprints.items():
        if value:  # student < s or > s: the index skips the student's own reports
            match |= Q(**{field: value, "student__lt": student.pk})
            match |= Q(**{field: value, "student__gt": student.pk})
    if not match:
        return []
    return list(
        Report.objects.filter(match)
        .select_related("student")
        .only("pk", "student__username", "received_at", "flags", "objective_met", "summary")[:10]
    )


TWIN_FLAG = "the same GPU or identical benchmark figures came from "


def _twin_flag(twins: list[Report]) -> str:
    names = sorted({t.student.get_username() for t in twins})
    return TWIN_FLAG + ", ".join(names[:5])


def _twins_flag(*, twins: list[Report], student: User) -> None:
    """The earlier reports get the flag too: a copy makes both sides need review."""
    from learning.services.evidence import evidence_hold_for_review

    flag = TWIN_FLAG + student.get_username()
    for twin in twins:
        if flag not in twin.flags:
            review = twin.objective_met or twin.needs_review
            Report.objects.filter(pk=twin.pk).update(
                flags=[*twin.flags, flag],
                objective_met=False,
                summary={**twin.summary, "needs_review": review},
            )
        evidence_hold_for_review(
            student=twin.student,
            verifier=Verifier.GPU_ENV,
            at=twin.received_at,
            summary="Needs review: " + flag,
        )


def _run_apply_report(*, run: CheckRun, outcome: str, detail: str) -> None:
    if outcome == "completed":
        run_finish(run=run, state=CheckRun.State.POSTED)
    else:
        reason = CheckRun.Reason.TIMEOUT if outcome == "timeout" else CheckRun.Reason.CRASH
        run_finish(run=run, state=CheckRun.State.FAILED, reason=reason, detail=detail)


def _evidence_apply(*, student: User, report: Report) -> None:
    """The newest report received is the evidence; a passing one with flags needs review."""
    from learning.services.evidence import evidence_record

    review = report.needs_review
    evidence_record(
        student=student,
        verifier=Verifier.GPU_ENV,
        met=report.objective_met,
        needs_review=review,
        at=report.received_at,
        summary=(
            "Needs review: " + "; ".join(report.flags)
            if review
            else evidence_summary(verdict=report.verdict, met=report.objective_met)
        ),
    )


def evidence_summary(*, verdict: dict, met: bool) -> str:
    """One line for the module page: the next step's summary, or a pass line."""
    checks = verdict.get("checks", [])
    failing = [c for c in checks if c.get("status") == "fail"]
    step = next((c for c in checks if c.get("id") == verdict.get("next_step")), None)
    if met or not (step or failing):
        return "Verified: " + (verdict.get("summary") or "the GPU environment works")[:480]
    return (step or failing[0]).get("summary", "")[:500]


def reports_prune(*, keep: int, batch: int = 500) -> int:
    """Reduce old reports to their summary: each student keeps the newest `keep` raw
    bodies and every report that is the current evidence of an objective."""
    from learning.selectors import progress_with_evidence_at

    is_evidence = progress_with_evidence_at(student=OuterRef("student"), at=OuterRef("received_at"))
    beyond_newest = (
        Report.objects.filter(pruned_at__isnull=True)
        .annotate(
            newer=Window(RowNumber(), partition_by=[F("student")], order_by=F("received_at").desc())
        )
        .filter(newer__gt=keep)
        .values("pk")
    )
    old = (
        Report.objects.filter(pk__in=beyond_newest)
        .exclude(Exists(is_evidence))
        .values_list("pk", flat=True)
    )
    pruned = 0
    while pks := list(old[:batch]):
        pruned += Report.objects.filter(pk__in=pks).update(
            raw_gz=None, verdict={}, pruned_at=timezone.now()
        )
    return pruned
