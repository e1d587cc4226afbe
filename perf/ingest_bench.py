"""Report ingestion: reports/s into POST /api/v1/reports under gunicorn (2 workers)
on PostgreSQL, against a trivial POST view served by the same gunicorn, as a ratio.

Loopback only and bounded: a scratch database, a fixed number of requests per
round, rounds alternating between the two endpoints. Prints, asserts nothing.

    .venv/bin/python perf/ingest_bench.py [--requests 300] [--rounds 2] [--clients 4]

INGEST_BENCH_ROOT=/path/to/other/checkout measures another version of the code with
this script (before and after a change, interleaved); INGEST_BENCH_DB names the
scratch database (default torchready_ingest_bench).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(os.environ.get("INGEST_BENCH_ROOT") or Path(__file__).resolve().parent.parent)
FIXTURE = Path(__file__).resolve().parent.parent / "tests/diagnostics/fixtures/h100_ok.json"
PG = "postgres://postgres@127.0.0.1:5432"
DB = os.environ.get("INGEST_BENCH_DB", "torchready_ingest_bench")

SETTINGS = """
from config.settings import *  # noqa: F403
ROOT_URLCONF = "ingest_urls"
"""
URLS = """
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def trivial(request):
    request.read()
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [path("trivial", trivial), path("", include("config.urls"))]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", sql], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per round and endpoint")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    (work / "ingest_settings.py").write_text(SETTINGS)
    (work / "ingest_urls.py").write_text(URLS)
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/7",
        "TORCHREADY_VAR_DIR": str(work / "var"),
        "DIAGNOSTICS_RATE_LIMIT": "1000000",
        "DIAGNOSTICS_DAILY_REPORT_QUOTA": "1000000",
        "DJANGO_SETTINGS_MODULE": "ingest_settings",
        "PYTHONPATH": f"{work}:{ROOT}",
        "LOG_LEVEL": "WARNING",
    }
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # The course, so that each report is applied as evidence to its objective, as in use.
    seed = ["manage.py", "import_module", "content/modules/virtual-environments-pytorch.md"]
    subprocess.run([py, *seed], cwd=ROOT, env=env, check=True, capture_output=True)
    token = (
        subprocess.run(
            [
                py,
                "manage.py",
                "shell",
                "-c",
                "from django.contrib.auth import get_user_model; from diagnostics import services;"
                "u = get_user_model().objects.create_user('bench');"
                "print(services.token_create(student=u)[1])",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [
            py,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base)
        report = json.loads(FIXTURE.read_text())
        results: dict[str, list[float]] = {"trivial": [], "reports": []}
        for _ in range(args.rounds):
            for name in ("trivial", "reports"):
                bodies = [body(report) for _ in range(args.requests)]
                path = "/trivial" if name == "trivial" else "/api/v1/reports"
                results[name].append(run_round(base + path, token, bodies, args.clients))
        stored = (
            subprocess.run(
                [
                    py,
                    "manage.py",
                    "shell",
                    "-c",
                    "from diagnostics.models import Report; print(Report.objects.count())",
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        psql(f"DROP DATABASE IF EXISTS {DB}")
    size = len(body(report))
    print(
        f"gunicorn 2 sync workers, PostgreSQL, Redis cache; {args.clients} client threads; "
        f"{args.requests} requests x {args.rounds} rounds per endpoint; body {size} bytes"
    )
    for name, rates in results.items():
        print(
            f"  {name:8}: "
            + ", ".join(f"{r:.0f}/s" for r in rates)
            + f"  (median {statistics.median(rates):.0f}/s)"
        )
    ratio = statistics.median(results["reports"]) / statistics.median(results["trivial"])
    print(f"  reports stored: {stored}")
    print(f"  ratio reports/trivial: {ratio:.2f}")


def body(report: dict) -> bytes:
    # A fresh id, and the time of sending: the server refuses a clock 2 days off.
    now = datetime.now(timezone.utc).isoformat()
    fresh = dict(report, report_id=str(uuid.uuid4()), created_at=now)
    return json.dumps({"run_id": None, "report": fresh}).encode()


def wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def run_round(url: str, token: str, bodies: list[bytes], clients: int) -> float:
    def post(data: bytes) -> int:
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    assert all(s == 201 for s in statuses), set(statuses)
    return len(bodies) / elapsed


if __name__ == "__main__":
    main()
