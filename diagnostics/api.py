"""The worker API: small and strict, after healthchecks' ping endpoint.

Every endpoint takes the worker token in the Authorization header, answers
JSON, and answers 4xx, never 500, for any bad input.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from diagnostics.agent.worker.protocol import (
    MAX_BODY_BYTES,
    SUPPORTED_SCHEMA_VERSIONS,
    Claim,
    Heartbeat,
    Submission,
)

from . import selectors, services
from .models import CheckRun, WorkerToken
from .openapi import openapi_document


def _error(status: int, error: str, **extra) -> JsonResponse:
    return JsonResponse({"error": error, **extra}, status=status)


def worker_api(view: Callable) -> Callable:
    """Authenticate the bearer token and apply the per-token rate limit.

    Requests with no valid token are limited per client address too, so that
    guessing tokens is slow as well as hopeless.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        token = selectors.token_active(raw=raw.strip()) if scheme.lower() == "bearer" else None
        key = f"api:{token.token_hash[:24]}" if token else f"anon:{request.META.get('REMOTE_ADDR')}"
        retry_after = _rate_limited(key)
        if retry_after:
            return _too_many("too many requests", retry_after=retry_after)
        if token is None:
            if scheme.lower() != "bearer" or not raw.strip():
                return _error(401, "missing token: send 'Authorization: Bearer <token>'")
            return _error(401, "unknown or revoked token")
        return view(request, token, *args, **kwargs)

    return wrapper


def _rate_limited(key: str) -> int:
    """Fixed one-minute windows in the shared cache; returns seconds to wait, or 0."""
    window = 60
    now = time.time()
    bucket = f"ratelimit:{key}:{int(now // window)}"
    cache.add(bucket, 0, timeout=window + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window + 5)
        count = 1
    if count <= settings.DIAGNOSTICS_RATE_LIMIT:
        return 0
    return max(1, math.ceil(window - now % window))


