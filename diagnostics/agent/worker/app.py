"""The student's Celery worker: one queue, one task, no fork.

The pool is solo: the worker never forks, and the check itself runs in a fresh
subprocess, so CUDA is never initialised in a process that forks. Solo has no
Celery time limits; the subprocess timeout is the hard limit that fires.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery

from diagnostics.agent import __version__
from diagnostics.agent.probe.environment import collect_env
from diagnostics.agent.worker import poster, runner
from diagnostics.agent.worker.client import ApiClient, TransientError, with_backoff
from diagnostics.agent.worker.protocol import RUN_TASK
from diagnostics.agent.worker.spool import Spool, SpoolError

log = logging.getLogger("torchready.worker")


@dataclass
class WorkerSettings:
    server: str
    token: str
    spool_dir: Path | None = None
    python: str | None = None  # the interpreter that runs the check; ours by default
    post_deadline_s: float = 300.0
    check_command: list[str] | None = None  # tests only: a stand-in for the check
    state: dict = field(default_factory=lambda: {"state": "starting"})


def make_app(config: dict, settings: WorkerSettings, client: ApiClient, spool: Spool) -> Celery:
    app = Celery("torchready-worker", set_as_current=True)
    timeout = float(config.get("check_timeout", 120))
    options = dict(config.get("broker_transport_options") or {})
    if config["broker_url"].startswith("filesystem://"):
        # The filesystem broker is polled (kombu's default: every second); a
        # folder listing five times a second keeps a click's latency down.
        options.setdefault("polling_interval", 0.2)
    app.conf.update(
        broker_url=config["broker_url"],
        # Celery prefers a CELERY_BROKER_URL in the environment over broker_url;
        # the read and write URLs pin the server's broker whatever the env says.
        broker_read_url=config["broker_url"],
        broker_write_url=config["broker_url"],
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        accept_content=["json"],
        task_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_enable_remote_control=False,
        task_default_queue=config["queue"],
    )

    @app.task(
        name=RUN_TASK,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        # Solo ignores these; they bound the task under a threads or prefork pool.
        soft_time_limit=timeout + settings.post_deadline_s,
        time_limit=timeout + settings.post_deadline_s + 30,
        autoretry_for=(TransientError,),
        retry_backoff=True,
        retry_jitter=True,
        max_retries=5,
    )
    def run_check(self, run_id: int, mode: str = "quick") -> str:
        return execute_run(run_id=run_id, mode=mode, settings=settings, client=client, spool=spool)

    return app


def execute_run(
    *, run_id: int, mode: str, settings: WorkerSettings, client: ApiClient, spool: Spool
) -> str:
    """Claim, check, spool, post. A redelivered task finds the run taken and does nothing."""
    claim = with_backoff(lambda: client.claim(run_id), deadline_s=30)
    if claim is None:
        log.info("run %s is not queued any more; skipping it", run_id)
        return "skipped"
    timeout = float(claim.get("timeout", 120))
    log.info("run %s claimed: running the %s check (limit %g s)", run_id, mode, timeout)
    # "running" until the report is delivered, so the heartbeat's spool flush
    # never posts the same file at the same time.
    settings.state["state"] = "running"
    try:
        outcome = runner.run_check(
            mode, timeout, python=settings.python, command=settings.check_command
        )
        log.info("run %s: the check %s in %.1f s", run_id, outcome.outcome, outcome.seconds)
        body = poster.submission_body(outcome.report, run_id, outcome.outcome, outcome.detail)
        try:
            path = poster.spool_submission(spool, body)
        except SpoolError as exc:
            # Better a report posted without a copy on disk than none at all.
            log.error("%s; posting run %s's report without a spool copy", exc.strerror, run_id)
            return poster.deliver_unspooled(client, body, deadline_s=settings.post_deadline_s)
        return poster.deliver(client, spool, path, deadline_s=settings.post_deadline_s)
    finally:
        settings.state["state"] = "idle"


def heartbeat_loop(
    client: ApiClient,
    spool: Spool,
    settings: WorkerSettings,
    interval: float,
    stop: threading.Event,
):
    """Say we are alive, and resend anything left in the spool, until stopped."""
    where = environment_info()
    while not stop.is_set():
        try:
            client.heartbeat(
                {
                    "worker_version": __version__,
                    "python": platform.python_version(),
                    "platform": platform.platform()[:200],
                    "state": settings.state["state"],
                    **where,
                }
            )
            if spool.pending() and settings.state["state"] != "running":
                poster.flush(client, spool)
        except Exception as exc:  # noqa: BLE001 - the heartbeat thread must outlive any error
            log.warning("heartbeat failed: %s", exc)
        stop.wait(interval)


def environment_info() -> dict:
    """Which env the worker runs in and which torch it holds (without importing it):
    the set-up checklist ticks its steps from this before any check has run."""
    env = collect_env()
    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = ""
    return {
        "env_kind": env.kind,
        "env_name": env.conda_env_name or "",
        "torch": torch[:50],
    }


def start(settings: WorkerSettings) -> int:
    """Fetch the configuration, resend the spool, start heartbeats, consume the queue."""
    client = ApiClient(settings.server, settings.token)
    spool = Spool(settings.spool_dir)

    def note(exc: TransientError, delay: float) -> None:
        log.warning("server not reachable (%s); retrying in %.0f s", exc, delay)

    config = with_backoff(client.config, deadline_s=24 * 3600, cap_s=60, on_retry=note)
    log.info(
        "worker for queue %s on %s (spool %s)",
        config["queue"],
        _broker_label(config["broker_url"]),
        spool.folder,
    )
    counts = poster.flush(client, spool)
    if any(counts.values()):
        log.info("spool on start: %s", counts)
    settings.state["state"] = "idle"
    stop = threading.Event()
    beat = threading.Thread(
        target=heartbeat_loop,
        args=(client, spool, settings, float(config.get("heartbeat_interval", 15)), stop),
        name="torchready-heartbeat",
        daemon=True,
    )
    beat.start()
    app = make_app(config, settings, client, spool)
    try:
        app.worker_main(
            [
                "worker",
                "--queues",
                config["queue"],
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"torchready@{socket.gethostname()}",
                "--loglevel",
                "INFO",
            ]
        )
    finally:
        stop.set()
    return 0


def _broker_label(url: str) -> str:
    """The broker URL without its password, for the log."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
