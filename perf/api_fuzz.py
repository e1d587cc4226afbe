"""A longer, randomised schemathesis run against the worker API, on SQLite and PostgreSQL.

CI runs tests/diagnostics/test_api_fuzz.py derandomised with 20 examples per
operation; this runs the same test with a random seed (or --seed) and more
examples, and prints the seed, so that a finding can be replayed exactly. Turn
each finding into a fixed regression test (tests/diagnostics/pipeline/
test_api_integrity.py holds those found so far), then fix it.

    .venv/bin/python perf/api_fuzz.py [--examples 300] [--seed N] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/diagnostics/test_api_fuzz.py"
PG = "postgres://postgres@127.0.0.1:5432/torchready_api_fuzz"


def run(database: str | None, seed: int, examples: int) -> tuple[int, float, str]:
    env = {
        **os.environ,
        "TORCHREADY_FUZZ_SEED": str(seed),
        "TORCHREADY_FUZZ_EXAMPLES": str(examples),
    }
    env.pop("DATABASE_URL", None)
    if database:
        env["DATABASE_URL"] = database
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q", "-x", "-p", "no:randomly", "--create-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.returncode, time.perf_counter() - started, done.stdout[-4000:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=300, help="per operation")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    databases = [None] if args.sqlite_only else [None, PG]
    print(f"seed {seed}, {args.examples} examples per operation")
    failed = False
    for database in databases:
        code, seconds, tail = run(database, seed, args.examples)
        name = "PostgreSQL" if database else "SQLite"
        print(f"  {name:10}: {'ok' if code == 0 else 'FAILED'} in {seconds:.0f} s")
        if code:
            failed = True
            print(tail)
    if failed:
        print(f"replay: .venv/bin/python perf/api_fuzz.py --seed {seed} --examples {args.examples}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
