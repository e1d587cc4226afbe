"""Accounts: roles, instructors, and students joining a class with its invite code."""

import hashlib
import math
import re
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.core.cache import cache
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


# Log-in throttling: failed attempts are counted per user name and client address
# (so one attacker can't lock a student out from everywhere) and per address
# alone, with a looser limit (so spraying many user names is slow too). Counters
# live in the shared cache: Redis in production, files in the embedded default.


def _login_keys(*, username: str, address: str) -> list[tuple[str, int]]:
    attempts = settings.LOGIN_THROTTLE_ATTEMPTS
    pair = hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()[:32]
    return [(f"login:pair:{pair}", attempts), (f"login:addr:{address}", attempts * 10)]


def login_retry_after(*, username: str, address: str) -> int:
    """Seconds until this user name may try again from this address; 0 if it may now."""
    now = time.time()
    waits = [
        math.ceil(cache.get(f"{key}:start", now) + settings.LOGIN_THROTTLE_WINDOW - now)
        for key, limit in _login_keys(username=username, address=address)
        if (cache.get(key) or 0) >= limit
    ]
    return max([1, *waits]) if waits else 0


def login_failed(*, username: str, address: str) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW
    for key, _ in _login_keys(username=username, address=address):
        if cache.add(key, 0, timeout=window):
            cache.set(f"{key}:start", time.time(), timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.set(key, 1, timeout=window)


def login_succeeded(*, username: str, address: str) -> None:
    pair_key, _ = _login_keys(username=username, address=address)[0]
    cache.delete_many([pair_key, f"{pair_key}:start"])


def client_address(request: HttpRequest) -> str:
    """The client's address; behind the TLS proxy, the one the proxy appended last."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
