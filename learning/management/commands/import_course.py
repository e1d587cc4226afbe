from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from learning.management.commands._report import report
from learning.services.importing import CourseError, import_course


class Command(BaseCommand):
    help = "Import every Markdown page below a course folder (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Show what would change.")
        parser.add_argument("--base-url", help="Resolve relative links against this URL.")
        parser.add_argument(
            "--archive-missing",
            action="store_true",
            help="The folder is the whole course: archive modules whose page is not in it.",
        )

    def handle(
        self,
        *,
        directory: Path,
        dry_run: bool,
        base_url: str | None,
        archive_missing: bool,
        **options,
    ):
        try:
            summary = import_course(
                directory=directory,
                dry_run=dry_run,
                base_url=base_url,
                archive_missing=archive_missing,
            )
        except CourseError as exc:
            raise CommandError(str(exc)) from exc
        report(self, summary)
