"""Printing an import's results; shared by import_module and import_course."""

from django.core.management.base import BaseCommand, CommandError

from learning.services.importing import CourseSummary, FileResult

_WOULD = {"imported": "would import", "updated": "would update"}


def describe(result: FileResult, dry_run: bool) -> str:
    status = _WOULD.get(result.status, result.status) if dry_run else result.status
    where = f"{result.source_path} line {result.line}" if result.line else result.source_path
    changes = ", ".join(
        f"{count} {name}" for name, count in sorted(result.changes.items()) if count
    )
    detail = result.detail or changes or "no changes"
    return f"{status:<13} {where}: {detail}"


def report(command: BaseCommand, summary: CourseSummary) -> None:
    """One line a file, then the counts; raises CommandError when any file failed."""
    for result in summary.results:
        line = describe(result, summary.dry_run)
        if result.status == "failed":
            command.stderr.write(command.style.ERROR(line))
        else:
            command.stdout.write(line)
    verb = "would archive" if summary.dry_run else "archived"
    for module in summary.archived_modules:
        command.stdout.write(
            f"{verb:<13} {module.source_path}: not in the course "
            f"({module.students} student(s) with progress, kept)"
        )
    counts = ", ".join(
        f"{status} {summary.count(status)}"
        for status in ("imported", "updated", "skipped", "failed")
    )
    command.stdout.write(
        f"Summary: {counts}" + (" (dry run: nothing written)" if summary.dry_run else "")
    )
    if not summary.ok:
        raise CommandError(f"{summary.count('failed')} file(s) failed to import")
