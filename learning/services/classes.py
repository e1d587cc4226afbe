"""Classes, as their instructors run them from /teach/.

The views check that the user teaches the class; these functions keep the
class's own rules. No function here adds an account to a class: students join
only with the invite code (accounts.class_join), and removing one from a class
leaves their own progress alone.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from learning.models import CoInstructorInvite, Klass, Module, new_invite_code
from learning.services.accounts import INSTRUCTORS, is_instructor

NAME_MAX = 200


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the class a name.")
    if len(name) > NAME_MAX:
        raise ValidationError(f"A class name has at most {NAME_MAX} characters.")
    return name


@transaction.atomic
def class_create(*, instructor: AbstractBaseUser, name: str) -> Klass:
    if not is_instructor(instructor):
        raise PermissionDenied("Only instructors create classes.")
    klass = Klass.objects.create(name=_clean_name(name))
    klass.instructors.add(instructor)
    return klass


def class_rename(*, klass: Klass, name: str) -> Klass:
    klass.name = _clean_name(name)
    klass.save(update_fields=["name"])
    return klass


def class_archive(*, klass: Klass, archived: bool) -> Klass:
    """An archived class keeps everything but takes no one new: its code stops working."""
    klass.archived_at = timezone.now() if archived else None
    klass.save(update_fields=["archived_at"])
    return klass


def invite_code_rotate(*, klass: Klass) -> str:
    """A new invite code; the old one stops working at once (students already in stay)."""
    for _ in range(5):
        klass.invite_code = new_invite_code()
        try:
            with transaction.atomic():
                klass.save(update_fields=["invite_code"])
        except IntegrityError:  # taken by another class: draw again
            continue
        return klass.invite_code
    raise RuntimeError("could not draw a free invite code")


def student_remove(*, klass: Klass, student: AbstractBaseUser) -> None:
    """Take a student out of the class. Their account and their progress stay theirs."""
    klass.students.remove(student)


@transaction.atomic
def instructor_remove(*, klass: Klass, instructor: AbstractBaseUser) -> None:
    """A co-instructor leaves, or is taken off, the class; the last one stays."""
    instructors = klass.instructors.select_for_update()
    if not instructors.filter(pk=instructor.pk).exists():
        raise ValidationError("They do not teach this class.")
    if instructors.count() == 1:
        raise ValidationError("A class keeps at least one instructor: invite another first.")
    klass.instructors.remove(instructor)


def modules_set(*, klass: Klass, modules: list[Module]) -> None:
    """The modules the class sees; none picked means every current module."""
    klass.modules.set([m for m in modules if m.archived_at is None])


def co_instructor_invite(
    *, klass: Klass, invited_by: AbstractBaseUser, username: str
) -> CoInstructorInvite:
    """Invite another instructor account by its user name; it joins when it accepts."""
    username = username.strip()
    invitee = (
        get_user_model()
        .objects.filter(username__iexact=username, is_active=True, groups__name=INSTRUCTORS)
        .first()
    )
    if invitee is None:
        raise ValidationError(
            "No instructor has the user name %(name)s. Only instructor accounts can co-teach.",
            params={"name": username},
        )
    if klass.instructors.filter(pk=invitee.pk).exists():
        raise ValidationError(
            "%(name)s already teaches this class.", params={"name": invitee.get_username()}
        )
    invite, _ = CoInstructorInvite.objects.get_or_create(
        klass=klass, invitee=invitee, defaults={"invited_by": invited_by}
    )
    return invite


@transaction.atomic
def invite_accept(*, invite: CoInstructorInvite, user: AbstractBaseUser) -> Klass:
    if invite.invitee_id != user.pk:
        raise PermissionDenied("This invitation is for someone else.")
    invite.klass.instructors.add(user)
    invite.delete()
    return invite.klass


def invite_withdraw(*, invite: CoInstructorInvite) -> None:
    """Declined by the invitee, or withdrawn by an instructor of the class."""
    invite.delete()
