"""The students' broker as the server sees it: worker log-in names, queues, and
RabbitMQ's management API (to close a revoked worker's connection).

On RabbitMQ each student's worker logs in as `worker-<token id>` with its worker
token as the password; /internal/broker/ (broker_auth.py) tells RabbitMQ what that
user may do. The server declares each student's queue and publishes to it as its
own user, `server`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from amqp.exceptions import AMQPError
from django.conf import settings
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

# What a broker that is down, refusing, or misconfigured raises.
UNREACHABLE = (OperationalError, OSError, AMQPError)
LOGIN_PREFIX = "worker-"
_LOGIN = re.compile(r"worker-([1-9][0-9]{0,17})")


def worker_login(*, token_id: int) -> str:
    return f"{LOGIN_PREFIX}{token_id}"


def token_id_of(login: str) -> int | None:
    """The token id a broker user name stands for, or None if it is no worker's name."""
    match = _LOGIN.fullmatch(login)
    return int(match.group(1)) if match else None


def is_rabbitmq(url: str) -> bool:
    return url.startswith(("amqp://", "amqps://", "pyamqp://"))


def student_broker_url() -> str:
    """Where the server publishes students' runs: the students' vhost, or its own broker."""
    return settings.DIAGNOSTICS_STUDENT_BROKER_URL or settings.CELERY_BROKER_URL


def publish_settings(url: str) -> tuple[dict, dict]:
    """Transport options and message properties for publishing a student's run."""
    if not is_rabbitmq(url):
        return dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS), {}
    # RabbitMQ confirms each run it stored and nacks one a full queue refused; it
    # also checks that a message's user_id is the user who published it.
    return {"confirm_publish": True}, {"user_id": urlsplit(url).username}


def student_queue(name: str) -> Queue | str:
    """The queue a student's runs go to. On RabbitMQ: durable, on the default
    exchange, holding at most DIAGNOSTICS_QUEUE_MAX_LENGTH runs (more are refused)
    for at most the run's queue timeout. Elsewhere (the filesystem default) just its name."""
    if not is_rabbitmq(student_broker_url()):
        return name
    return Queue(
        name,
        exchange=Exchange(""),
        routing_key=name,
        durable=True,
        queue_arguments={
            "x-queue-type": "classic",
            "x-max-length": settings.DIAGNOSTICS_QUEUE_MAX_LENGTH,
            "x-overflow": "reject-publish",
            "x-message-ttl": settings.DIAGNOSTICS_QUEUE_TIMEOUT * 1000,
        },
    )


def declare_student_queue(name: str) -> None:
    """Create the queue on RabbitMQ if it isn't there (its worker may not create it)."""
    queue = student_queue(name)
    if isinstance(queue, str):
        return
    with Connection(student_broker_url(), connect_timeout=2) as conn:
        queue(conn.default_channel).declare()


# --- The management API -------------------------------------------------------


class ManagementError(Exception):
    pass


class Gone(ManagementError):
    """404: the connection (or vhost) is not there, say it closed by itself meanwhile."""


def _management(method: str, path: str) -> object:
    url = settings.DIAGNOSTICS_BROKER_MANAGEMENT_URL
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}"
    request = urllib.request.Request(base + path, method=method)
    credentials = f"{parts.username or ''}:{parts.password or ''}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    request.add_header("X-Reason", "TorchReady: worker token revoked")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our setting
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise Gone(f"{method} {path}: HTTP 404") from exc
        raise ManagementError(f"{method} {path}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ManagementError(f"{method} {path}: {exc}") from exc
    return json.loads(body) if body else None


def worker_connections() -> list[dict]:
    """Open connections in the students' vhost: [{"name": ..., "user": ...}]."""
    vhost = quote(settings.DIAGNOSTICS_STUDENT_VHOST, safe="")
    try:
        found = _management("GET", f"/api/vhosts/{vhost}/connections?columns=name,user")
    except Gone:
        return []
    rows = found if isinstance(found, list) else []
    return [c for c in rows if isinstance(c, dict) and "name" in c]


def close_connections(connections: Iterable[dict]) -> int:
    closed = 0
    for connection in connections:
        try:
            _management("DELETE", f"/api/connections/{quote(connection['name'], safe='')}")
        except Gone:  # closed by itself since it was listed: not ours to count
            continue
        log.info("closed broker connection %s of %s", connection["name"], connection.get("user"))
        closed += 1
    return closed


def management_enabled() -> bool:
    return bool(settings.DIAGNOSTICS_BROKER_MANAGEMENT_URL)
