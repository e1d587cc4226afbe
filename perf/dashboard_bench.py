"""Dashboard benchmark: a class of 10, 100 and 1,000 students, 3 objectives, 5 reports each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/torchready \
        .venv/bin/python perf/dashboard_bench.py [--repeats 20] [--db-name NAME]

Runs on a throwaway database of its own (`torchready_dash_bench`, or --db-name, on
PostgreSQL, a SQLite file in a temp folder otherwise), so it never drops a test
database in use. Reports are the recorded diagnostics fixtures (tests/diagnostics/fixtures),
judged by the server's verdict, so the stored JSON is the size real reports are.

Prints, per class size: the dashboard's p50 and p95 (full page; the live
region's htmx poll when nothing changed, a 204 decided by one aggregate query
over the members, their tokens and their activity counts; the poll when something
changed, which renders the region), its SQL query count, and the ratio of its p50
to a trivial view's p50 measured in the same run; then
the two targets at the largest size (unchanged poll p50 <= 5 ms, full page p50
<= 150 ms); then the CSV export's time and peak traced memory at 100 and 1,000
students.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (10, 100, 1000)
REPORTS_PER_STUDENT = 5
FIXTURES = (
    "h100_ok",
    "rtx3060_laptop_wsl_ok",
    "conda_cpuonly",
    "driver_too_old",
    "torch_missing",
    "venv_not_conda",
    "mixed_pip_conda",
    "no_driver_windows",
    "unsupported_arch",
    "base_env",
)


def setup_django(tmp: Path, db_name: str = "torchready_dash_bench"):
    os.environ.setdefault("TORCHREADY_VAR_DIR", str(tmp / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    name = str(tmp / "bench.sqlite3") if connection.vendor == "sqlite" else db_name
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    settings.ROOT_URLCONF = __name__  # the project's URLs plus a trivial view
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    return connection


def trivial(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


def __getattr__(name):  # urlpatterns, built once Django is set up
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import include, path

    return [path("perf/trivial/", trivial), path("", include("config.urls"))]


def make_class(size: int, instructor, module, rng: random.Random):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from diagnostics.models import Report, WorkerToken
    from learning.models import Klass, ObjectiveProgress, StudentActivity
    from tests.learning.dashboard_data import report_row

    User = get_user_model()
    klass = Klass.objects.create(name=f"Bench class {size}")
    klass.instructors.add(instructor)
    students = User.objects.bulk_create(
        User(username=f"c{size}-s{i:04}", first_name=f"Student {i}") for i in range(size)
    )
    klass.students.add(*students)
    now = timezone.now()
    objectives = list(module.objectives.order_by("order"))
    reports, progress, tokens = [], [], []
    for s in students:
        names = [rng.choice(FIXTURES) for _ in range(REPORTS_PER_STUDENT)]
        for i, name in enumerate(names):
            at = now - timedelta(days=REPORTS_PER_STUDENT - i, minutes=rng.randint(0, 600))
            reports.append(report_row(s, name, at=at))
        met = names[-1] in ("h100_ok", "rtx3060_laptop_wsl_ok")
        for o in objectives:
            assessed = rng.random() < 0.7
            E = ObjectiveProgress.Evidence
            evidence = (E.VERIFIED if met else E.NEEDS_WORK) if o.verifier else E.NONE
            progress.append(
                ObjectiveProgress(
                    student=s,
                    objective=o,
                    confidence=rng.randint(1, 5) if assessed else None,
                    reflection="I can do it." if assessed else "",
                    self_assessed_at=now - timedelta(hours=rng.randint(1, 90))
                    if assessed
                    else None,
                    evidence=evidence,
                    evidence_at=now if evidence else None,
                )
            )
        if rng.random() < 0.5:
            seen = now - timedelta(seconds=rng.choice([5, 20, 4000]))
            tokens.append(
                WorkerToken(
                    student=s, prefix="trw_bench", token_hash=f"{s.pk:064}", last_seen_at=seen
                )
            )
    Report.objects.bulk_create(reports, batch_size=500)
    # received_at is auto_now_add: put each report back at the time it was probed.
    from django.db.models import F

    Report.objects.filter(student__in=students).update(received_at=F("probed_at"))
    ObjectiveProgress.objects.bulk_create(progress, batch_size=1000)
    WorkerToken.objects.bulk_create(tokens, batch_size=1000)
    # What the services that wrote those rows would have counted (learning.services.live).
    StudentActivity.objects.bulk_create(
        (StudentActivity(student=s, changes=REPORTS_PER_STUDENT + 3) for s in students),
        batch_size=1000,
    )
    return klass


def measure(
    client, url: str, repeats: int, status: int = 200, **headers
) -> tuple[list[float], list[float], int, int]:
    """Wall times and this process's CPU times (ms) of `repeats` requests, queries, bytes.

    The CPU time leaves out PostgreSQL's own work but barely moves with the other
    load on a shared machine, where the wall time can double.
    """
    from django.db import connection

    for _ in range(2):
        client.get(url, **headers)
    queries = []
    with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
        response = client.get(url, **headers)
    assert response.status_code == status, (url, response.status_code)
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url, **headers)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times, cpu, len(queries), len(response.content)


def p(times: list[float], q: float) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[int(q) - 1]


def profile(client, url: str, **headers) -> None:
    """Where one request's time goes: each SQL query's time, then Python's (cProfile)."""
    import cProfile
    import pstats

    from django.db import connection

    timings = []

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - start) * 1000, sql))

    with connection.execute_wrapper(timed):
        start = time.perf_counter()
        client.get(url, **headers)
        total = (time.perf_counter() - start) * 1000
    print(f"\nprofile of {url}: {total:.0f} ms, of which SQL {sum(t for t, _ in timings):.0f} ms")
    for ms, sql in timings:
        print(f"  {ms:7.1f} ms  {sql[:110]}")
    profiler = cProfile.Profile()
    profiler.runcall(client.get, url, **headers)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def export_stats(client, url: str) -> tuple[float, float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get(url)
    size = sum(len(chunk) for chunk in response.streaming_content)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak / 2**20, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--sizes",
        type=lambda v: tuple(int(n) for n in v.split(",")),
        default=SIZES,
        help="class sizes, comma-separated (default 10,100,1000)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile one full page and one unchanged poll of the largest class: "
        "SQL time per query and cProfile",
    )
    parser.add_argument("--no-exports", action="store_true", help="skip the export timings")
    parser.add_argument(
        "--db-name",
        default="torchready_dash_bench",
        help="the throwaway PostgreSQL database (created and dropped)",
    )
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        connection = setup_django(Path(tmp), args.db_name)
        try:
            run(args, rng, connection)
        finally:
            connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


