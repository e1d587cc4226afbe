"""Course pages into modules, objectives, sections and resources.

`import_course` walks a folder, `import_file` imports one page. Each file is
written in its own transaction: a page that fails leaves nothing behind and the
others still import. Re-importing is idempotent:

- an unchanged file (same bytes, base URL, verifier bindings and importer
  version) is skipped without parsing;
- objectives match by their normalised text, then by similarity, so students'
  progress survives a small rewording; resources match by URL, then by title;
- a removed objective or resource is archived (its progress kept), and
  restored if it comes back.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path, PurePosixPath

import yaml
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.text import slugify

from diagnostics.agent.verdict.ids import Verifier
from learning.importer import (
    NotACoursePage,
    PageError,
    ParsedObjective,
    ParsedPage,
    ParsedResource,
    ParsedSection,
    content_hash,
    normalise,
    parse_file,
)
from learning.models import Module, Objective, ObjectiveProgress, Resource, Section

logger = logging.getLogger(__name__)

# How alike a reworded objective must be to keep its identity (difflib ratio).
SIMILAR_ENOUGH = 0.8


class CourseError(ValueError):
    """The import cannot start: no such folder, or a broken verifiers file."""


@dataclass
class FileResult:
    source_path: str
    status: str  # "imported", "updated", "skipped" or "failed"
    detail: str = ""  # the reason a file was skipped, or the error that failed it
    line: int | None = None
    module: str = ""  # the module's slug
    changes: Counter = field(default_factory=Counter)
    title: str = ""
    new_objectives: list[str] = field(default_factory=list)
    # (text, how many students have progress on it): archiving keeps that progress.
    archived_objectives: list[tuple[str, int]] = field(default_factory=list)

    @property
    def change_list(self) -> list[tuple[str, int]]:
        """The changes that happened, for templates (a Counter answers 0 to any lookup)."""
        return [(what, n) for what, n in self.changes.items() if n]


@dataclass
class ArchivedModule:
    """A module whose page is no longer in the course folder."""

    slug: str
    title: str
    source_path: str
    students: int  # with progress on its objectives, all kept


@dataclass
class CourseSummary:
    results: list[FileResult]
    dry_run: bool = False
    archived_modules: list[ArchivedModule] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ok(self) -> bool:
        return not self.count("failed")


# ---------------------------------------------------------------------------
# Verifier bindings: content/verifiers.yaml


Bindings = list[tuple[str, str]]  # (normalised objective prefix, verifier)
KNOWN_VERIFIERS = tuple(v.value for v in Verifier)


def load_verifiers(path: Path | None = None) -> dict[str, Bindings]:
    """{page path: [(objective prefix, verifier)]}; no file means no bindings."""
    path = Path(path or settings.VERIFIERS_FILE)
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CourseError(f"{path}: cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CourseError(f"{path}: must map page paths to lists of bindings")
    return {str(page): _bindings(path, page, items) for page, items in data.items()}


def _bindings(path: Path, page: str, items: object) -> Bindings:
    def valid(item: object) -> bool:
        return (
            isinstance(item, dict)
            and isinstance(item.get("objective"), str)
            and isinstance(item.get("verifier"), str)
            and 0 < len(item["verifier"]) <= 50
        )

    if not isinstance(items, list) or not all(valid(item) for item in items):
        raise CourseError(f"{path}: {page}: each binding needs `objective` and `verifier` strings")
    for item in items:
        if item["verifier"] not in KNOWN_VERIFIERS:
            raise CourseError(
                f"{path}: {page}: unknown verifier {item['verifier']!r} "
                f"(known: {', '.join(KNOWN_VERIFIERS)})"
            )
    return [(normalise(item["objective"]), item["verifier"]) for item in items]


def _verifier(objective: ParsedObjective, bindings: Bindings) -> str:
    return next((v for prefix, v in bindings if prefix and objective.key.startswith(prefix)), "")


# ---------------------------------------------------------------------------
# Entry points


# Folders of a course repository that hold no course pages: a Jekyll site's build
# output and templates, and installed gems or npm packages (full of README.md files).
NOT_COURSE_FOLDERS = frozenset(
    {"_site", "_includes", "_layouts", "_sass", "node_modules", "vendor", "__pycache__"}
)


def import_course_first_start(*, directory: Path, base_url: str = "") -> CourseSummary | None:
    """A new deployment's course: import `directory` if no module exists yet.

    Runs at every start (the compose `migrate` service), so it imports once: after
    that, the course changes only when an operator runs `import_course`, and
    edits made in the admin are never undone by a restart.
    """
    if Module.objects.exists():
        return None
    return import_course(directory=directory, base_url=base_url or None)


def import_course(
    *,
    directory: Path,
    dry_run: bool = False,
    base_url: str | None = None,
    archive_missing: bool = False,
) -> CourseSummary:
    """Import every `*.md` page below `directory` (hidden and NOT_COURSE_FOLDERS left out).

    With `archive_missing` the folder is the whole course: modules whose page is
    not in it are archived (their progress kept; a page that comes back restores them).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CourseError(f"{directory}: no such folder")
    pages = sorted(
        path
        for path in directory.rglob("*")
        if path.suffix.lower() == ".md"
        and path.is_file()
        and not any(
            part.startswith(".") or part in NOT_COURSE_FOLDERS
            for part in path.relative_to(directory).parts[:-1]
        )
        and not path.name.startswith(".")
    )
    results = _import(pages, directory, dry_run, base_url)
    summary = CourseSummary(results, dry_run=dry_run)
    if archive_missing:
        present = {result.source_path for result in results}
        summary.archived_modules = _archive_missing(present, dry_run)
    return summary


