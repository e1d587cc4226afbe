"""An instructor confirms or returns a self-assessment; the student sees it on the module page."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from learning.models import Klass, ObjectiveProgress
from learning.services.progress import objective_self_assess
from learning.services.review import objective_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessed(klass, module, student):
    objective = module.objectives.get(order=1)
    return objective_self_assess(
        student=student, objective=objective, confidence=4, reflection="I read it"
    )


def test_it_returns_a_self_assessment_with_the_reviewer_and_time(assessed, instructor):
    progress = objective_review(
        reviewer=instructor, progress=assessed, decision="returned", comment="Explain why, too."
    )
    progress.refresh_from_db()
    assert progress.review == "returned"
    assert progress.review_comment == "Explain why, too."
    assert progress.reviewed_by == instructor
    assert progress.reviewed_at is not None
    assert progress.review_current


def test_a_co_instructor_may_review(assessed, klass, make_user):
    co = make_user("carla", role="instructor")
    klass.instructors.add(co)
    objective_review(reviewer=co, progress=assessed, decision="confirmed")
    assert ObjectiveProgress.objects.get(pk=assessed.pk).review == "confirmed"


def test_an_instructor_of_another_class_may_not_review(assessed, make_user):
    other = make_user("oscar", role="instructor")
    Klass.objects.create(name="Other").instructors.add(other)
    with pytest.raises(PermissionDenied):
        objective_review(reviewer=other, progress=assessed, decision="confirmed")


def test_returning_needs_a_comment_and_a_self_assessment(assessed, instructor, module, student):
    with pytest.raises(ValidationError):
        objective_review(reviewer=instructor, progress=assessed, decision="returned", comment=" ")
    with pytest.raises(ValidationError):
        objective_review(reviewer=instructor, progress=assessed, decision="maybe")
    with pytest.raises(ValidationError):
        objective_review(
            reviewer=instructor, progress=assessed, decision="returned", comment="x" * 2001
        )
    evidence_only = ObjectiveProgress.objects.create(
        student=student, objective=module.objectives.get(order=0), evidence="needs_work"
    )
    with pytest.raises(ValidationError):
        objective_review(reviewer=instructor, progress=evidence_only, decision="confirmed")


def test_the_student_sees_a_returned_comment_escaped_on_the_module_page(
    assessed, instructor, student_client, module
):
    hostile = '<script>alert(1)</script> Explain "why".'
    objective_review(reviewer=instructor, progress=assessed, decision="returned", comment=hostile)
    html = student_client.get(reverse("learning:module", args=[module.slug])).content.decode()
    assert "Returned by your instructor" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_a_later_self_assessment_marks_the_return_as_older(assessed, instructor, student):
    objective_review(reviewer=instructor, progress=assessed, decision="returned", comment="Redo")
    progress = objective_self_assess(student=student, objective=assessed.objective, confidence=5)
    assert progress.review == "returned"
    assert not progress.review_current
