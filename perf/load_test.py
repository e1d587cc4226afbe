"""Load: simulated students' workers against gunicorn + PostgreSQL + Redis.

N workers (threads, 300 by default) each send heartbeats and post reports in a
loop for --seconds (60 by default), retrying a report on connection errors and
5xx like the real worker, while an instructor's class dashboard refreshes every
--dashboard-every seconds. Prints requests/s, p50/p95/p99 latency and errors, then
checks in the database that every report acknowledged is stored exactly once.

Loopback only and bounded in time: gunicorn with deploy/gunicorn.conf.py (2
processes) on a free port, its own PostgreSQL database (torchready_load, dropped
and recreated) and Redis database 7 on 127.0.0.1:6379. The per-token rate limit is
raised for the run (--rate-limit), so the figures measure the server, not the limit.

    .venv/bin/python perf/load_test.py [--workers 300] [--seconds 60] [--think 1.0]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
PY = str(Path(sys.executable))
INSTRUCTOR_PASSWORD = "load-test-instructor-password-1"

SETUP = """
import json
from django.contrib.auth import get_user_model
from learning.models import Klass, Module, Objective
from learning.services.accounts import ensure_roles, make_instructor
from diagnostics.services import token_create
User = get_user_model()
_, students = ensure_roles()
teacher = User.objects.create_user("load-instructor", password="%s")
make_instructor(user=teacher)
klass = Klass.objects.create(name="Load class")
klass.instructors.add(teacher)
module = Module.objects.create(slug="env", source_path="env.md", title="Environment", sort=1)
Objective.objects.create(module=module, order=0, text="A GPU env", key="gpu", verifier="gpu-env")
klass.modules.add(module)
users = [User(username=f"load-student-{n:04d}") for n in range(%d)]
for user in users:
    user.set_unusable_password()
users = User.objects.bulk_create(users)
students.user_set.add(*users)
klass.students.add(*users)
print(json.dumps({"class_id": klass.pk, "tokens": [token_create(student=u)[1] for u in users]}))
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", sql], check=True, capture_output=True)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.acked: set[str] = set()
        self.replays = 0

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if not ok:
                self.errors[f"{kind}: {detail}"] += 1


def report_body() -> tuple[str, bytes]:
    from diagnostics.agent.report import Report

    report = Report(tool_version="load").model_dump(mode="json")
    body = {"run_id": None, "outcome": "completed", "detail": "", "report": report}
    return report["report_id"], json.dumps(body, separators=(",", ":")).encode()


def request(conn_box: list, method: str, path: str, body: bytes | None, headers: dict):
    """One request on the thread's keep-alive connection, reconnecting once if it dropped."""
    for attempt in (1, 2):
        try:
            if conn_box[0] is None:
                conn_box[0] = http.client.HTTPConnection(*conn_box[1], timeout=30)
            conn_box[0].request(method, path, body=body, headers=headers)
            response = conn_box[0].getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                conn_box[0].close()
                conn_box[0] = None
            return response.status, data
        except (OSError, http.client.HTTPException):
            if conn_box[0] is not None:
                conn_box[0].close()
            conn_box[0] = None
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def student_worker(
    address, token: str, stop: threading.Event, drain: float, stats: Stats, think: float
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = [None, address]
    beat = json.dumps({"state": "idle", "worker_version": "load", "python": "3.11"}).encode()
    time.sleep(random.random() * think)  # spread the start
    while not stop.is_set():
        start = time.perf_counter()
        try:
            status, _ = request(conn, "POST", "/api/v1/heartbeat", beat, headers)
            stats.record("heartbeat", time.perf_counter() - start, status == 200, str(status))
        except OSError as exc:
            stats.record("heartbeat", time.perf_counter() - start, False, type(exc).__name__)
        report_id, body = report_body()
        sends = 2 if random.random() < 0.05 else 1  # some replays: idempotency under load
        for _ in range(sends):
            deadline = time.monotonic() + drain
            delay = 0.2
            while True:  # like the worker's spool: retry until a 2xx or a 4xx
                start = time.perf_counter()
                try:
                    status, _ = request(conn, "POST", "/api/v1/reports", body, headers)
                except OSError as exc:
                    status, detail = 0, type(exc).__name__
                else:
                    detail = str(status)
                ok = status in (200, 201)
                stats.record("report", time.perf_counter() - start, ok, detail)
                if ok or 400 <= status < 500 and status != 429:
                    break
                if stop.is_set() and time.monotonic() > deadline:
                    break
                time.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 5)
            if ok:
                with stats.lock:
                    if report_id in stats.acked:
                        stats.replays += 1
                    stats.acked.add(report_id)
        stop.wait(think)


