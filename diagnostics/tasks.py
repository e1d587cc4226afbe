"""Server-side tasks. The check itself runs on the student's worker, not here."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="diagnostics.sweep_stale_runs", acks_late=True, soft_time_limit=30, time_limit=60)
def sweep_stale_runs() -> int:
    """Expire or fail runs past their deadline, so no run stays queued or running forever."""
    return services.runs_sweep_stale()


@shared_task(
    name="diagnostics.close_revoked_connections", acks_late=True, soft_time_limit=30, time_limit=60
)
def close_revoked_connections() -> int:
    """Close broker connections no active worker token owns (RabbitMQ only)."""
    return services.broker_disconnect_revoked()


@shared_task(name="diagnostics.prune_reports", acks_late=True, soft_time_limit=300, time_limit=360)
def prune_reports() -> int:
    """Keep each student's newest raw reports and their evidence; reduce the rest to summaries."""
    return services.reports_prune(keep=settings.DIAGNOSTICS_KEEP_RAW_REPORTS)
