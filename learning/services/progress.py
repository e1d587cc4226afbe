"""Progress: a student's self-assessments of objectives and resources done.

Every function takes the student explicitly; views pass request.user, so a
student can only ever write their own rows.
"""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from learning.models import Objective, ObjectiveProgress, Resource, ResourceProgress
from learning.services.live import activity_touch

REFLECTION_MAX = 2000


def _check_current(item: Objective | Resource) -> None:
    if item.archived_at is not None:
        raise ValidationError(f"{item} is archived and can no longer be changed.")


def objective_self_assess(
    *, student: User, objective: Objective, confidence: int, reflection: str = ""
) -> ObjectiveProgress:
    """Tick an objective: record (or replace) the student's confidence and reflection.

    Evidence from a GPU check is left alone: it is a separate signal.
    """
    _check_current(objective)
    if not 1 <= confidence <= 5:
        raise ValidationError("Confidence must be from 1 to 5.")
    if len(reflection) > REFLECTION_MAX:
        raise ValidationError(f"A reflection has at most {REFLECTION_MAX} characters.")
    progress, _ = ObjectiveProgress.objects.update_or_create(
        student=student,
        objective=objective,
        defaults={
            "confidence": confidence,
            "reflection": reflection,
            "self_assessed_at": timezone.now(),
        },
    )
    activity_touch(student_id=student.pk)
    return progress


def objective_untick(*, student: User, objective: Objective) -> ObjectiveProgress | None:
    """Withdraw the self-assessment. A row that still holds evidence is kept; else it goes."""
    _check_current(objective)
    progress = ObjectiveProgress.objects.filter(student=student, objective=objective).first()
    if progress is None:
        return None
    if not progress.evidence:
        progress.delete()
        activity_touch(student_id=student.pk)
        return None
    progress.confidence = None
    progress.reflection = ""
    progress.self_assessed_at = None
    progress.save(update_fields=["confidence", "reflection", "self_assessed_at", "updated_at"])
    activity_touch(student_id=student.pk)
    return progress


def resource_mark(*, student: User, resource: Resource, done: bool) -> None:
    _check_current(resource)
    if done:
        ResourceProgress.objects.get_or_create(student=student, resource=resource)
    else:
        ResourceProgress.objects.filter(student=student, resource=resource).delete()
    activity_touch(student_id=student.pk)
