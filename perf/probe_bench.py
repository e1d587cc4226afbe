"""How fast is the check itself? Run from the repository root:

    .venv/bin/python perf/probe_bench.py [--repeats 5]

1. The probe without benchmarks (`check --no-bench --json`) side by side with
   `python -m torch.utils.collect_env`, both as fresh subprocesses, alternating,
   several repeats; prints the median wall times and their ratio (target <= 0.9).
2. The full and the quick check: wall time and peak memory (max RSS of the child,
   from resource.getrusage, so POSIX only; this script is not shipped).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def timed(command: list[str]) -> float:
    """Wall seconds of one fresh subprocess."""
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
        check=False,
    )
    return time.perf_counter() - started


def median_of(command: list[str], repeats: int) -> tuple[float, float, float]:
    walls = [timed(command) for _ in range(repeats)]
    return statistics.median(walls), min(walls), max(walls)


def peak_rss_mib(command: list[str]) -> int:
    """Max RSS of the command, from a fresh parent: RUSAGE_CHILDREN keeps a running maximum."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return int(out.stdout.strip())  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    probe = [py, "-m", "diagnostics", "check", "--no-bench", "--json"]
    collect = [py, "-m", "torch.utils.collect_env"]
    timed(collect)  # warm the page cache for torch's shared libraries before measuring

    probe_walls, collect_walls = [], []
    for _ in range(args.repeats):  # alternate, so drifting machine load hits both alike
        probe_walls.append(timed(probe))
        collect_walls.append(timed(collect))
    p, c = statistics.median(probe_walls), statistics.median(collect_walls)
    for label, wall, walls in (
        ("probe (--no-bench)", p, probe_walls),
        ("collect_env", c, collect_walls),
    ):
        print(f"{label:<19} median {wall:.2f} s  [{min(walls):.2f}..{max(walls):.2f}]")
    print(f"ratio probe/collect_env: {p / c:.2f} (target <= 0.9)")
    import_only = median_of([py, "-c", "import torch"], args.repeats)[0]
    print(f"floor: `import torch` alone median {import_only:.2f} s")

    for label, extra in (("quick", ["--quick"]), ("full", [])):
        command = [py, "-m", "diagnostics", "check", "--json", *extra]
        wall, lo, hi = median_of(command, args.repeats)
        print(
            f"check {label:<5}  median {wall:.2f} s  [{lo:.2f}..{hi:.2f}]  "
            f"peak RSS {peak_rss_mib(command)} MiB"
        )


if __name__ == "__main__":
    main()
