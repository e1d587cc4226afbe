"""Evidence from outside the learning app: the one way other apps write a student's progress.

diagnostics calls `evidence_record` when the server has judged a report; it
never writes ObjectiveProgress itself.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from diagnostics.agent.verdict.ids import Verifier
from learning.models import Objective, ObjectiveProgress

SUMMARY_MAX = ObjectiveProgress._meta.get_field("evidence_summary").max_length


def evidence_record(
    *, student: AbstractBaseUser, verifier: Verifier, met: bool, at: datetime, summary: str
) -> int:
    """Record a verifier's result on each current objective bound to it; returns how many.

    The self-assessment on those objectives is left alone: evidence is a separate signal.
    """
    evidence = ObjectiveProgress.Evidence.VERIFIED if met else ObjectiveProgress.Evidence.NEEDS_WORK
    objectives = Objective.objects.filter(verifier=verifier, archived_at__isnull=True)
    count = 0
    for objective in objectives:
        ObjectiveProgress.objects.update_or_create(
            student=student,
            objective=objective,
            defaults={
                "evidence": evidence,
                "evidence_at": at,
                "evidence_summary": summary[:SUMMARY_MAX],
            },
        )
        count += 1
    return count
