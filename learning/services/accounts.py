"""Accounts: roles, instructors, and students joining a class with its invite code."""

import math
import re
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from learning.models import Klass

INSTRUCTORS = "Instructors"
STUDENTS = "Students"


class InvalidInviteCode(ValidationError):
    pass


class InviteCodeThrottled(InvalidInviteCode):
    def __init__(self, retry_after: int):
        minutes = -(-retry_after // 60)
        super().__init__(
            "Too many wrong invite codes from your address. Try again in %(minutes)d minute(s).",
            code="throttled",
            params={"minutes": minutes},
        )
        self.retry_after = retry_after


def ensure_roles() -> tuple[Group, Group]:
    """The Instructors and Students groups. Neither holds any model permission:
    instructors work under /teach/, and the admin is for superusers only."""
    instructors, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    students, _ = Group.objects.get_or_create(name=STUDENTS)
    instructors.permissions.clear()
    return instructors, students


def make_instructor(*, user: AbstractUser) -> AbstractUser:
    instructors, _ = ensure_roles()
    user.groups.add(instructors)
    return user


def is_instructor(user: User) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=INSTRUCTORS).exists()


def normalise_invite_code(code: str) -> str:
    """'abcd efgh-jkl m' -> 'ABCD-EFGH-JKLM': forgiving about case, spaces and dashes."""
    chars = re.sub(r"[^A-Z0-9]", "", code.upper())
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def class_for_invite_code(code: str, *, address: str) -> Klass:
    """The open class this invite code belongs to.

    The one place invite codes are checked, at signup and on the join form alike:
    wrong codes count per client address, and past the limit every code is
    refused for the rest of the window (InviteCodeThrottled), so codes can't be
    guessed by trying many.
    """
    keys = [(f"invite:addr:{address}", settings.INVITE_THROTTLE_ATTEMPTS)]
    wait = _retry_after(keys, settings.INVITE_THROTTLE_WINDOW)
    if wait:
        raise InviteCodeThrottled(wait)
    klass = Klass.objects.filter(
        invite_code=normalise_invite_code(code), archived_at__isnull=True
    ).first()
    if klass is None:
        _count_failure(keys, settings.INVITE_THROTTLE_WINDOW)
        raise InvalidInviteCode(
            "No class has this invite code. Check it with your instructor.", code="invalid"
        )
    return klass


@transaction.atomic
def student_signup(
    *, username: str, password: str, display_name: str, klass: Klass
) -> AbstractUser:
    """Create a student account and enrol it in the class its invite code named.

    The display name (what instructors see on the dashboard and in exports) is
    kept in `first_name`, which Django's get_full_name() already reads.
    """
    user = get_user_model().objects.create_user(
        username=username, password=password, first_name=display_name.strip()
    )
    _, students = ensure_roles()
    user.groups.add(students)
    klass.students.add(user)
    return user


def class_join(*, student: User, klass: Klass) -> bool:
    """Enrol an existing account in a class; False if it was already in it."""
    if klass.students.filter(pk=student.pk).exists():
        return False
    klass.students.add(student)
    return True


# Counters in the shared cache (Redis in production, files in the embedded default),
# for wrong invite codes per address. Log-ins are throttled by django-axes.


def _retry_after(keys: list[tuple[str, int]], window: int) -> int:
    """Seconds until no counter is at its limit; 0 if none is now."""
    now = time.time()
    waits = [
        math.ceil(cache.get(f"{key}:start", now) + window - now)
        for key, limit in keys
        if (cache.get(key) or 0) >= limit
    ]
    return max([1, *waits]) if waits else 0


def _count_failure(keys: list[tuple[str, int]], window: int) -> None:
    for key, _ in keys:
        if cache.add(key, 0, timeout=window):
            cache.set(f"{key}:start", time.time(), timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.set(key, 1, timeout=window)


def client_address(request: HttpRequest) -> str:
    """The client's address; behind the TLS proxy, the one the proxy appended last."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
