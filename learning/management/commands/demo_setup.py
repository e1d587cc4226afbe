"""Demo accounts: an instructor, a student and a class, printed with passwords.

Idempotent: passwords are random the first time, kept in VAR_DIR/demo-accounts.txt
(mode 0600) and reprinted on later runs, never reset.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from learning.models import Klass
from learning.services.accounts import ensure_roles, make_instructor

CLASS_NAME = "Demo class"


def _read_passwords(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name: password for name, password in pairs}


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{name} {password}\n" for name, password in passwords.items())
    path.chmod(0o600)


class Command(BaseCommand):
    help = "Create (or reprint) the demo instructor, student and class."

    @transaction.atomic
    def handle(self, *args, **options):
        path = Path(settings.VAR_DIR) / "demo-accounts.txt"
        passwords = _read_passwords(path)
        _, students = ensure_roles()

        instructor = self._user("instructor", passwords)
        make_instructor(user=instructor)
        student = self._user("student", passwords)
        student.groups.add(students)
        _write_passwords(path, passwords)

        klass = Klass.objects.filter(name=CLASS_NAME, instructors=instructor).first()
        if klass is None:
            klass = Klass.objects.create(name=CLASS_NAME)
            klass.instructors.add(instructor)
        klass.students.add(student)

        for name in ("instructor", "student"):
            password = passwords.get(name, "(set before demo-accounts.txt existed; unchanged)")
            self.stdout.write(f"{name:<11} password: {password}")
        self.stdout.write(f"{CLASS_NAME!r} invite code: {klass.invite_code}")
        self.stdout.write(f"(passwords are kept in {path})")

    def _user(self, username: str, passwords: dict[str, str]):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            # A fresh database reuses the password from an earlier run, if any.
            passwords.setdefault(username, secrets.token_urlsafe(12))
            user.set_password(passwords[username])
            user.save()
        return user
