"""Evidence from outside the learning app: the one way other apps write a student's progress.

diagnostics calls `evidence_record` when the server has judged a report; it
never writes ObjectiveProgress itself.
"""

from datetime import datetime

from django.contrib.auth.models import User

from diagnostics.agent.verdict.ids import Verifier
from learning.models import Objective, ObjectiveProgress
from learning.services.live import activity_touch

SUMMARY_MAX = ObjectiveProgress._meta.get_field("evidence_summary").max_length


def evidence_record(
    *,
    student: User,
    verifier: Verifier,
    met: bool,
    at: datetime,
    summary: str,
    needs_review: bool = False,
) -> int:
    """Record a verifier's result on each current objective bound to it; returns how many.

    Evidence that passes but is implausible (needs_review) does not verify: the
    objective shows "needs review" until an instructor has looked. The
    self-assessment on those objectives is left alone: evidence is a separate
    signal. One upsert for all the objectives, whatever their number.
    """
    if needs_review:
        evidence = ObjectiveProgress.Evidence.NEEDS_REVIEW
    else:
        evidence = (
            ObjectiveProgress.Evidence.VERIFIED if met else ObjectiveProgress.Evidence.NEEDS_WORK
        )
    objectives = Objective.objects.filter(verifier=verifier, archived_at__isnull=True)
    rows = ObjectiveProgress.objects.bulk_create(
        [
            ObjectiveProgress(
                student=student,
                objective_id=pk,
                evidence=evidence,
                evidence_at=at,
                evidence_summary=summary[:SUMMARY_MAX],
            )
            for pk in objectives.values_list("pk", flat=True)
        ],
        update_conflicts=True,
        unique_fields=["student", "objective"],
        update_fields=["evidence", "evidence_at", "evidence_summary", "updated_at"],
    )
    activity_touch(student_id=student.pk)  # the report itself shows too
    return len(rows)


def evidence_hold_for_review(
    *, student: User, verifier: Verifier, at: datetime, summary: str
) -> int:
    """Evidence recorded at `at` that verified now needs review (e.g. another student
    sent the same GPU); newer evidence is left alone. Returns how many objectives."""
    held = ObjectiveProgress.objects.filter(
        student=student,
        objective__verifier=verifier,
        evidence=ObjectiveProgress.Evidence.VERIFIED,
        evidence_at=at,
    ).update(
        evidence=ObjectiveProgress.Evidence.NEEDS_REVIEW, evidence_summary=summary[:SUMMARY_MAX]
    )
    activity_touch(student_id=student.pk)  # the twin report's flag shows too
    return held
