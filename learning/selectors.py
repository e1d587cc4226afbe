"""Reads for the learning app. Everything a student sees is keyed by that student."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)

from learning.models import (
    CoInstructorInvite,
    Klass,
    Module,
    Objective,
    ObjectiveProgress,
    Resource,
    ResourceProgress,
    Section,
    Status,
)


@dataclass(frozen=True)
class ProgressSummary:
    objectives_done: int = 0
    objectives_total: int = 0
    objectives_returned: int = 0  # returned by an instructor: action needed
    resources_done: int = 0
    resources_total: int = 0
    minutes_left: int = 0
    # Resources not yet done whose time to complete we could not read ("... hours").
    unestimated_left: int = 0

    @property
    def time_left(self) -> str:
        hours, minutes = divmod(self.minutes_left, 60)
        if hours and minutes:
            return f"about {hours} h {minutes} min"
        if hours:
            return f"about {hours} h"
        return f"about {minutes} min"


@dataclass
class ObjectiveRow:
    objective: Objective
    progress: ObjectiveProgress | None
    form: Any = None  # the self-assessment form; the view sets it

    @property
    def status(self) -> Status:
        return self.progress.status if self.progress else Status.NOT_STARTED


@dataclass
class SectionBlock:
    section: Section | None  # None holds the resources that belong to no section
    resources: list[Resource] = field(default_factory=list)


@dataclass
class ModulePage:
    module: Module
    objective_groups: list[tuple[str, list[ObjectiveRow]]]
    sections: list[SectionBlock]
    summary: ProgressSummary


def visible_modules(*, user: User) -> QuerySet[Module]:
    """Modules the user may open: all current ones, unless every class of theirs picks some."""
    modules = Module.objects.filter(archived_at__isnull=True)
    classes = Klass.objects.filter(students=user)
    if not classes.exists() or classes.filter(modules__isnull=True).exists():
        return modules
    picked = Klass.modules.through.objects.filter(klass__students=user).values("module_id")
    return modules.filter(pk__in=picked)


def _objective_returned() -> Q:
    # Returned by an instructor since the student last self-assessed (Status.RETURNED).
    return Q(
        mine__review=ObjectiveProgress.Review.RETURNED,
        mine__self_assessed_at__isnull=False,
        mine__reviewed_at__gte=F("mine__self_assessed_at"),
    )


def _objective_done() -> Q:
    # Verified by evidence, or self-assessed with no evidence against it; not returned.
    done = Q(mine__evidence=ObjectiveProgress.Evidence.VERIFIED) | Q(
        mine__evidence="", mine__self_assessed_at__isnull=False
    )
    return done & ~_objective_returned()


def progress_summaries(*, user: User, modules: Iterable[Module]) -> dict[int, ProgressSummary]:
    """One summary per module id, in two queries whatever the number of modules."""
    ids = [m.pk for m in modules]
    objectives = (
        Objective.objects.filter(module__in=ids, archived_at__isnull=True)
        .alias(mine=FilteredRelation("progress", condition=Q(progress__student=user)))
        .order_by()
        .values("module")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=_objective_done()),
            returned=Count("pk", filter=_objective_returned()),
        )
    )
    resources = (
        Resource.objects.filter(module__in=ids, archived_at__isnull=True)
        .alias(mine=FilteredRelation("progress", condition=Q(progress__student=user)))
        .order_by()
        .values("module")
        .annotate(
            total=Count("pk"),
            done=Count("mine"),
            minutes_left=Sum("minutes", filter=Q(mine__isnull=True)),
            unestimated_left=Count("pk", filter=Q(mine__isnull=True, minutes__isnull=True)),
        )
    )
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for row in objectives:
        counts[row["module"]].update(
            objectives_total=row["total"],
            objectives_done=row["done"],
            objectives_returned=row["returned"],
        )
    for row in resources:
        counts[row["module"]].update(
            resources_total=row["total"],
            resources_done=row["done"],
            minutes_left=row["minutes_left"] or 0,
            unestimated_left=row["unestimated_left"],
        )
    return {pk: ProgressSummary(**values) for pk, values in counts.items()}


def progress_summary(*, user: User, module: Module) -> ProgressSummary:
    return progress_summaries(user=user, modules=[module])[module.pk]


def objective_rows(
    *, user: User, module: Module, only: Objective | None = None
) -> list[ObjectiveRow]:
    objectives = module.objectives.filter(archived_at__isnull=True).prefetch_related(
        Prefetch(
            "progress",
            queryset=ObjectiveProgress.objects.filter(student=user).select_related("reviewed_by"),
            to_attr="mine",
        )
    )
    if only is not None:
        objectives = objectives.filter(pk=only.pk)
    return [ObjectiveRow(o, o.mine[0] if o.mine else None) for o in objectives]


def resources_for(*, user: User, module: Module) -> QuerySet[Resource]:
    """The module's current resources, each with `done` for this user."""
    done = ResourceProgress.objects.filter(student=user, resource=OuterRef("pk"))
    return module.resources.filter(archived_at__isnull=True).annotate(done=Exists(done))