def _archive_missing(present: set[str], dry_run: bool) -> list[ArchivedModule]:
    gone = (
        Module.objects.filter(archived_at__isnull=True)
        .exclude(source_path__in=present)
        .annotate(
            students=Count(
                "objectives__progress__student",
                distinct=True,
                filter=Q(objectives__archived_at__isnull=True),
            )
        )
        .order_by("source_path")
    )
    archived = [ArchivedModule(m.slug, m.title, m.source_path, m.students) for m in gone]
    if archived and not dry_run:
        now = timezone.now()  # update() skips auto_now: the dashboards' version reads it
        Module.objects.filter(slug__in=[m.slug for m in archived]).update(
            archived_at=now, updated_at=now
        )
    return archived


def import_file(
    *, path: Path, course_dir: Path, dry_run: bool = False, base_url: str | None = None
) -> FileResult:
    """Import one page; its slug and source path come from its place in `course_dir`."""
    return _import([Path(path)], Path(course_dir), dry_run, base_url)[0]


@dataclass
class _Job:
    """A page that changed since its last import: to parse, then to write."""

    source_path: str
    raw: bytes
    digest: str
    bindings: Bindings
    new_slug: str  # for a page never imported before; "" for one that has a module


def _import(
    paths: list[Path], course_dir: Path, dry_run: bool, base_url: str | None
) -> list[FileResult]:
    """Skip unchanged pages, parse the others, then write each in its own transaction."""
    base_url = settings.COURSE_BASE_URL if base_url is None else base_url
    verifiers = load_verifiers()
    modules = Module.objects.order_by().values_list(
        "source_path", "content_hash", "slug", "archived_at"
    )
    # An archived module's page that comes back is imported again, which restores it.
    known = {path: "" if archived else digest for path, digest, _slug, archived in modules}
    slugs = {slug for _path, _digest, slug, _archived in modules}
    results: dict[str, FileResult] = {}
    jobs = []
    for path in paths:
        source_path = _source_path(path, course_dir)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            results[source_path] = FileResult(
                source_path, "failed", f"cannot be read: {exc.strerror}"
            )
            continue
        bindings = verifiers.get(source_path, [])
        digest = content_hash(raw, base_url, json.dumps(bindings))
        if known.get(source_path) == digest:
            results[source_path] = FileResult(source_path, "skipped", "unchanged")
            continue
        new_slug = "" if source_path in known else module_slug(source_path, slugs)
        slugs.add(new_slug)
        jobs.append(_Job(source_path, raw, digest, bindings, new_slug))
    for job, outcome in zip(jobs, parse_pages(jobs, base_url), strict=True):
        results[job.source_path] = _write(job, outcome, dry_run)
    return [results[_source_path(path, course_dir)] for path in paths]


# Parsing is pure Python and CPU-bound: with many pages, other cores help.
PARALLEL_FROM = 24


