"""Import benchmark: generate a course folder of N pages and import it.

    .venv/bin/python perf/import_bench.py [--pages 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/torchready \
        .venv/bin/python perf/import_bench.py

Runs on a throwaway database: a SQLite file in a temp folder by default, or a
`torchready_bench` database (created, then dropped) when DATABASE_URL is set.

Prints pages/s for a first import, an unchanged re-import and a re-import of
edited pages, with the CPU time a page took (less disturbed by other load on
the machine than wall-clock time); then peak memory: tracemalloc, on a second
first import since tracing slows Python down, and ru_maxrss.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "content" / "modules" / "virtual-environments-pytorch.md"

WORDS = (
    "tensor gpu memory kernel batch epoch gradient model layer dataset loader cuda "
    "driver environment conda install version device training inference accuracy"
).split()


def sentence(rng: random.Random, words: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def page(rng: random.Random, number: int) -> str:
    """A page in the course's format, from about the seed's size to several times it."""
    parts = [
        f"---\nsort: {number}\n---\n",
        f"# Module {number}: {sentence(rng, 3)[:-1]} :rocket:\n",
    ]
    parts.append(" ".join(sentence(rng) for _ in range(3)) + "\n")
    several = rng.random() < 0.3
    if not several:
        parts.append(_objectives(rng, "After this module, you will be able to:"))
    for section in range(1, rng.randint(2, 6)):
        parts.append(f"***\n\n## {section}. {sentence(rng, 3)[:-1]}\n")
        if several:
            parts.append(_objectives(rng, "**After this part, you will be able to:**"))
        parts.append(" ".join(sentence(rng) for _ in range(rng.randint(3, 8))) + "\n")
        parts.append(rng.choice(_EXTRAS)(rng, number, section))
        parts.append(_table(rng, number, section))
    return "\n".join(parts)


def _objectives(rng: random.Random, lead_in: str) -> str:
    items = "\n".join(f"- [ ] {sentence(rng, 10)[:-1]}" for _ in range(rng.randint(2, 5)))
    return f"{lead_in}\n\n{items}\n"


def _links(rng, number, section):
    items = "\n".join(
        f"- [{sentence(rng, 4)[:-1]}](https://example.org/{number}/{section}/{i})"
        for i in range(rng.randint(2, 5))
    )
    return f"Other useful resources:\n\n{items}\n"


def _video(rng, number, section):
    src = f"https://www.youtube-nocookie.com/embed/v{number}x{section}"
    caption = f"*Video {section}. {sentence(rng, 5)}*"
    return f'<iframe width="896" height="504" src="{src}"></iframe>\n\n{caption}\n'


def _code(rng, number, section):
    return f"```bash\n# create the env\nconda create -n m{number} python=3.11\n```\n"


def _callout(rng, number, section):
    return f'<div class="alert alert-warning">\n:warning: {sentence(rng)}\n</div>\n'


_EXTRAS = [_links, _video, _code, _callout]


def _table(rng: random.Random, number: int, section: int) -> str:
    rows = [
        f"| [{sentence(rng, 4)[:-1]}](https://example.org/{number}/{section}/t{i}) | Course | "
        f"Org {i} | {rng.choice(['3 hours', '90 min', '1.5h', '... hours'])} | Beginner |"
        for i in range(rng.randint(2, 10))
    ]
    header = "| Title | Type of learning material | Developer | Time to complete | Level |\n"
    return header + "|---|---|---|---|---|\n" + "\n".join(rows) + "\n"


def generate(folder: Path, count: int) -> None:
    rng = random.Random(2)
    for number in range(count):
        part = folder / f"part-{number % 5 + 1}"
        part.mkdir(parents=True, exist_ok=True)
        text = SEED.read_text() if number % 10 == 0 else page(rng, number)
        (part / f"module-{number:03d}.md").write_text(text)


def setup_django(tmp: Path):
    os.environ.setdefault("TORCHREADY_VAR_DIR", str(tmp / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    # Its own database name: never clobber a test database a test run is using.
    bench_db = str(tmp / "bench.sqlite3") if connection.vendor == "sqlite" else "torchready_bench"
    connection.settings_dict["TEST"]["NAME"] = bench_db
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection


def timed(label: str, count: int, run) -> None:
    """Wall-clock pages/s, and this process's CPU time a page (writing, mostly).

    The parser workers are children of a fork server, so their CPU time does
    not show here: `parse_cpu` measures it apart.
    """
    started, cpu = time.perf_counter(), time.process_time()
    summary = run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = {s: summary.count(s) for s in ("imported", "updated", "skipped", "failed")}
    print(
        f"{label:<28} {count / seconds:7.1f} pages/s  ({seconds:.2f} s; "
        f"{cpu * 1000 / count:.1f} ms CPU a page in this process)  {counts}"
    )


def parse_cpu(course: Path, count: int) -> None:
    """Parsing alone, in this process: the parser workers' share of the CPU time."""
    from learning.importer import parse_file

    started = time.process_time()
    for path in course.rglob("*.md"):
        parse_file(path.read_bytes(), path.relative_to(course).as_posix(), "")
    print(f"parsing alone: {(time.process_time() - started) * 1000 / count:.1f} ms CPU a page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    count = parser.parse_args().pages
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        course = tmp / "course"
        generate(course, count)
        connection = setup_django(tmp)
        from learning.models import Module
        from learning.services.importing import import_course

        size = sum(p.stat().st_size for p in course.rglob("*.md")) / count / 1024
        print(f"{count} pages, {size:.1f} KiB each on average, on {connection.vendor}")
        parse_cpu(course, count)
        try:
            timed("first import", count, lambda: import_course(directory=course))
            timed("unchanged re-import", count, lambda: import_course(directory=course))
            for path in course.rglob("*.md"):
                path.write_text(path.read_text().replace("able to:", "able to:\n\n- [ ] One more"))
            timed("re-import, every page edited", count, lambda: import_course(directory=course))
            Module.objects.all().delete()
            tracemalloc.start()
            import_course(directory=course)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"peak memory: tracemalloc {peak:.1f} MiB in this process during an import, "
                f"ru_maxrss {rss:.0f} MiB"
            )
        finally:
            connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