def instructor(address, class_id: int, stop: threading.Event, stats: Stats, every: float):
    import urllib.parse

    conn = [None, address]
    # Log in through the form: a real session cookie and CSRF token.
    raw = http.client.HTTPConnection(*address, timeout=30)
    raw.request("GET", "/accounts/login/")
    response = raw.getresponse()
    html = response.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode(
        {
            "username": "load-instructor",
            "password": INSTRUCTOR_PASSWORD,
            "csrfmiddlewaretoken": token,
        }
    )
    raw.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
        },
    )
    response = raw.getresponse()
    response.read()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    cookie = f"sessionid={session}; csrftoken={csrf_cookie}"
    while not stop.is_set():
        start = time.perf_counter()
        try:
            status, _ = request(conn, "GET", f"/teach/{class_id}/", None, {"Cookie": cookie})
            stats.record("dashboard", time.perf_counter() - start, status == 200, str(status))
        except OSError as exc:
            stats.record("dashboard", time.perf_counter() - start, False, type(exc).__name__)
        stop.wait(every)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="pause per worker loop (s)")
    parser.add_argument("--dashboard-every", type=float, default=2.0)
    parser.add_argument("--rate-limit", type=int, default=100_000)
    parser.add_argument("--db", default="torchready_load")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--drain", type=float, default=30, help="retry time after the end (s)")
    args = parser.parse_args()

    port = free_port()
    var = Path(os.environ.get("TMPDIR", "/tmp")) / f"torchready-load-{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DATABASE_URL": f"{PG}/{args.db}",
        "CELERY_BROKER_URL": args.redis,
        "SECRET_KEY": "load-test-" + uuid.uuid4().hex,
        "DIAGNOSTICS_RATE_LIMIT": str(args.rate_limit),
        "TORCHREADY_VAR_DIR": str(var),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    psql(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{args.db}"')
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run(
        [PY, "manage.py", "shell", "-c", SETUP % (INSTRUCTOR_PASSWORD, args.workers)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    world = json.loads(setup.stdout.strip().splitlines()[-1])
    gunicorn = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(var / "gunicorn.log").open("w")
        if var.mkdir(parents=True, exist_ok=True) is None
        else None,
    )
    address = ("127.0.0.1", port)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection(*address, timeout=1).request("GET", "/accounts/login/")
                break
            except OSError:
                time.sleep(0.2)
        stats, stop = Stats(), threading.Event()
        threads = [
            threading.Thread(
                target=student_worker,
                daemon=True,
                args=(address, token, stop, args.drain, stats, args.think),
            )
            for token in world["tokens"]
        ]
        threads.append(
            threading.Thread(
                target=instructor,
                args=(address, world["class_id"], stop, stats, args.dashboard_every),
                daemon=True,
            )
        )
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        measured = time.perf_counter() - started
        for thread in threads:
            thread.join(timeout=args.drain + 30)
        stuck = sum(thread.is_alive() for thread in threads)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    import psycopg

    with psycopg.connect(f"{PG}/{args.db}") as conn:
        stored = conn.execute(
            "SELECT report_id::text, count(*) FROM diagnostics_report GROUP BY report_id"
        ).fetchall()
    stored_ids = {row[0] for row in stored}
    duplicated = sum(1 for row in stored if row[1] > 1)
    lost = stats.acked - stored_ids
    unexpected = stored_ids - stats.acked

    total = sum(len(v) for v in stats.latency.values())
    print(
        f"\n{args.workers} workers, {args.seconds:g} s, think {args.think:g} s, "
        f"gunicorn 2 processes x {os.environ.get('GUNICORN_THREADS', '4')} threads"
    )
    print(
        f"{'requests':<10} {total / measured:8.1f} req/s over {measured:.1f} s ({total} requests)"
    )
    print(f"{'kind':<10} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in ("heartbeat", "report", "dashboard"):
        values = stats.latency.get(kind) or [0.0]
        print(
            f"{kind:<10} {len(stats.latency.get(kind, [])):>7} "
            f"{len(stats.latency.get(kind, [])) / measured:>7.1f} "
            f"{percentile(values, 50) * 1000:>8.1f} {percentile(values, 95) * 1000:>8.1f} "
            f"{percentile(values, 99) * 1000:>8.1f}"
        )
    errors = sum(stats.errors.values())
    print(f"errors: {errors} {dict(stats.errors) if errors else ''}")
    print(
        f"reports acknowledged: {len(stats.acked)} (replays answered: {stats.replays}); "
        f"stored: {len(stored_ids)}; lost: {len(lost)}; duplicated: {duplicated}; "
        f"stored but never acknowledged: {len(unexpected)}; "
        f"threads still running: {stuck}"
    )
    if lost or duplicated:
        sys.exit("FAIL: a report was lost or stored twice")


if __name__ == "__main__":
    main()
