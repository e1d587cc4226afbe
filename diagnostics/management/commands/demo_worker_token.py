"""A worker token for the demo student, kept under var/ so bin/demo can start its worker."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from diagnostics import selectors, services


class Command(BaseCommand):
    help = "Print the demo student's worker token, creating it (and var/demo_worker_token) once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="student")

    def handle(self, *args, username: str, **options):
        student = get_user_model().objects.filter(username=username).first()
        if student is None:
            raise CommandError(f"no user {username!r}: run `manage.py demo_setup` first")
        path = settings.VAR_DIR / "demo_worker_token"
        raw = path.read_text().strip() if path.exists() else ""
        token = selectors.token_active(raw=raw) if raw else None
        if token is None or token.student_id != student.pk:
            _, raw = services.token_create(student=student)
            path.write_text(raw + "\n")
            path.chmod(0o600)
        self.stdout.write(raw)
