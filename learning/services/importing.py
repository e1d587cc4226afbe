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
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path, PurePosixPath

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from learning.importer import (
    NotACoursePage,
    PageError,
    ParsedObjective,
    ParsedPage,
    ParsedResource,
    ParsedSection,
    content_hash,
    decode,
    normalise,
    parse_page,
)
from learning.models import Module, Objective, Resource, Section

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


@dataclass
class CourseSummary:
    results: list[FileResult]
    dry_run: bool = False

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ok(self) -> bool:
        return not self.count("failed")


# ---------------------------------------------------------------------------
# Verifier bindings: content/verifiers.yaml


Bindings = list[tuple[str, str]]  # (normalised objective prefix, verifier)


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
    return [(normalise(item["objective"]), item["verifier"]) for item in items]


def _verifier(objective: ParsedObjective, bindings: Bindings) -> str:
    return next((v for prefix, v in bindings if prefix and objective.key.startswith(prefix)), "")


# ---------------------------------------------------------------------------
# Entry points


def import_course(
    *, directory: Path, dry_run: bool = False, base_url: str | None = None
) -> CourseSummary:
    """Import every `*.md` page below `directory` (hidden folders left out)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CourseError(f"{directory}: no such folder")
    verifiers = load_verifiers()
    pages = sorted(
        path
        for path in directory.rglob("*")
        if path.suffix.lower() == ".md"
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )
    results = [_import(path, directory, dry_run, base_url, verifiers) for path in pages]
    return CourseSummary(results=results, dry_run=dry_run)


def import_file(
    *, path: Path, course_dir: Path, dry_run: bool = False, base_url: str | None = None
) -> FileResult:
    """Import one page; its slug and source path come from its place in `course_dir`."""
    return _import(Path(path), Path(course_dir), dry_run, base_url, load_verifiers())


def _import(
    path: Path, course_dir: Path, dry_run: bool, base_url: str | None, verifiers: dict
) -> FileResult:
    source_path = _source_path(path, course_dir)
    try:
        return _import_page(path, source_path, dry_run, base_url, verifiers.get(source_path, []))
    except Exception as exc:  # noqa: BLE001 - one bad page must not stop a whole course
        logger.exception("Importing %s failed", path)
        return FileResult(source_path, "failed", f"unexpected error: {exc!r}")


def _source_path(path: Path, course_dir: Path) -> str:
    try:
        return path.resolve().relative_to(course_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def _import_page(
    path: Path, source_path: str, dry_run: bool, base_url: str | None, bindings: Bindings
) -> FileResult:
    base_url = settings.COURSE_BASE_URL if base_url is None else base_url
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(source_path, "failed", f"cannot be read: {exc.strerror or exc}")
    digest = content_hash(raw, base_url, json.dumps(bindings))
    existing = Module.objects.filter(source_path=source_path).values_list("content_hash", "slug")
    if existing and existing[0][0] == digest:
        return FileResult(source_path, "skipped", "unchanged", module=existing[0][1])
    try:
        page = parse_page(
            decode(raw),
            base_url=base_url,
            page_dir=str(PurePosixPath(source_path).parent).strip("."),
            fallback_title=PurePosixPath(source_path).stem.replace("-", " ").replace("_", " "),
        )
    except NotACoursePage as exc:
        return FileResult(source_path, "skipped", str(exc))
    except PageError as exc:
        return FileResult(source_path, "failed", exc.message, line=exc.line)
    with transaction.atomic():
        module, created, changes = _save(source_path, page, digest, bindings)
        transaction.set_rollback(dry_run)
    return FileResult(
        source_path, "imported" if created else "updated", module=module.slug, changes=changes
    )


# ---------------------------------------------------------------------------
# Writing one page


def _save(
    source_path: str, page: ParsedPage, digest: str, bindings: Bindings
) -> tuple[Module, bool, Counter]:
    module = Module.objects.select_for_update().filter(source_path=source_path).first()
    created = module is None
    if module is None:
        module = Module(source_path=source_path, slug=module_slug(source_path))
    _assign(
        module, title=page.title, sort=page.sort, intro_html=page.intro_html, content_hash=digest
    )
    module.save()
    changes: Counter = Counter()
    sections = _sync_sections(module, page.sections, changes)
    _sync_objectives(module, page.objectives, bindings, changes)
    _sync_resources(module, page.resources, sections, changes)
    return module, created, changes


def module_slug(source_path: str) -> str:
    """ "part-1/intro.md" -> "part-1--intro"; a hash suffix keeps it unique."""
    parts = PurePosixPath(source_path).with_suffix("").parts
    slug = "--".join(slugify(part) or "page" for part in parts)[:180]
    if Module.objects.filter(slug=slug).exclude(source_path=source_path).exists():
        slug = f"{slug}-{content_hash(source_path.encode())[:8]}"
    return slug


def _assign(obj, **values) -> bool:
    """Set fields; True when any of them changed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _sync_sections(module: Module, parsed: list[ParsedSection], changes: Counter) -> list[Section]:
    """Sections are content, not progress: they are updated by position."""
    existing = {section.order: section for section in module.sections.all()}
    sections, new, changed = [], [], []
    for order, part in enumerate(parsed, start=1):
        section = existing.pop(order, None) or Section(module=module, order=order)
        differs = _assign(section, title=part.title, anchor=part.anchor, html=part.html)
        (new if section.pk is None else changed if differs else []).append(section)
        sections.append(section)
    Section.objects.bulk_create(new)
    Section.objects.bulk_update(changed, ["title", "anchor", "html"])
    Section.objects.filter(pk__in=[section.pk for section in existing.values()]).delete()
    changes.update({"sections created": len(new), "sections updated": len(changed)})
    changes["sections deleted"] += len(existing)
    return sections


