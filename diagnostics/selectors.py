"""Reads of the worker pipeline: tokens, runs, reports and what changed."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from diagnostics.agent.worker.protocol import RUN_TASK

from . import broker
from .models import CheckRun, Report, WorkerToken
from .services import hash_token, queue_name


def token_active(*, raw: str) -> WorkerToken | None:
    return (
        WorkerToken.objects.select_related("student")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True, student__is_active=True)
        .first()
    )


def token_current(*, student: User) -> WorkerToken | None:
    return WorkerToken.objects.filter(student=student, revoked_at__isnull=True).first()


def worker_online(*, token: WorkerToken | None) -> bool:
    """Online when a heartbeat came within three intervals."""
    if token is None or token.last_seen_at is None:
        return False
    window = timedelta(seconds=3 * settings.DIAGNOSTICS_HEARTBEAT_INTERVAL)
    return timezone.now() - token.last_seen_at < window


def worker_config(*, token: WorkerToken) -> dict:
    """What a worker needs to start: its broker, its log-in there, and its own queue.

    On RabbitMQ the worker logs in as `broker_login` with its token as the
    password; the URL itself carries no credential.
    """
    broker_url = settings.TORCHREADY_WORKER_BROKER_URL
    options = (
        settings.CELERY_BROKER_TRANSPORT_OPTIONS if broker_url == settings.CELERY_BROKER_URL else {}
    )
    login = broker.worker_login(token_id=token.pk) if broker.is_rabbitmq(broker_url) else None
    return {
        "broker_url": broker_url,
        "broker_login": login,
        "broker_transport_options": options,
        "queue": queue_name(student=token.student),
        "task": RUN_TASK,
        "heartbeat_interval": settings.DIAGNOSTICS_HEARTBEAT_INTERVAL,
        "check_timeout": settings.DIAGNOSTICS_CHECK_TIMEOUT,
    }


# --- What RabbitMQ asks about a worker (through /internal/broker/) -----------


def broker_token(*, login: str) -> WorkerToken | None:
    """The active token a broker user name stands for, of an active student."""
    token_id = broker.token_id_of(login)
    if token_id is None:
        return None
    return (
        WorkerToken.objects.select_related("student")
        .filter(pk=token_id, revoked_at__isnull=True, student__is_active=True)
        .first()
    )


def broker_login_allowed(*, login: str, password: str) -> bool:
    """The user name is a worker id and the password is that worker's active token."""
    token = broker_token(login=login)
    return token is not None and hmac.compare_digest(token.token_hash, hash_token(password))


def broker_vhost_allowed(*, login: str, vhost: str) -> bool:
    return vhost == settings.DIAGNOSTICS_STUDENT_VHOST and broker_token(login=login) is not None


def broker_resource_allowed(
    *, login: str, vhost: str, resource: str, name: str, permission: str
) -> bool:
    """Read (consume, get) on the worker's own queue in the students' vhost; nothing else."""
    if (vhost, resource, permission) != (settings.DIAGNOSTICS_STUDENT_VHOST, "queue", "read"):
        return False
    token = broker_token(login=login)
    return token is not None and name == queue_name(student=token.student)


def run_for_student(*, run_id: int, student: User) -> CheckRun | None:
    return CheckRun.objects.filter(pk=run_id, student=student).first()


def runs_recent(*, student: User, limit: int = 20) -> list[CheckRun]:
    return list(CheckRun.objects.filter(student=student).prefetch_related("reports")[:limit])


def run_latest(*, student: User) -> CheckRun | None:
    return CheckRun.objects.filter(student=student).first()


def report_latest(*, student: User) -> Report | None:
    return Report.objects.filter(student=student, outcome="completed").first()


def report_for_student(*, report_id, student: User) -> Report | None:
    return Report.objects.filter(report_id=report_id, student=student).first()


def report_previous(*, report: Report) -> Report | None:
    return (
        Report.objects.filter(
            student=report.student_id, outcome="completed", received_at__lt=report.received_at
        )
        .exclude(pk=report.pk)
        .first()
    )


def report_quota_wait(*, student: User, now: datetime) -> int:
    """Seconds until the student may send another report under the daily quota; 0 if now."""
    quota = settings.DIAGNOSTICS_DAILY_REPORT_QUOTA
    day = timedelta(days=1)
    recent = Report.objects.filter(student=student, received_at__gt=now - day)
    oldest = recent.order_by("-received_at").values_list("received_at", flat=True)[
        quota - 1 : quota
    ]
    if not oldest:
        return 0
    return max(1, int((oldest[0] + day - now).total_seconds()) + 1)


def reports_for_student(*, student: User, limit: int = 50) -> list[Report]:
    """The student's recent reports, newest first, to pick one to compare with."""
    return list(
        Report.objects.filter(student=student)
        .only("report_id", "received_at", "objective_met", "outcome")
        .order_by("-received_at")[:limit]
    )
