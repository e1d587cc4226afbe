from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from learning.management.commands._report import report
from learning.services.importing import CourseError, CourseSummary, import_file, load_verifiers


class Command(BaseCommand):
    help = "Import one or more Markdown pages (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Show what would change.")
        parser.add_argument("--base-url", help="Resolve relative links against this URL.")
        parser.add_argument(
            "--course-dir",
            type=Path,
            default=None,
            help="Folder the pages' paths (and so their slugs) are relative to "
            "(default: COURSE_DIR when the page is inside it, else the page's folder).",
        )

    def handle(self, *, paths, dry_run, base_url, course_dir, **options):
        try:
            load_verifiers()  # a broken verifiers file stops the import before any page
        except CourseError as exc:
            raise CommandError(str(exc)) from exc
        results = [
            import_file(
                path=path,
                course_dir=course_dir or _course_dir(path),
                dry_run=dry_run,
                base_url=base_url,
            )
            for path in paths
        ]
        report(self, CourseSummary(results=results, dry_run=dry_run))


def _course_dir(path: Path) -> Path:
    course_dir = Path(settings.COURSE_DIR).resolve()
    return course_dir if path.resolve().is_relative_to(course_dir) else path.resolve().parent
