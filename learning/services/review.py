"""Review: an instructor confirms or returns a student's self-assessment, with a comment.

The reviewer and the time are stored on the progress row for the audit trail;
the student sees a returned comment on their module page.
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from learning.models import Klass, ObjectiveProgress
from learning.services.live import activity_touch

COMMENT_MAX = 2000
Review = ObjectiveProgress.Review


def objective_review(
    *,
    reviewer: User,
    progress: ObjectiveProgress,
    decision: str,
    comment: str = "",
    override: bool = False,
) -> ObjectiveProgress:
    """Confirm or return one self-assessment. Only an instructor of the student's class may.

    Confirming against failing GPU evidence takes an explicit override with a comment.
    """
    if decision not in (Review.CONFIRMED, Review.RETURNED):
        raise ValidationError("Choose confirm or return.")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError(f"A comment has at most {COMMENT_MAX} characters.")
    if decision == Review.RETURNED and not comment:
        raise ValidationError("Say what to work on when you return a self-assessment.")
    fails = progress.evidence == ObjectiveProgress.Evidence.NEEDS_WORK
    if decision == Review.CONFIRMED and fails and not (override and comment):
        raise ValidationError(
            "The latest GPU evidence fails: confirming needs the override and a comment."
        )
    if progress.self_assessed_at is None:
        raise ValidationError("Only a self-assessed objective can be reviewed.")
    teaches = Klass.objects.filter(instructors=reviewer, students=progress.student_id).exists()
    if not teaches:
        raise PermissionDenied("Only an instructor of the student's class can review.")
    progress.review = decision
    progress.review_comment = comment
    progress.reviewed_by = reviewer
    progress.reviewed_at = timezone.now()
    progress.save(
        update_fields=["review", "review_comment", "reviewed_by", "reviewed_at", "updated_at"]
    )
    activity_touch(student_id=progress.student_id)
    return progress
