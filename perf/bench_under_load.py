"""Benchmarks always give a figure: the quick check idle, then with every core busy.

Runs `python -m diagnostics check --quick --json` once on an idle machine and once
while 2 busy-looping processes per core load it, and prints, per benchmark, the
samples taken and the median under load over the idle median. Before issue 13 the
CPU copy benchmark could return n=0 ("timeout") under load; every row must now
have n >= 3.

    .venv/bin/python perf/bench_under_load.py
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def quick_check() -> tuple[dict[str, tuple[int, float | None]], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "diagnostics", "check", "--quick", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    results = json.loads(done.stdout)["report"]["bench"]["results"]
    return {
        f"{r['name']} ({r['device']})": (r["samples"], r["median"])
        for r in results
        if r["status"] != "skipped"
    }, wall


def main() -> None:
    idle, idle_wall = quick_check()
    workers = 2 * (os.cpu_count() or 1)
    stop_at = time.time() + 120
    load = [multiprocessing.Process(target=spin, args=(stop_at,)) for _ in range(workers)]
    for p in load:
        p.start()
    try:
        loaded, loaded_wall = quick_check()
    finally:
        for p in load:
            p.terminate()
    print(f"{workers} busy processes on {os.cpu_count()} cores")
    print(f"{'benchmark':<22} {'n idle':>6} {'n loaded':>8} {'median loaded/idle':>19}")
    for name, (n, median) in idle.items():
        n_loaded, median_loaded = loaded.get(name, (0, None))
        ratio = f"{median_loaded / median:.2f}" if median and median_loaded else "-"
        print(f"{name:<22} {n:>6} {n_loaded:>8} {ratio:>19}")
    print(f"wall time loaded/idle: {loaded_wall / idle_wall:.2f} ({idle_wall:.1f} s idle)")
    assert all(n >= 3 for n, _ in loaded.values()), "a benchmark gave fewer than 3 samples"


if __name__ == "__main__":
    main()
