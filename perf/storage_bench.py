"""Database growth per 1,000 reports, as stored, and after the retention policy.

Posts reports through the real API (Django's test client, in process) into a
scratch database, one student, a fresh report_id each; measures the database
before and after, then runs the retention task (when this version of the code
has one) and measures again. Two bodies: the recorded H100 report (7 KB), and
the same report padded near the API's 256 KiB limit with 200 pip and 200 conda
packages of random text (compresses badly), as the issue's 237 kB reports were.
Prints, asserts nothing.

    .venv/bin/python perf/storage_bench.py [--reports 1000] [--database sqlite|postgres]

Run it from another checkout (e.g. before a change) with --root to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
DB = "torchready_storage_bench"


def padded(report: dict) -> dict:
    """The H100 report grown towards 237 kB within every field's limits, with random
    text that compresses badly: the worst case a hostile student can send."""
    rng = random.Random(11)

    def noise(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    report = json.loads(json.dumps(report))
    report["packages"]["pip"] = [
        {"name": noise(20), "version": "1.0", "installer": "pip", "location": "/" + noise(800)}
        for _ in range(200)
    ]
    report["packages"]["conda"] = [
        {"name": noise(20), "version": "2.0", "build": noise(150), "channel": "c"}
        for _ in range(200)
    ]
    return report


def size(connection) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
        return cursor.fetchone()[0]


def compact(connection) -> None:
    """Give freed space back, so the size measures what is kept, not what was deleted."""
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL" if connection.vendor == "postgresql" else "VACUUM")


def child(count: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from diagnostics import services

    call_command("migrate", verbosity=0)
    student = get_user_model().objects.create_user("bench")
    token = services.token_create(student=student)[1]
    fixture = json.loads((HERE / "tests/diagnostics/fixtures/h100_ok.json").read_text())
    client = Client()
    results = {}
    for kind, report in (("h100 7 KB", fixture), ("padded", padded(fixture))):
        compact(connection)
        before = size(connection)
        for _ in range(count):
            report["report_id"] = str(uuid.uuid4())
            report["created_at"] = datetime.now(timezone.utc).isoformat()
            body = json.dumps({"run_id": None, "report": report})
            response = client.post(
                "/api/v1/reports",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            assert response.status_code == 201, response.content[:300]
        compact(connection)
        stored = size(connection) - before
        pruned = None
        if hasattr(services, "reports_prune"):
            services.reports_prune(keep=settings.DIAGNOSTICS_KEEP_RAW_REPORTS)
            compact(connection)
            pruned = size(connection) - before
        results[kind] = {"body": len(body), "stored": stored, "pruned": pruned}
        # The next kind starts from an empty table, so its growth is its own.
        from diagnostics.models import Report

        Report.objects.all().delete()
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to measure")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.reports)
        return
    work = Path(tempfile.mkdtemp(prefix="storage-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TORCHREADY_VAR_DIR": str(work),
        "DIAGNOSTICS_RATE_LIMIT": "100000000",
        "DIAGNOSTICS_DAILY_REPORT_QUOTA": "100000000",
        "PYTHONPATH": str(args.root),
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "testserver",
    }
    env.pop("DATABASE_URL", None)
    if args.database == "postgres":
        env["DATABASE_URL"] = f"{PG}/{DB}"
        for sql in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
            subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True, capture_output=True)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--reports", str(args.reports)],
            cwd=args.root,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        if args.database == "postgres":
            sql = f"DROP DATABASE IF EXISTS {DB}"
            subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], capture_output=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    results = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{args.database}, {args.reports} reports of one student, code at {args.root}")
    for kind, r in results.items():
        per_1000 = 1000 / args.reports
        line = (
            f"  {kind:10} body {r['body'] / 1024:6.1f} KiB: "
            f"{r['stored'] * per_1000 / 2**20:7.1f} MiB per 1,000 reports as stored"
        )
        if r["pruned"] is not None:
            line += f", {r['pruned'] * per_1000 / 2**20:6.1f} MiB after retention"
        print(line)


if __name__ == "__main__":
    main()
