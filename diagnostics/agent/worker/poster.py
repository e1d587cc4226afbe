"""Post spooled reports: a report leaves the spool only after a 2xx."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from diagnostics.agent.worker.client import ApiClient, ApiError, TransientError, with_backoff
from diagnostics.agent.worker.spool import Spool

log = logging.getLogger("torchready.worker")


def submission_body(
    report: dict[str, Any], run_id: int | None, outcome: str = "completed", detail: str = ""
) -> bytes:
    body = {"run_id": run_id, "outcome": outcome, "detail": detail[-8000:], "report": report}
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def spool_submission(spool: Spool, body: bytes) -> Path:
    report_id = json.loads(body)["report"]["report_id"]
    return spool.put(str(report_id), body)


def deliver(client: ApiClient, spool: Spool, path: Path, deadline_s: float) -> str:
    """Post one spooled report: "accepted", "rejected" (kept under rejected/) or "pending"."""
    body = path.read_bytes()

    def note(exc: TransientError, delay: float) -> None:
        log.warning("report %s not delivered (%s); retrying in %.1f s", path.name, exc, delay)

    try:
        status, answer = with_backoff(
            lambda: client.post_report(body), deadline_s=deadline_s, on_retry=note
        )
    except TransientError as exc:
        log.warning("report %s stays in the spool (%s): it is resent later", path.name, exc)
        return "pending"
    except ApiError as exc:
        kept = spool.reject(path, rejection_reason(exc))
        log.error("the server rejected report %s: %s (kept at %s)", path.name, exc, kept)
        return "rejected"
    spool.done(path)
    log.info("report %s delivered (HTTP %s, objective met: %s)", path.name, status, _met(answer))
    return "accepted"


def deliver_unspooled(client: ApiClient, body: bytes, deadline_s: float) -> str:
    """Post a report the spool could not keep: the same retries, but no resend later."""
    try:
        with_backoff(lambda: client.post_report(body), deadline_s=deadline_s)
    except TransientError as exc:
        log.error("report not delivered and not spooled (%s): it is lost; run the check again", exc)
        return "lost"
    except ApiError as exc:
        log.error("the server rejected the report: %s", exc)
        return "rejected"
    return "accepted"


def flush(client: ApiClient, spool: Spool, deadline_s: float = 10.0) -> dict[str, int]:
    """Resend everything in the spool, oldest first; stop early when the server is unreachable."""
    counts = {"accepted": 0, "rejected": 0, "pending": 0}
    for path in spool.pending():
        result = deliver(client, spool, path, deadline_s=deadline_s)
        counts[result] += 1
        if result == "pending":
            counts["pending"] += len(spool.pending()) - 1
            break
    return counts


def rejection_reason(exc: ApiError) -> str:
    """The server's own words: its error and each field it named."""
    body = exc.body if isinstance(exc.body, dict) else {"error": str(exc.body)}
    lines = [f"HTTP {exc.status}: {body.get('error', '')}"]
    for err in body.get("errors") or []:
        if isinstance(err, dict):
            lines.append(f"  {err.get('field')}: {err.get('message')}")
    return "\n".join(lines)


def _met(answer: object) -> object:
    return answer.get("objective_met") if isinstance(answer, dict) else None
