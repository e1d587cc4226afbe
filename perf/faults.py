"""Faults, each bounded in time, on loopback only, never touching shared services:
a private PostgreSQL cluster (initdb in a temporary folder, its own port), a
private Redis for the cache (deploy/redis.sh) and a private RabbitMQ node
(deploy/rabbitmq.sh, persisted like the compose service, its own name and ports).

1. PostgreSQL restarted during load: simulated workers keep posting reports
   while the cluster restarts; they retry on 5xx and connection errors, and
   every report acknowledged is stored exactly once.
2. RabbitMQ restarted: a run is queued while the student's worker is stopped,
   RabbitMQ restarts, the worker starts again and runs it; a worker that was
   connected during a restart reconnects (logging in with its token again) and
   runs the next one.

    .venv/bin/python perf/faults.py [--workers 50] [--seconds 30] [--only postgres|rabbitmq]

Run as root (PostgreSQL's tools run as the postgres user through runuser).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_test import INSTRUCTOR_PASSWORD, SETUP, Stats, free_port, student_worker  # noqa: E402

PY = sys.executable
PG_BIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])


class PrivatePostgres:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.data = folder / "pg"
        self.data.mkdir(parents=True)
        shutil.chown(self.data, "postgres", "postgres")
        self.as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def as_postgres(self, *argv) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, argv)], check=True, capture_output=True
        )

    def ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self.as_postgres(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-w",
            "-l",
            self.data / "log",
            *extra,
            action,
        )


class PrivateRedis:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.passwords = {"server": secrets.token_hex(16)}
        self.proc = None

    def url(self, user: str, db: int) -> str:
        return f"redis://{user}:{self.passwords[user]}@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        env = {
            **os.environ,
            "REDIS_PORT": str(self.port),
            "REDIS_DIR": str(self.folder),
            "REDIS_APPENDONLY": "yes",
            "REDIS_ACL_FILE": str(self.folder / "users.acl"),
            "REDIS_SERVER_PASSWORD": self.passwords["server"],
        }
        self.proc = subprocess.Popen(
            ["sh", "deploy/redis.sh", "--appendfsync", "always"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url("server", 1))
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("private redis did not start")


def app_env(database_url: str, var: Path, port: int, **extra: str) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DATABASE_URL": database_url,
        "SECRET_KEY": "faults-" + uuid.uuid4().hex,
        "DIAGNOSTICS_RATE_LIMIT": "100000",
        "TORCHREADY_VAR_DIR": str(var),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        **extra,
    }


def prepare(env: dict, students: int) -> dict:
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run(
        [PY, "manage.py", "shell", "-c", SETUP % (INSTRUCTOR_PASSWORD, students)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(setup.stdout.strip().splitlines()[-1])


def gunicorn(env: dict, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    import http.client

    host, port = env["GUNICORN_BIND"].split(":")
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=1)
            conn.request("GET", "/accounts/login/")
            return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def sql(database_url: str, query: str) -> list:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()


def postgres_restart(pg: PrivatePostgres, tmp: Path, workers: int, seconds: float) -> None:
    print(f"\n== PostgreSQL restarted during load ({workers} workers, {seconds:g} s)")
    port = free_port()
    database = pg.url.rsplit("/", 1)[0] + "/torchready_faults"
    sql(pg.url, "SELECT 1")
    subprocess.run(["psql", pg.url, "-q", "-c", "CREATE DATABASE torchready_faults"], check=True)
    env = app_env(database, tmp / "var-pg", port, CELERY_BROKER_URL="memory://")
    world = prepare(env, workers)
    web = gunicorn(env, tmp / "gunicorn-pg.log")
    stats, stop = Stats(), threading.Event()
    threads = [
        threading.Thread(
            target=student_worker, daemon=True, args=(("127.0.0.1", port), t, stop, 60, stats, 0.5)
        )
        for t in world["tokens"]
    ]
    try:
        for thread in threads:
            thread.start()
        time.sleep(seconds / 3)
        before = sum(len(v) for v in stats.latency.values())
        started = time.perf_counter()
        pg.ctl("restart", "-m", "fast")
        down = time.perf_counter() - started
        time.sleep(seconds * 2 / 3)
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
    finally:
        web.terminate()
        web.wait(timeout=30)
    stored = sql(
        database, "SELECT report_id::text, count(*) FROM diagnostics_report GROUP BY report_id"
    )
    ids = {row[0] for row in stored}
    after = sum(len(v) for v in stats.latency.values()) - before
    print(f"restart took {down:.1f} s; requests before {before}, after {after}")
    print(
        f"errors seen by workers (then retried): {sum(stats.errors.values())} {dict(stats.errors)}"
    )
    lost, dup = len(stats.acked - ids), sum(1 for row in stored if row[1] > 1)
    print(
        f"reports acknowledged {len(stats.acked)}, stored {len(ids)}, lost {lost}, "
        f"duplicated {dup}, stored but never acknowledged {len(ids - stats.acked)}"
    )
    assert not lost and not dup and after > 0


def rabbitmq_restart(pg: PrivatePostgres, tmp: Path) -> None:
    print("\n== RabbitMQ restarted (durable queues, persistent runs, as in compose)")
    from tests.diagnostics.pipeline.processes import Worker, wait_for
    from tests.rabbitmq import PrivateNode

    redis_ = PrivateRedis(tmp)
    redis_.start()
    port = free_port()
    node = PrivateNode(
        auth_url=f"http://127.0.0.1:{port}/internal/broker", auth_secret=secrets.token_hex(24)
    )
    node.start()
    database = pg.url.rsplit("/", 1)[0] + "/torchready_faults_redis"
    subprocess.run(
        ["psql", pg.url, "-q", "-c", "CREATE DATABASE torchready_faults_redis"], check=True
    )
    env = app_env(
        database,
        tmp / "var-redis",
        port,
        CELERY_BROKER_URL=node.url("server"),
        CACHE_URL=redis_.url("server", 2),
        STUDENT_BROKER_URL=node.url("students"),
        TORCHREADY_WORKER_BROKER_URL=f"amqp://127.0.0.1:{node.amqp_port}/students",
        STUDENT_BROKER_MANAGEMENT_URL=node.management_url,
        BROKER_AUTH_SECRET=node.auth_secret,
        DIAGNOSTICS_QUEUE_TIMEOUT="120",
    )
    world = prepare(env, 1)
    web = gunicorn(env, tmp / "gunicorn-redis.log")
    url = f"http://127.0.0.1:{port}"
    token = world["tokens"][0]

    def queue_run() -> int:
        code = (
            "from django.contrib.auth import get_user_model; "
            "from diagnostics.services import run_create; "
            "u = get_user_model().objects.get(username='load-student-0000'); "
            "print(run_create(student=u).pk)"
        )
        out = subprocess.run(
            [PY, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return int(out.stdout.strip().splitlines()[-1])

    def state(run_id: int) -> str:
        return sql(database, f"SELECT state FROM diagnostics_checkrun WHERE id = {run_id}")[0][0]

    worker = None
    try:
        # a) queued while no worker runs, then RabbitMQ restarts, then the worker starts.
        run_a = queue_run()
        took = restart(node)
        print(
            f"run {run_a} queued with no worker; RabbitMQ restarted in {took:.1f} s; "
            f"state now {state(run_a)}"
        )
        worker = Worker(url, token, tmp / "spool", tmp / "student-worker.log")
        wait_for(lambda: state(run_a) not in ("queued", "running"), 120, f"run {run_a}")
        print(f"run {run_a} after the worker started: {state(run_a)}")
        # b) RabbitMQ restarts under a connected, idle worker; the next run still arrives.
        took = restart(node)
        started = time.perf_counter()
        run_b = queue_run()
        wait_for(lambda: state(run_b) not in ("queued", "running"), 120, f"run {run_b}")
        print(
            f"RabbitMQ restarted under a connected worker in {took:.1f} s; run {run_b} queued "
            f"after it: {state(run_b)} in {time.perf_counter() - started:.1f} s"
        )
        assert state(run_a) == "posted" and state(run_b) == "posted"
    finally:
        if worker:
            worker.kill()
        web.terminate()
        web.wait(timeout=30)
        redis_.proc.terminate()
        redis_.proc.wait(timeout=30)
        node.remove()


def restart(node) -> float:
    started = time.perf_counter()
    node.restart()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--only", choices=["postgres", "rabbitmq"], help="run one fault")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="torchready-faults-"))
    tmp.chmod(0o755)
    pg = PrivatePostgres(tmp)
    pg.ctl("start")
    try:
        if args.only != "rabbitmq":
            postgres_restart(pg, tmp, args.workers, args.seconds)
        if args.only != "postgres":
            rabbitmq_restart(pg, tmp)
    finally:
        pg.ctl("stop", "-m", "fast")
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nno report lost or duplicated; queued runs survived the RabbitMQ restart")


if __name__ == "__main__":
    main()
