"""Server-side records of the worker pipeline: tokens, runs and reports."""

import json
import zlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from pydantic import ValidationError

from diagnostics.agent.report import Report as ProbeReport


class WorkerToken(models.Model):
    """A student's worker credential. Only its SHA-256 is stored; the token is shown once."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="worker_tokens"
    )
    prefix = models.CharField(
        max_length=16, help_text="The first characters, to recognise a token."
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # What the worker said about itself in its last heartbeat (version, OS, Python).
    last_seen_info = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_worker_token",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.student})"


class CheckRun(models.Model):
    """One click on "Run GPU check", from the queue to a report or a reason."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        POSTED = "posted", "Report received"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    class Reason(models.TextChoices):
        NONE = "", "—"
        BROKER_DOWN = "broker_down", "The job queue could not be reached"
        TIMEOUT = "timeout", "The check ran past its time limit"
        CRASH = "crash", "The probe crashed"
        REJECTED = "rejected", "The server rejected the report"
        WORKER_LOST = "worker_lost", "The worker stopped before it posted a report"
        NO_WORKER = "no_worker", "No worker picked the run up in time"
        QUEUE_FULL = "queue_full", "Too many runs are already waiting for your worker"
        WORKER_KILLED = (
            "worker_killed",
            "The worker was killed during this check twice (out of memory, or the machine "
            "stopped); it is not run a third time",
        )

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    class Mode(models.TextChoices):
        QUICK = "quick", "Quick"
        FULL = "full", "Full"

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="check_runs"
    )
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.QUICK)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True, default="")
    detail = models.TextField(
        blank=True, help_text="The error text or stderr tail behind the reason."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # How many workers have claimed it: a second only when the broker gave the run
    # back because the first worker's connection dropped mid-run.
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Past it, a queued run expires and a running one is failed as worker_lost.
    deadline = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "deadline"])]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_pending(self) -> bool:
        """Active and not yet past its deadline. Beat's sweep records an overdue run as
        expired or lost; until then, pages already show it as over (a GET never writes)."""
        return self.is_active and self.deadline > timezone.now()


class Report(models.Model):
    """A diagnostics report as received, with what the server derived from it."""

    report_id = models.UUIDField(unique=True)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gpu_reports"
    )
    run = models.ForeignKey(
        CheckRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    token = models.ForeignKey(
        WorkerToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    # The server's clock is the authority: evidence is ordered by this, never by probed_at.
    received_at = models.DateTimeField(default=timezone.now)
    # The request body exactly as received, zlib-compressed; None once retention
    # has reduced an old report to its summary (pruned_at says when).
    raw_gz = models.BinaryField(null=True, blank=True)
    pruned_at = models.DateTimeField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64)
    schema_version = models.CharField(max_length=20)
    probed_at = models.DateTimeField(
        help_text="When the probe ran by the student's clock (the report's created_at)."
    )
    # probed_at minus received_at, in seconds: a student's clock that is off.
    clock_skew_s = models.IntegerField(default=0)
    # The first GPU's UUID (as the report gives it, hashed again) and the benchmark
    # medians, hashed: the same value from two students marks a copied report.
    gpu_uuid_hash = models.CharField(max_length=64, blank=True)
    bench_hash = models.CharField(max_length=64, blank=True)
    verdict = models.JSONField(
        help_text="The server's own judgement; a worker's verdict is ignored."
    )
    objective_met = models.BooleanField()
    # Facts that cannot all be true, in words, for a human to look at.
    flags = models.JSONField(default=list, blank=True)
    # What the worker said about the run itself: completed, crashed or timed out.
    outcome = models.CharField(max_length=12, default="completed")
    # The few facts a class dashboard shows (diagnostics.summary.report_summary),
    # written when the report is stored so a class of 1,000 reads a few hundred
    # bytes per student instead of the full facts and verdict.
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # A student's reports in the last day: the daily quota, on every report stored.
            models.Index(fields=["student", "received_at"], name="report_student_received_idx"),
            # Another student's report with this GPU or these figures: two range scans
            # either side of the student's own rows, however many those are.
            models.Index(fields=["gpu_uuid_hash", "student"], name="report_gpu_uuid_idx"),
            models.Index(fields=["bench_hash", "student"], name="report_bench_idx"),
            # Each student's latest completed report, and their last pass, for the dashboard.
            models.Index(
                fields=["student", "received_at"],
                condition=Q(outcome="completed"),
                name="report_student_completed_idx",
            ),
        ]

    def __str__(self) -> str:
        return str(self.report_id)

    @cached_property
    def facts(self) -> dict:
        """The validated report, read back from the raw body ({} once pruned). Not a
        column: it would store every report twice; pages read one report at a time."""
        raw = self.raw_body
        if raw is None:
            return {}
        data = json.loads(raw)
        report = data.get("report", data) if isinstance(data, dict) else {}
        try:
            return ProbeReport.model_validate(report).model_dump(mode="json")
        except ValidationError:  # stored under an older schema: show it as it came
            return report

    @property
    def raw_body(self) -> str | None:
        """The body as the worker posted it, or None once pruned."""
        return zlib.decompress(bytes(self.raw_gz)).decode() if self.raw_gz is not None else None

    @property
    def needs_review(self) -> bool:
        """Passing, but flagged: it verifies once an instructor has looked. Kept in the
        summary, which a twin's flag updates and pruning keeps."""
        return bool(self.summary.get("needs_review", False))

    @property
    def response(self) -> dict:
        """The API's answer, the same when the same report is posted again."""
        return {
            "report_id": str(self.report_id),
            "run_id": self.run_id,
            "objective_met": self.objective_met,
            "verdict": self.verdict,
            "flags": self.flags,
            "needs_review": bool(self.flags),
            "clock_skew_s": self.clock_skew_s,
        }

    @property
    def next_step(self) -> dict | None:
        """The check to fix first, as the verdict names it (the first failure in older ones)."""
        checks = [c for c in self.verdict.get("checks", []) if isinstance(c, dict)]
        if "next_step" in self.verdict:
            return next((c for c in checks if c.get("id") == self.verdict["next_step"]), None)
        return next((c for c in checks if c.get("status") == "fail"), None)

    @property
    def later_steps(self) -> list[dict]:
        """The other failures, which wait for the next step (root-cause order)."""
        step = self.next_step
        return [
            c
            for c in self.verdict.get("checks", [])
            if isinstance(c, dict) and c.get("status") == "fail" and c is not step
        ]