def run(args, rng: random.Random, connection) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from learning.models import Module, Objective

    module = Module.objects.create(slug="bench", source_path="bench.md", title="Bench module")
    for order, verifier in enumerate(("gpu-env", "", "")):
        Objective.objects.create(
            module=module, order=order, text=f"Objective {order}", key=str(order), verifier=verifier
        )
    instructor = get_user_model().objects.create_user("bench-instructor", is_staff=True)
    start = time.perf_counter()
    classes = {size: make_class(size, instructor, module, rng) for size in args.sizes}
    total = sum(args.sizes)
    print(
        f"{connection.vendor}: generated {total} students, {total * REPORTS_PER_STUDENT} reports "
        f"in {time.perf_counter() - start:.1f} s"
    )
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of a bulk load: without statistics
        # the planner takes the fresh tables for empty and loops over 1,000 students.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    client = Client()
    client.force_login(instructor)
    trivial_times, _, _, _ = measure(client, "/perf/trivial/", args.repeats * 2)
    trivial_p50 = statistics.median(trivial_times)
    print(f"trivial view p50 {trivial_p50:.2f} ms\n")
    print("students | view | p50 ms | p95 ms | CPU p50 ms | queries | KiB | p50 / trivial p50")
    p50s = {}
    htmx = {"HTTP_HX_REQUEST": "true"}
    for size, klass in classes.items():
        base = f"/teach/{klass.pk}/"
        for label, url, status, headers in (
            ("page 1 (100 rows) + charts", base, 200, {}),
            ("live poll, unchanged (204)", "", 204, htmx),
            ("live poll, changed (renders)", f"{base}?v=0", 200, htmx),
            ("filter: needs work", base + "?state=needs_work&sort=stuck", 200, htmx),
        ):
            if not url:
                # The version takes in the minute, so wait for a fresh one, as the page
                # would: past a minute's turn, one poll in twelve renders.
                while time.time() % 60 > 60 - args.repeats * 0.5:
                    time.sleep(1)
                region = client.get(base, **htmx).content.decode()
                url = base + "?v=" + re.search(r'"v": "([0-9a-f]+)"', region).group(1)
            times, cpu, queries, size_bytes = measure(client, url, args.repeats, status, **headers)
            p50 = p50s[size, label] = statistics.median(times)
            print(
                f"{size:>8} | {label} | {p50:.1f} | {p(times, 95):.1f} | "
                f"{statistics.median(cpu):.1f} | {queries} | "
                f"{size_bytes / 1024:.0f} | {p50 / trivial_p50:.0f}x"
            )
    largest = max(classes)
    for label, target in (
        ("live poll, unchanged (204)", 5),
        ("page 1 (100 rows) + charts", 150),
    ):
        got = p50s[largest, label]
        verdict = "met" if got <= target else "NOT met"
        print(
            f"\n{largest} students, {label}: p50 {got:.1f} ms, target <= {target} ms: {verdict} "
            f"({got / target:.2f} of the target)",
            end="",
        )
    print()
    if args.profile:
        base = f"/teach/{classes[max(classes)].pk}/"
        profile(client, base)
        region = client.get(base, **htmx).content.decode()
        version = re.search(r'"v": "([0-9a-f]+)"', region).group(1)
        profile(client, f"{base}?v={version}", **htmx)
    if args.no_exports:
        return
    print()
    for size in (100, 1000):
        if size not in classes:
            continue
        klass = classes[size]
        for name in ("export.csv", "export.json"):
            elapsed, peak, size_bytes = export_stats(client, f"/teach/{klass.pk}/{name}")
            print(
                f"{name} at {size} students: {elapsed:.2f} s, {size_bytes / 2**20:.1f} MiB, "
                f"peak traced memory {peak:.1f} MiB"
            )


if __name__ == "__main__":
    main()