def _read_json(request: HttpRequest) -> tuple[bytes, object] | JsonResponse:
    """The body, checked for size before it is read, then parsed strictly."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "bad Content-Length")
    if declared > MAX_BODY_BYTES:
        return _error(413, f"body over {MAX_BODY_BYTES} bytes")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"body over {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # json.loads would guess UTF-16 or UTF-32 from bytes; the protocol says UTF-8.
        return _error(400, "the body must be UTF-8", detail=str(exc)[:300])
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except ValueError as exc:
        return _error(400, "malformed JSON", detail=str(exc)[:300])
    except RecursionError:  # e.g. [[[[...]]]] thousands deep; no report nests like that
        return _error(400, "malformed JSON", detail="nested too deeply")
    if b"\\u0000" in body and _has_nul(data):
        # PostgreSQL stores no NUL in text or jsonb, and no real report holds one.
        return _error(400, "malformed JSON", detail="NUL characters (\\u0000) are not allowed")
    return body, data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A key given twice is an error: a reader picking the last one is a forger's trick."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return data


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _validation_errors(exc: ValidationError) -> list[dict]:
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)[:50]
    ]


@require_POST
@worker_api
def reports(request: HttpRequest, token: WorkerToken) -> JsonResponse:
    parsed = _read_json(request)
    if isinstance(parsed, JsonResponse):
        return parsed
    body, data = parsed
    if not isinstance(data, dict):
        return _error(400, "the body must be a JSON object")
    try:
        run = _run_of(data, token)
    except RunIdInvalid as exc:
        return _error(400, str(exc), errors=[{"field": "run_id", "message": str(exc)}])
    except RunNotFound:
        return _error(404, "no such run for this token")
    version = (
        data.get("report", {}).get("schema_version")
        if isinstance(data.get("report"), dict)
        else None
    )
    if version is not None and version not in SUPPORTED_SCHEMA_VERSIONS:
        readable = ", ".join(SUPPORTED_SCHEMA_VERSIONS)
        message = f"unknown schema_version {version!r}; this server reads {readable}"
        return _reject(run, message, field="report.schema_version")
    try:
        submission = Submission.model_validate(data)
    except ValidationError as exc:
        errors = _validation_errors(exc)
        _reject_run(run, "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]))
        return _error(400, "invalid report", errors=errors)
    received_at = timezone.now()
    try:
        skew = services.clock_skew(created_at=submission.report.created_at, received_at=received_at)
    except services.ClockTooFarOff as exc:
        return _reject(run, str(exc), field="report.created_at")
    return _store(
        body=body, submission=submission, run=run, token=token, received_at=received_at, skew=skew
    )


class RunNotFound(Exception):
    """The body names a run that is not this token's student's."""


class RunIdInvalid(ValueError):
    """run_id is not an integer: "1", 1.0 or true would silently detach the report."""


def _run_of(data: dict, token: WorkerToken) -> CheckRun | None:
    """The student's run named in the body, or None when it names none (an ad-hoc check).

    Raises RunIdInvalid for a run_id that is no integer, RunNotFound for a run
    that does not exist or is someone else's.
    """
    run_id = data.get("run_id")
    if run_id is None:
        return None
    if type(run_id) is not int:
        raise RunIdInvalid(f"run_id must be an integer or null, not {type(run_id).__name__}")
    run = selectors.run_for_student(run_id=run_id, student=token.student)
    if run is None:
        raise RunNotFound(run_id)
    return run


def _reject(run: CheckRun | None, message: str, *, field: str) -> JsonResponse:
    _reject_run(run, message)
    return _error(400, message, errors=[{"field": field, "message": message}])


def _reject_run(run: CheckRun | None, message: str) -> None:
    if run is not None:
        services.run_finish(
            run=run, state=CheckRun.State.FAILED, reason=CheckRun.Reason.REJECTED, detail=message
        )


def _store(
    *,
    body: bytes,
    submission: Submission,
    run: CheckRun | None,
    token: WorkerToken,
    received_at: datetime,
    skew: int,
) -> JsonResponse:
    data = services.ReportInput(
        report_id=str(submission.report.report_id),
        raw_body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        schema_version=submission.report.schema_version,
        probed_at=submission.report.created_at,
        received_at=received_at,
        clock_skew_s=skew,
        facts=submission.report.model_dump(mode="json"),
        run=run,
        outcome=submission.outcome,
        detail=submission.detail,
    )
    try:
        report, created = services.report_receive(token=token, data=data, report=submission.report)
    except services.ReportConflict as exc:
        return _error(409, str(exc))
    except services.ReportQuotaExceeded as exc:
        return _too_many(str(exc), retry_after=exc.retry_after)
    return JsonResponse(report.response, status=201 if created else 200)


def _too_many(message: str, *, retry_after: int) -> JsonResponse:
    response = _error(429, message, retry_after=retry_after)
    response["Retry-After"] = str(retry_after)
    return response


@require_POST
@worker_api
def heartbeat(request: HttpRequest, token: WorkerToken) -> JsonResponse:
    parsed = _read_json(request)
    if isinstance(parsed, JsonResponse):
        return parsed
    try:
        beat = Heartbeat.model_validate(parsed[1])
    except ValidationError as exc:
        return _error(400, "invalid heartbeat", errors=_validation_errors(exc))
    services.token_heartbeat(token=token, info=beat.model_dump())
    return JsonResponse({"ok": True, "interval": settings.DIAGNOSTICS_HEARTBEAT_INTERVAL})


@require_GET
@worker_api
def config(request: HttpRequest, token: WorkerToken) -> JsonResponse:
    # A worker consumes its queue as soon as it has this answer; on RabbitMQ the
    # queue must exist by then (idempotent: it usually does, since the token's creation).
    services.queue_ensure(student=token.student)
    return JsonResponse(selectors.worker_config(token=token))


@require_POST
@worker_api
def run_claim(request: HttpRequest, token: WorkerToken, run_id: int) -> JsonResponse:
    redelivered = False
    if request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
        parsed = _read_json(request)
        if isinstance(parsed, JsonResponse):
            return parsed
        try:
            redelivered = Claim.model_validate(parsed[1]).redelivered
        except ValidationError as exc:
            return _error(400, "invalid claim", errors=_validation_errors(exc))
    run = selectors.run_for_student(run_id=run_id, student=token.student)
    if run is None:
        return _error(404, "no such run for this token")
    claimed = services.run_claim(run=run, redelivered=redelivered)
    payload = {"claimed": claimed, "run_id": run.pk, "state": run.state, "mode": run.mode}
    if claimed:
        payload["timeout"] = settings.DIAGNOSTICS_CHECK_TIMEOUT
    return JsonResponse(payload, status=200 if claimed else 409)


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 1})


def not_found(request: HttpRequest, exception: Exception | None = None):
    """The site's 404: JSON under /api/ (a run id that is no number, an unknown
    endpoint), so a worker never has to parse an HTML page; else Django's page."""
    if request.path.startswith("/api/"):
        return _error(404, "no such endpoint")
    from django.views import defaults

    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None):
    """The site's 403: JSON under /api/; else the page (templates/403.html) that says why."""
    if request.path.startswith("/api/"):
        return _error(403, str(exception or "") or "forbidden")
    from django.views import defaults

    return defaults.permission_denied(request, exception or PermissionDenied())


# While the database restarts or is unreachable: long enough for PostgreSQL to
# come back, short enough that a worker's spooled report is not held for long.
DATABASE_RETRY_AFTER = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's 500: JSON under /api/, and 503 with Retry-After when the database
    is down (an outage passes; a worker keeps its report and tries again)."""
    exc = sys.exc_info()[1]
    outage = isinstance(exc, (OperationalError, InterfaceError))
    response: HttpResponse
    if request.path.startswith("/api/"):
        if outage:
            response = _error(
                503,
                "the database is unavailable; try again later",
                retry_after=DATABASE_RETRY_AFTER,
            )
        else:
            response = _error(500, "internal server error; the operators have the details")
    else:
        from django.views import defaults

        response = defaults.server_error(request)
        if outage:
            response.status_code = 503
    if outage:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site's 400 (a disallowed Host, a suspicious request): JSON under /api/."""
    if request.path.startswith("/api/"):
        return _error(400, "bad request")
    from django.views import defaults

    return defaults.bad_request(request, exception or Exception("bad request"))
