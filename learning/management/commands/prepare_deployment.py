from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from learning.management.commands._report import report
from learning.models import Module
from learning.services.importing import CourseError, import_course_first_start


class Command(BaseCommand):
    help = (
        "Apply migrations, then import the course folder (COURSE_DIR) if no module "
        "exists yet. The compose migrate service runs it before every start."
    )

    def handle(self, **options):
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
        try:
            summary = import_course_first_start(
                directory=settings.COURSE_DIR, base_url=settings.COURSE_BASE_URL
            )
        except CourseError as exc:
            raise CommandError(f"COURSE_DIR: {exc}") from exc
        if summary is None:
            self.stdout.write(
                f"The course is already imported: {Module.objects.count()} module(s). "
                "`manage.py import_course` updates it."
            )
        else:
            self.stdout.write(f"First start: the course from {settings.COURSE_DIR}")
            report(self, summary)
