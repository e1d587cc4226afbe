"""Server-side records of the worker pipeline: tokens, runs and reports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


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
    received_at = models.DateTimeField(auto_now_add=True)
    raw_body = models.TextField(help_text="The request body exactly as received.")
    body_sha256 = models.CharField(max_length=64)
    schema_version = models.CharField(max_length=20)
    probed_at = models.DateTimeField(help_text="When the probe ran (the report's created_at).")
    facts = models.JSONField(help_text="The validated report.")
    verdict = models.JSONField(
        help_text="The server's own judgement; a worker's verdict is ignored."
    )
    objective_met = models.BooleanField()
    # Facts that cannot all be true, in words, for a human to look at.
    flags = models.JSONField(default=list, blank=True)
    # What the worker said about the run itself: completed, crashed or timed out.
    outcome = models.CharField(max_length=12, default="completed")
    # The API response, returned as stored when the same report is posted again.
    response = models.JSONField(default=dict)
    # The few facts a class dashboard shows (diagnostics.summary.report_summary),
    # written when the report is stored so a class of 1,000 reads a few hundred
    # bytes per student instead of the full facts and verdict.
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # The newest evidence per student: looked up on every report stored.
            models.Index(fields=["student", "probed_at"]),
            # Each student's latest completed report, and their last pass, for the dashboard.
            models.Index(
                fields=["student", "received_at"],
                condition=Q(outcome="completed"),
                name="report_student_completed_idx",
            ),
        ]

    def __str__(self) -> str:
        return str(self.report_id)

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
