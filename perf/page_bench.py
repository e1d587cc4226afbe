"""Module-page latency with the seed loaded, against a trivial view in the same run.

    .venv/bin/python perf/page_bench.py [--repeats 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/torchready .venv/bin/python perf/page_bench.py

A throwaway database (the dashboard bench's set-up), the seed imported with the
real importer, a logged-in student with some progress; prints p50/p95 and the
SQL query count of "My modules" and the module page, and their ratio to a
trivial view's p50.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_bench import ROOT, setup_django  # noqa: E402


def timed(client, url: str, repeats: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):  # warm-up: templates compiled, connections open
        assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = len(queries)  # now: the captured slice is read lazily from a shared log
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1]
    return statistics.median(times), p95, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        connection = setup_django(Path(tmp))
        from django.contrib.auth import get_user_model
        from django.core.signals import request_finished, request_started
        from django.db import close_old_connections
        from django.test import Client

        from learning.models import Module
        from learning.services.importing import import_course
        from learning.services.progress import objective_self_assess, resource_mark

        import_course(directory=ROOT / "content" / "modules")
        module = Module.objects.get()
        student = get_user_model().objects.create_user("student", password="x")
        objective = module.objectives.order_by("order").first()
        objective_self_assess(student=student, objective=objective, confidence=4, reflection="ok")
        resource_mark(student=student, resource=module.resources.first(), done=True)
        # As under the test runner: keep the connection, so queries can be counted.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        client = Client()
        client.force_login(student)

        trivial = timed(client, "/perf/trivial/", args.repeats)
        print(f"{connection.vendor}, {args.repeats} requests each, Django test client")
        print(f"{'page':<14} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p50/trivial':>12}")
        for name, url in (
            ("trivial", "/perf/trivial/"),
            ("my modules", "/modules/"),
            ("module page", f"/modules/{module.slug}/"),
        ):
            p50, p95, queries = trivial if name == "trivial" else timed(client, url, args.repeats)
            print(f"{name:<14} {p50:8.2f} {p95:8.2f} {queries:8d} {p50 / trivial[0]:11.1f}×")
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
