"""learning.services.evidence: the one way another app writes a student's progress."""

import pytest
from django.utils import timezone

from diagnostics.agent.verdict.ids import Verifier
from learning.models import Objective, ObjectiveProgress, Status
from learning.services.evidence import evidence_record
from learning.services.progress import objective_self_assess

pytestmark = pytest.mark.django_db


def test_it_sets_the_evidence_on_the_current_objectives_bound_to_the_verifier(student, module):
    archived = Objective.objects.create(
        module=module,
        order=8,
        text="old",
        key="old",
        verifier="gpu-env",
        archived_at=timezone.now(),
    )
    at = timezone.now()
    n = evidence_record(
        student=student, verifier=Verifier.GPU_ENV, met=True, at=at, summary="Verified: fine"
    )
    assert n == 1
    [progress] = ObjectiveProgress.objects.filter(student=student)
    assert progress.objective.verifier == Verifier.GPU_ENV
    assert progress.objective != archived
    assert (progress.status, progress.evidence_at, progress.evidence_summary) == (
        Status.VERIFIED,
        at,
        "Verified: fine",
    )


def test_it_keeps_the_self_assessment_and_a_later_failure_replaces_the_evidence(student, module):
    objective = module.objectives.get(verifier="gpu-env")
    objective_self_assess(student=student, objective=objective, confidence=4, reflection="ok")
    evidence_record(
        student=student, verifier=Verifier.GPU_ENV, met=True, at=timezone.now(), summary=""
    )
    evidence_record(
        student=student, verifier=Verifier.GPU_ENV, met=False, at=timezone.now(), summary="x" * 900
    )
    progress = ObjectiveProgress.objects.get(student=student, objective=objective)
    assert (progress.confidence, progress.reflection) == (4, "ok")
    assert progress.status == Status.NEEDS_WORK
    assert len(progress.evidence_summary) == 500
