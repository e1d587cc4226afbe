"""Fault: a server-side Celery worker killed mid-task; its task is redelivered.

    .venv/bin/python perf/fault_server_worker.py

Bounded (at most about 4 min; about 2 min in practice), loopback only: a
scratch PostgreSQL database and Redis database 14 on the local services. It
holds a lock on the runs table so the sweep task (`diagnostics.sweep_stale_runs`,
the only server-side task) blocks mid-run, SIGKILLs the worker running it,
starts a second worker with docker-compose's command (`celery -A config
worker`), releases the lock, and checks that the redelivered task expired the
stale run. The visibility timeout is 5 s here (production: 3,600 s). kombu
restores unacknowledged messages from the worker's event loop every 10 s but
scans only every 10th time, so the redelivery comes about 100 s after the kill;
the solo pool runs no event loop, which is why this uses compose's prefork.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
DB = "torchready_fault_worker"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER = "redis://127.0.0.1:6379/14"


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        # docker-compose's worker command (prefork, 2 processes): its event loop is what
        # restores unacknowledged messages past the visibility timeout.
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(predicate, seconds: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.2)
    raise SystemExit(f"FAILED: {what} within {seconds} s")


def main() -> None:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    redis.Redis.from_url(BROKER).flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="fault-worker-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "TORCHREADY_VAR_DIR": str(tmp / "var"),
        "PYTHONPATH": str(ROOT),
    }
    workers: list[subprocess.Popen] = []
    try:
        manage(env, "migrate", "--noinput")
        run_id = manage(
            env,
            "shell",
            "-c",
            (
                "from datetime import timedelta; from django.utils import timezone;"
                "from django.contrib.auth.models import User;"
                "from diagnostics.models import CheckRun;"
                "u = User.objects.create_user('stale');"
                "deadline = timezone.now() - timedelta(1);"
                "print(CheckRun.objects.create(student=u, deadline=deadline).pk)"
            ),
        )
        run_id = run_id.splitlines()[-1]  # the shell may print an auto-import line first
        state_sql = f"SELECT state FROM diagnostics_checkrun WHERE id = {int(run_id)}"
        with psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://")) as lock:
            lock.execute("LOCK TABLE diagnostics_checkrun IN ACCESS EXCLUSIVE MODE")
            workers.append(worker(env, tmp / "worker1.log"))
            manage(
                env,
                "shell",
                "-c",
                "from diagnostics.tasks import sweep_stale_runs; sweep_stale_runs.delay()",
            )
            wait_for(
                lambda: "sweep_stale_runs" in (tmp / "worker1.log").read_text(),
                30,
                "worker 1 receiving the sweep",
            )
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            with psycopg.connect(
                env["DATABASE_URL"].replace("postgres://", "postgresql://"), autocommit=True
            ) as probe:
                wait_for(
                    lambda: probe.execute(waiting, [DB]).fetchone()[0] == 1,
                    30,
                    "the sweep blocking on the lock, mid-task",
                )
            os.killpg(workers[0].pid, signal.SIGKILL)  # the worker and its pool processes
            workers[0].wait(10)
            print(f"worker 1 (pid {workers[0].pid}) killed with SIGKILL mid-task")
            # Its PostgreSQL backend would still finish the blocked UPDATE once the lock
            # goes, which would hide whether the task itself comes back: end it first.
            ended = lock.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
                [DB],
            ).fetchone()[0]
            assert ended == 1, f"expected worker 1's blocked query, found {ended}"
            workers.append(worker(env, tmp / "worker2.log"))
            lock.rollback()  # release the table
        print("worker 2 started, lock released; waiting for the redelivered sweep")
        with psycopg.connect(
            env["DATABASE_URL"].replace("postgres://", "postgresql://"), autocommit=True
        ) as db:
            took = wait_for(
                lambda: db.execute(state_sql).fetchone()[0] == "expired",
                150,
                "the redelivered sweep expiring the stale run",
            )
        assert "sweep_stale_runs" in (tmp / "worker2.log").read_text(), "worker 2 never got it"
        print(
            f"redelivered: worker 2 ran the sweep; the stale run is expired {took:.1f} s after "
            "worker 2 started (visibility timeout 5 s)"
        )
        print("OK")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        redis.Redis.from_url(BROKER).flushdb()


if __name__ == "__main__":
    main()
