"""The GPU panel's poll: what makes it look different, and how often to ask."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .models import CheckRun, Report, WorkerToken

# How long an offline worker is awaited at the fast pace: set-up, or a restart in
# the env just fixed. After that the student has gone elsewhere: the idle pace.
AWAITED_FOR = timedelta(minutes=10)


def panel_version(
    *,
    token: WorkerToken | None,
    online: bool,
    run: CheckRun | None,
    report: Report | None,
    every: str,
) -> str:
    """Changes whenever the panel, or what it refreshes with it, would look different,
    its polling pace included (a poller slows down only when its page is rendered)."""
    seen = token.last_seen_info if token else {}
    where = "/".join(str(seen.get(k, "")) for k in ("env_kind", "env_name", "torch"))
    return ".".join(
        str(part)
        for part in (
            token and token.pk,
            bool(token and token.last_seen_at),
            where,
            f"{online:d}",
            run and run.pk,
            run and run.state,
            run and run.is_pending,
            report and report.pk,
            every,
        )
    )


def poll_interval(
    *, token: WorkerToken | None, online: bool, pending: bool, report: Report | None
) -> str:
    """How often the panel asks for news: "" when nothing is pending (no token, or
    verified with no run under way), so the poller stops."""
    if pending:
        return "1s"  # a run in the queue or on the worker
    if not token or (report and report.objective_met):
        return ""
    if not online and timezone.now() - (token.last_seen_at or token.created_at) < AWAITED_FOR:
        return "3s"  # setting up, or restarting the worker: tick the moment it comes online
    return "10s"  # idle: a report posted directly, or a worker long gone