def module_page(*, user: User, module: Module) -> ModulePage:
    groups: dict[str, list[ObjectiveRow]] = {}
    for row in objective_rows(user=user, module=module):
        groups.setdefault(row.objective.group, []).append(row)

    blocks: dict[int | None, SectionBlock] = {s.pk: SectionBlock(s) for s in module.sections.all()}
    loose = SectionBlock(None)
    for resource in resources_for(user=user, module=module):
        blocks.get(resource.section_id, loose).resources.append(resource)
    sections = list(blocks.values()) + ([loose] if loose.resources else [])

    return ModulePage(
        module=module,
        objective_groups=list(groups.items()),
        sections=sections,
        summary=progress_summary(user=user, module=module),
    )


# --- Chapters: a course's own order and grouping ---------------------------------


@dataclass
class Chapter:
    title: str  # "" for a page that sits in no chapter
    modules: list[Module]
    head: Module | None = None  # the chapter's own page (a folder's index, a parent page)


HEAD_PAGES = ("index", "readme")


def module_chapters(modules: Iterable[Module]) -> list[Chapter]:
    """Group modules as the course does: by top folder, else by front matter `parent`.

    A folder's chapter takes its title from the folder's index or README page;
    a top-level page that other pages name as their `parent` heads their chapter.
    Chapters follow their head's `sort` (else their first page's), then title;
    pages in a chapter follow `sort`, then title. A page in no chapter stands alone.
    """
    modules = list(modules)
    folders = [PurePosixPath(m.source_path).parent.parts for m in modules]
    common = _common_prefix(folders) if len(modules) > 1 else ()
    folder_of = {
        m.pk: parts[len(common) : len(common) + 1]
        for m, parts in zip(modules, folders, strict=True)
    }
    titles = {m.title: m for m in modules if not folder_of[m.pk]}
    heads: dict[str, Module] = {}
    for m in modules:
        folder = folder_of[m.pk]
        depth = len(PurePosixPath(m.source_path).parts) - len(common)
        if folder and depth == 2 and PurePosixPath(m.source_path).stem.lower() in HEAD_PAGES:
            heads.setdefault(folder[0], m)
    parents = {m.parent for m in modules if m.parent}
    chapters: dict[str, Chapter] = {}
    for m in modules:
        folder = folder_of[m.pk]
        if folder:
            head = heads.get(folder[0])
            key = f"folder:{folder[0]}"
            title = head.title if head else _folder_title(folder[0])
        elif m.parent:
            head, key, title = titles.get(m.parent), f"parent:{m.parent}", m.parent
        elif m.title in parents:
            head, key, title = m, f"parent:{m.title}", m.title
        else:
            head, key, title = None, f"page:{m.pk}", ""
        chapter = chapters.setdefault(key, Chapter(title, [], head))
        chapter.modules.append(m)
    for chapter in chapters.values():
        chapter.modules.sort(key=lambda m: (m is not chapter.head, *_order(m)))
    return sorted(chapters.values(), key=lambda c: _order(c.head or c.modules[0]))


def _folder_title(name: str) -> str:
    """ "part2" -> "Part 2", "deep_learning" -> "Deep learning"."""
    words = re.sub(r"(?<=[A-Za-z])(?=\d)", " ", name.replace("-", " ").replace("_", " "))
    return words.strip().capitalize() if words.islower() else words.strip()


def _order(module: Module) -> tuple:
    return (module.sort is None, module.sort or 0, module.title.casefold())


def _common_prefix(folders: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The folders every page sits in (a course zipped inside a `docs/` folder)."""
    common = folders[0]
    for parts in folders[1:]:
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return common


def invitations_for(*, user: User) -> QuerySet[CoInstructorInvite]:
    """Invitations to co-teach that this user has not answered yet."""
    return CoInstructorInvite.objects.filter(invitee=user).select_related("klass", "invited_by")


def progress_with_evidence_at(*, student, at) -> QuerySet[ObjectiveProgress]:
    """Progress whose evidence was recorded at `at`: the report received then is in use
    (accepts OuterRef expressions, for an Exists in another app's query)."""
    return ObjectiveProgress.objects.filter(student=student, evidence_at=at)
