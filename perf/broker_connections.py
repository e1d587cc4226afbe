"""300 students' workers connected at once to a private RabbitMQ node, auth cache on and off.

Each simulated worker does what `python -m diagnostics worker` does on the broker:
logs in as worker-<token id> with its token (RabbitMQ asks Django's
/internal/broker/ user and vhost endpoints), opens a channel, sets prefetch 1 and
consumes its own queue (the resource endpoint: read on that queue). All stay
connected while the node's memory is read from the management API. Then every
connection drops and reconnects at once (a network blip, or the class's
workers restarting together): with the cache, RabbitMQ answers that second wave
from memory for up to 30 s.

The server is gunicorn with deploy/gunicorn.conf.py (2 processes x 4 threads) on
a scratch SQLite database under a temporary folder (or --database-url); its access
log counts the auth requests that reach Django. Run as root (the node drops to the
rabbitmq user). Prints figures; asserts nothing.

    .venv/bin/python perf/broker_connections.py [--workers 300] [--threads 16]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rabbitmq import PrivateNode, free_port  # noqa: E402

SETUP = """
import json
from django.contrib.auth import get_user_model
from diagnostics import broker, services
from learning.services.accounts import ensure_roles
User = get_user_model()
_, students = ensure_roles()
users = User.objects.bulk_create(
    [User(username=f"conn-student-{n:04d}", password="!") for n in range(%d)]
)
students.user_set.add(*users)
out = []
for user in users:
    token, raw = services.token_create(student=user)
    out.append([broker.worker_login(token_id=token.pk), raw, services.queue_name(student=user)])
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=300)
    parser.add_argument("--threads", type=int, default=16, help="connections opened in parallel")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    print(
        f"{args.workers} workers, {args.threads} connecting in parallel, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for cache_ms in (30000, 0):
        one_run(args, cache_ms)


def one_run(args, cache_ms: int) -> None:
    var = Path(tempfile.mkdtemp(prefix="broker-conn-"))
    port = free_port()
    node = PrivateNode(
        auth_url=f"http://127.0.0.1:{port}/internal/broker",
        auth_secret=secrets.token_hex(24),
        cache_ttl_ms=cache_ms,
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "TORCHREADY_VAR_DIR": str(var),
        "STUDENT_BROKER_URL": node.url("students"),
        "TORCHREADY_WORKER_BROKER_URL": f"amqp://127.0.0.1:{node.amqp_port}/students",
        "STUDENT_BROKER_MANAGEMENT_URL": node.management_url,
        "BROKER_AUTH_SECRET": node.auth_secret,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(var / "access.log"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    gunicorn = None
    try:
        node.start()
        run(env, "manage.py", "migrate", "-v0")
        workers = json.loads(run(env, "manage.py", "shell", "-c", SETUP % args.workers))
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py"]
            + ["config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(var / "gunicorn.err").open("w"),
        )
        wait_http(port)
        time.sleep(6)  # the management API's statistics come every 5 s
        baseline = node_memory(node)
        label = f"auth cache {cache_ms // 1000} s" if cache_ms else "auth cache off"
        conns, first = connect_all(node, workers, args.threads, var)
        time.sleep(6)
        loaded = node_memory(node)
        listed = node.management("/overview")["object_totals"]["connections"]
        for conn in conns:
            conn.close()
        conns, second = connect_all(node, workers, args.threads, var)
        for conn in conns:
            conn.close()
        print(f"{label}:")
        print(f"  node memory: {mib(baseline)} idle, {mib(loaded)} with {listed} connections")
        print(f"  = {(loaded - baseline) / max(1, len(workers)) / 1024:.0f} KiB a worker")
        for name, (seconds, requests) in (("first connect", first), ("reconnect", second)):
            print(
                f"  {name:14}: {len(workers)} connected in {seconds:.2f} s; "
                f"{requests} auth requests reached Django ({requests / seconds:.0f}/s, "
                f"{requests / len(workers):.1f} a worker)"
            )
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        node.remove()


def connect_all(node, workers, threads: int, var: Path):
    """Every worker logged in and consuming its queue; (connections, (seconds, auth requests))."""
    import amqp

    log = var / "access.log"
    before = auth_requests(log)
    lock = threading.Lock()
    conns: list = []

    def one(worker):
        login, token, queue = worker
        conn = amqp.Connection(
            f"127.0.0.1:{node.amqp_port}",
            userid=login,
            password=token,
            virtual_host="students",
            heartbeat=0,
            connect_timeout=30,
        )
        conn.connect()
        channel = conn.channel()
        channel.basic_qos(0, 1, False)
        channel.basic_consume(queue, callback=lambda message: None)
        with lock:
            conns.append(conn)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, workers))
    seconds = time.perf_counter() - started
    time.sleep(1)  # the access log is written after each response
    return conns, (seconds, auth_requests(log) - before)


def auth_requests(log: Path) -> int:
    if not log.exists():
        return 0
    with log.open() as lines:
        return sum("/internal/broker/" in line for line in lines)


def node_memory(node) -> int:
    return node.management(f"/nodes/{node.name}")["mem_used"]


def mib(value: int) -> str:
    return f"{value / 2**20:.0f} MiB"


def run(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def wait_http(port: int) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


if __name__ == "__main__":
    main()
