"""The worker's HTTP client for the server's API, standard library only."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from diagnostics.agent import __version__
from diagnostics.agent.worker.protocol import API_PREFIX

T = TypeVar("T")
USER_AGENT = f"torchready-worker/{__version__}"


class ApiError(Exception):
    """The server answered, with a status that retrying will not change."""

    def __init__(self, status: int, body: Any):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class TransientError(Exception):
    """No answer, a 5xx or a 429: worth trying again later."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# A Retry-After longer than this is a broken or hostile server: wait this long instead.
MAX_RETRY_AFTER_S = 3600.0


class ApiClient:
    def __init__(self, server: str, token: str, timeout: float = 15.0):
        self.base = server.rstrip("/") + API_PREFIX
        self.token = token
        self.timeout = timeout
        # Set from a 429's or 503's Retry-After: no request leaves before it.
        self.not_before = 0.0

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        wait = self.not_before - time.monotonic()
        if wait > 0:
            raise TransientError(f"the server asked for a pause: {wait:.0f} s left", wait)
        req = urllib.request.Request(self.base + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("User-Agent", USER_AGENT)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - URL given by the student
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as exc:
            payload = _json(exc.read())
            if exc.code >= 500 or exc.code == 429:
                retry_after = _float(exc.headers.get("Retry-After"))
                if retry_after is not None:
                    retry_after = min(max(retry_after, 0.0), MAX_RETRY_AFTER_S)
                    self.not_before = time.monotonic() + retry_after
                raise TransientError(
                    f"HTTP {exc.code} from {self.base}{path}", retry_after
                ) from exc
            raise ApiError(exc.code, payload) from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise TransientError(f"cannot reach {self.base}{path}: {exc}") from exc

    def config(self) -> dict[str, Any]:
        return _object(self.request("GET", "/config")[1])

    def heartbeat(self, info: dict[str, Any]) -> dict[str, Any]:
        return _object(self.request("POST", "/heartbeat", json.dumps(info).encode())[1])

    def claim(self, run_id: int, *, redelivered: bool = False) -> dict[str, Any] | None:
        """The claim, or None when the run is not queued any more (already taken, expired).

        `redelivered`: the broker gave this run back after the worker that had it
        died mid-run; the server allows one such re-run.
        """
        body = json.dumps({"redelivered": True}).encode() if redelivered else b""
        try:
            return _object(self.request("POST", f"/runs/{run_id}/claim", body)[1])
        except ApiError as exc:
            if exc.status in (404, 409):
                return None
            raise

    def post_report(self, body: bytes) -> tuple[int, Any]:
        return self.request("POST", "/reports", body)


def _object(body: Any) -> dict[str, Any]:
    """A JSON object from the API; anything else (a proxy's page) is not the server's answer."""
    if not isinstance(body, dict):
        raise ApiError(200, body)
    return body


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw[:500].decode("utf-8", "replace")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def with_backoff(
    call: Callable[[], T],
    *,
    deadline_s: float,
    base_s: float = 0.5,
    cap_s: float = 30.0,
    on_retry: Callable[[TransientError, float], None] | None = None,
) -> T:
    """Call until it succeeds, retrying TransientError with exponential backoff and jitter.

    Raises the last TransientError once deadline_s has passed; ApiError at once.
    """
    give_up_at = time.monotonic() + deadline_s
    attempt = 0
    while True:
        try:
            return call()
        except TransientError as exc:
            ceiling = min(cap_s, base_s * 2**attempt)
            delay = exc.retry_after or ceiling / 2 + random.uniform(0, ceiling / 2)
            attempt += 1
            if time.monotonic() + delay > give_up_at:
                raise
            if on_retry:
                on_retry(exc, delay)
            time.sleep(delay)