def parse_pages(jobs: list[_Job], base_url: str) -> Iterator[ParsedPage | ValueError]:
    """Parse results in the jobs' order, as they come, so writing overlaps parsing."""
    workers = min(os.cpu_count() or 1, 4)
    args = ([job.raw for job in jobs], [job.source_path for job in jobs], [base_url] * len(jobs))
    if len(jobs) < PARALLEL_FROM or workers < 2:
        yield from map(parse_file, *args)
        return
    # Not plain fork: the parent holds database connections and maybe threads. A
    # fork server imports the parser once, then forks each worker from that clean
    # process, which saves the workers' start-up imports that spawn would repeat.
    context: multiprocessing.context.BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(["learning.importer"])
        context = forkserver
    else:  # Windows
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(parse_file, *args, chunksize=8)


def _source_path(path: Path, course_dir: Path) -> str:
    try:
        return path.resolve().relative_to(course_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def _write(job: _Job, outcome: ParsedPage | Exception, dry_run: bool) -> FileResult:
    if isinstance(outcome, NotACoursePage):
        return FileResult(job.source_path, "skipped", str(outcome))
    if isinstance(outcome, PageError):
        return FileResult(job.source_path, "failed", outcome.message, line=outcome.line)
    if isinstance(outcome, Exception):
        return FileResult(job.source_path, "failed", str(outcome))
    result = FileResult(job.source_path, "failed", title=outcome.title)
    try:
        with transaction.atomic():
            module, created = _save(job, outcome, result)
            transaction.set_rollback(dry_run)
    except Exception as exc:  # noqa: BLE001 - one bad page must not stop a whole course
        logger.exception("Importing %s failed", job.source_path)
        return FileResult(job.source_path, "failed", f"unexpected error: {exc!r}")
    result.status = "imported" if created else "updated"
    result.module = module.slug
    return result


# ---------------------------------------------------------------------------
# Writing one page


def _save(job: _Job, page: ParsedPage, result: FileResult) -> tuple[Module, bool]:
    created = bool(job.new_slug)
    if created:
        module = Module(source_path=job.source_path, slug=job.new_slug)
    else:
        module = Module.objects.select_for_update().get(source_path=job.source_path)
    _assign(
        module,
        title=page.title,
        sort=page.sort,
        parent=page.parent,
        intro_html=page.intro_html,
        content_hash=job.digest,
        archived_at=None,
    )
    module.save()
    changes = result.changes
    sections = _sync_sections(module, page.sections, changes, created)
    _sync_objectives(module, page.objectives, job.bindings, result, created)
    _sync_resources(module, page.resources, sections, changes, created)
    return module, created


def module_slug(source_path: str, taken: set[str]) -> str:
    """ "part-1/intro.md" -> "part-1--intro"; a hash suffix keeps it unique."""
    parts = PurePosixPath(source_path).with_suffix("").parts
    slug = "--".join(slugify(part) or "page" for part in parts)[:180]
    if slug in taken:
        slug = f"{slug}-{content_hash(source_path.encode())[:8]}"
    return slug


def _rows(manager, created: bool) -> list:
    """A module's existing rows; a module created just now has none to fetch."""
    return [] if created else list(manager.order_by())


def _assign(obj, **values) -> set[str]:
    """Set fields; the names of those that changed."""
    changed = set()
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.add(name)
    return changed


def _sync_sections(
    module: Module, parsed: list[ParsedSection], changes: Counter, created: bool
) -> list[Section]:
    """Sections are content, not progress: they are updated by position."""
    existing = {section.order: section for section in _rows(module.sections, created)}
    sections, new, changed, fields = [], [], [], set()
    for order, part in enumerate(parsed, start=1):
        section = existing.pop(order, None) or Section(module=module, order=order)
        differs = _assign(section, title=part.title, anchor=part.anchor, html=part.html)
        if section.pk is None:
            new.append(section)
        elif differs:
            changed.append(section)
            fields |= differs
        sections.append(section)
    Section.objects.bulk_create(new)
    if changed:
        Section.objects.bulk_update(changed, sorted(fields))
    if existing:
        Section.objects.filter(pk__in=[section.pk for section in existing.values()]).delete()
    changes.update({"sections created": len(new), "sections updated": len(changed)})
    changes["sections deleted"] += len(existing)
    return sections


def _sync_objectives(
    module: Module,
    parsed: list[ParsedObjective],
    bindings: Bindings,
    result: FileResult,
    created: bool,
) -> None:
    rows = _rows(module.objectives, created)
    matches = _match([p.key for p in parsed], rows, lambda row: row.key)
    _match_similar([p.key for p in parsed], rows, matches)
    values = [
        dict(order=order, text=p.text, key=p.key, group=p.group, verifier=_verifier(p, bindings))
        for order, p in enumerate(parsed, start=1)
    ]
    new, gone = _apply(Objective, module, rows, matches, values, "objectives", result.changes)
    result.new_objectives = [row.text for row in new]
    if gone:
        students = dict(
            ObjectiveProgress.objects.filter(objective__in=gone)
            .order_by()
            .values("objective")
            .annotate(n=Count("student", distinct=True))
            .values_list("objective", "n")
        )
        result.archived_objectives = [(row.text, students.get(row.pk, 0)) for row in gone]


def _sync_resources(
    module: Module,
    parsed: list[ParsedResource],
    sections: list[Section],
    changes: Counter,
    created: bool,
) -> None:
    rows = _rows(module.resources, created)
    matches = _match([p.key for p in parsed], rows, lambda row: row.key)
    titles = [f"{p.kind}:{normalise(p.title)}" for p in parsed]
    _match(titles, rows, lambda row: f"{row.kind}:{normalise(row.title)}", matches)
    values = [_resource_values(order, p, sections) for order, p in enumerate(parsed, start=1)]
    _apply(Resource, module, rows, matches, values, "resources", changes)


def _resource_values(order: int, p: ParsedResource, sections: list[Section]) -> dict:
    section = sections[p.section] if p.section is not None else None
    return dict(
        order=order,
        kind=p.kind,
        title=p.title,
        url=p.url,
        section_id=section.pk if section else None,
        material_type=p.material_type,
        developer=p.developer,
        time_text=p.time_text,
        minutes=p.minutes,
        level=p.level,
        extra=p.extra,
        key=p.key,
    )


def _match(wanted: list[str], rows: list, row_key, matches: list | None = None) -> list:
    """For each wanted key, a row with that key not matched yet (active rows first)."""
    matches = matches if matches is not None else [None] * len(wanted)
    taken = {id(row) for row in matches if row is not None}
    free: dict[str, list] = {}
    for row in sorted(rows, key=lambda row: row.archived_at is not None):
        if id(row) not in taken:
            free.setdefault(row_key(row), []).append(row)
    for index, key in enumerate(wanted):
        if matches[index] is None and free.get(key):
            matches[index] = free[key].pop(0)
    return matches


def _match_similar(wanted: list[str], rows: list, matches: list) -> None:
    """Pair what is left by the most similar key, if similar enough (a rewording)."""
    taken = {id(row) for row in matches if row is not None}
    for index, key in enumerate(wanted):
        if matches[index] is not None:
            continue
        scored = [
            (SequenceMatcher(None, key, row.key).ratio(), row)
            for row in rows
            if id(row) not in taken
        ]
        score, row = max(scored, key=lambda pair: pair[0], default=(0.0, None))
        if row is not None and score >= SIMILAR_ENOUGH:
            matches[index] = row
            taken.add(id(row))


def _apply(model, module, rows, matches, values, label, changes) -> tuple[list, list]:
    """Create, update, restore and archive rows so they match the parsed page.

    Returns the rows created and the rows archived.
    """
    new, changed, fields, restored = [], [], set(), 0
    for row, wanted in zip(matches, values, strict=True):
        if row is None:
            new.append(model(module=module, **wanted))
            continue
        restored += row.archived_at is not None
        differs = _assign(row, archived_at=None, **wanted)
        if differs:
            changed.append(row)
            fields |= differs
    model.objects.bulk_create(new)
    if changed:
        # Only the columns that changed: bulk_update's CASE per column is costly.
        model.objects.bulk_update(changed, sorted(fields))
    taken = {id(row) for row in matches if row is not None}
    gone = [row for row in rows if id(row) not in taken and row.archived_at is None]
    if gone:
        model.objects.filter(pk__in=[row.pk for row in gone]).update(archived_at=timezone.now())
    changes[f"{label} created"] += len(new)
    changes[f"{label} updated"] += len(changed) - restored
    changes[f"{label} restored"] += restored
    changes[f"{label} archived"] += len(gone)
    return new, gone
