"""Server-side tasks. The check itself runs on the student's worker, not here."""

from celery import shared_task

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
