"""Accounts: roles, instructors, and students joining a class with its invite code."""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from learning.models import Klass

INSTRUCTORS = "Instructors"
STUDENTS = "Students"

# What instructors may do in the admin. Course content is shared; classes and
# progress are further limited to their own classes by the admin itself. No
# permissions on auth.User: with change_user anyone could make themselves superuser.
INSTRUCTOR_PERMISSIONS = {
    "module": ("view", "add", "change", "delete"),
    "section": ("view", "add", "change", "delete"),
    "objective": ("view", "add", "change", "delete"),
    "resource": ("view", "add", "change", "delete"),
    "klass": ("view", "add", "change", "delete"),
    "objectiveprogress": ("view", "change"),
    "resourceprogress": ("view",),
}


class InvalidInviteCode(ValidationError):
    pass


def ensure_roles() -> tuple[Group, Group]:
    """Create the Instructors and Students groups and set the instructors' permissions."""
    instructors, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    students, _ = Group.objects.get_or_create(name=STUDENTS)
    codenames = [
        f"{action}_{model}"
        for model, actions in INSTRUCTOR_PERMISSIONS.items()
        for action in actions
    ]
    perms = Permission.objects.filter(content_type__app_label="learning", codename__in=codenames)
    instructors.permissions.set(perms)
    return instructors, students


def make_instructor(*, user: AbstractUser) -> AbstractUser:
    instructors, _ = ensure_roles()
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(instructors)
    return user


def normalise_invite_code(code: str) -> str:
    """'abcd efgh-jkl m' -> 'ABCD-EFGH-JKLM': forgiving about case, spaces and dashes."""
    chars = re.sub(r"[^A-Z0-9]", "", code.upper())
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def class_for_invite_code(code: str) -> Klass:
    klass = Klass.objects.filter(invite_code=normalise_invite_code(code)).first()
    if klass is None:
        raise InvalidInviteCode(
            "No class has this invite code. Check it with your instructor.", code="invalid"
        )
    return klass


@transaction.atomic
def student_signup(*, username: str, password: str, invite_code: str) -> AbstractUser:
    """Create a student account and enrol it in the class the invite code belongs to."""
    klass = class_for_invite_code(invite_code)
    user = get_user_model().objects.create_user(username=username, password=password)
    _, students = ensure_roles()
    user.groups.add(students)
    klass.students.add(user)
    return user


def client_address(request: HttpRequest) -> str:
    """The client's address; behind the TLS proxy, the one the proxy appended last."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
