"""The GPU panel's poll: what makes it look different, and how often to ask."""

from __future__ import annotations

from .models import CheckRun, Report, WorkerToken


def panel_version(
    *,
    token: WorkerToken | None,
    online: bool,
    run: CheckRun | None,
    report: Report | None,
) -> str:
    """Changes whenever the panel, or what it refreshes with it, would look different."""
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
    if not online:
        return "3s"  # setting up, or the worker was stopped: tick the moment it comes online
    return "10s"  # idle: a report posted directly, or the worker going offline