def _sync_objectives(
    module: Module, parsed: list[ParsedObjective], bindings: Bindings, changes: Counter
) -> None:
    rows = list(module.objectives.all())
    matches = _match([p.key for p in parsed], rows, lambda row: row.key)
    _match_similar([p.key for p in parsed], rows, matches)
    values = [
        dict(order=order, text=p.text, key=p.key, group=p.group, verifier=_verifier(p, bindings))
        for order, p in enumerate(parsed, start=1)
    ]
    fields = ["order", "text", "key", "group", "verifier", "archived_at"]
    _apply(Objective, module, rows, matches, values, fields, "objectives", changes)


def _sync_resources(
    module: Module, parsed: list[ParsedResource], sections: list[Section], changes: Counter
) -> None:
    rows = list(module.resources.all())
    matches = _match([p.key for p in parsed], rows, lambda row: row.key)
    titles = [f"{p.kind}:{normalise(p.title)}" for p in parsed]
    _match(titles, rows, lambda row: f"{row.kind}:{normalise(row.title)}", matches)
    values = [_resource_values(order, p, sections) for order, p in enumerate(parsed, start=1)]
    fields = list(values[0]) + ["archived_at"] if values else []
    _apply(Resource, module, rows, matches, values, fields, "resources", changes)


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


def _apply(model, module, rows, matches, values, fields, label, changes) -> None:
    """Create, update, restore and archive rows so they match the parsed page."""
    new, changed, restored = [], [], 0
    for row, wanted in zip(matches, values, strict=True):
        if row is None:
            new.append(model(module=module, **wanted))
            continue
        restored += row.archived_at is not None
        if _assign(row, archived_at=None, **wanted):
            changed.append(row)
    model.objects.bulk_create(new)
    if changed:
        model.objects.bulk_update(changed, fields)
    taken = {id(row) for row in matches if row is not None}
    gone = [row.pk for row in rows if id(row) not in taken and row.archived_at is None]
    model.objects.filter(pk__in=gone).update(archived_at=timezone.now())
    changes[f"{label} created"] += len(new)
    changes[f"{label} updated"] += len(changed) - restored
    changes[f"{label} restored"] += restored
    changes[f"{label} archived"] += len(gone)
