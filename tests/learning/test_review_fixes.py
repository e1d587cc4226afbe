"""Review on the drill-down: returned means "action needed"; failing evidence needs an override."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from learning.dashboard import class_snapshot, state_counts
from learning.models import ObjectiveProgress, Status
from learning.selectors import progress_summary
from learning.services.progress import objective_self_assess
from learning.services.review import objective_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessed(student, module, klass):
    objective = module.objectives.get(order=0)
    return objective_self_assess(student=student, objective=objective, confidence=4)


def review_url(klass, progress):
    return reverse(
        "learning:objective_review", args=[klass.pk, progress.student_id, progress.objective_id]
    )


def test_a_returned_objective_is_returned_action_needed_everywhere(
    client, instructor, student, klass, module, assessed
):
    objective_review(reviewer=instructor, progress=assessed, decision="returned", comment="Redo")
    assessed.refresh_from_db()
    assert assessed.status is Status.RETURNED and not Status.RETURNED.done

    # The student: the badge, not done, and flagged on the My modules card.
    client.force_login(student)
    page = client.get(reverse("learning:module", args=[module.slug])).content.decode()
    assert "Returned: action needed" in page
    assert "badge--self" not in page.split(f'id="objective-{assessed.objective_id}"')[1][:3000]
    assert progress_summary(user=student, module=module).objectives_done == 0
    cards = client.get(reverse("learning:my_modules")).content.decode()
    assert "1 returned: action needed" in cards

    # The instructor: the matrix, the counts and the export agree.
    row = next(s for s in class_snapshot(klass=klass).students if s.user_id == student.pk)
    assert row.cells[0].status is Status.RETURNED and row.done == 0
    assert state_counts([row])[Status.RETURNED] == 1
    client.force_login(instructor)
    body = b"".join(client.get(reverse("learning:export_csv", args=[klass.pk])).streaming_content)
    mine = [
        r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig"))) if r["student"] == "alice"
    ]
    assert mine[0]["state"] == Status.RETURNED


def test_reworking_a_returned_objective_clears_the_flag(student, instructor, module, assessed):
    objective_review(reviewer=instructor, progress=assessed, decision="returned", comment="Redo")
    progress = objective_self_assess(
        student=student, objective=assessed.objective, confidence=5, reflection="Done properly"
    )
    assert progress.status is Status.SELF_ASSESSED
    assert progress_summary(user=student, module=module).objectives_done == 1


def test_confirming_against_failing_evidence_needs_an_override_with_a_comment(
    client, instructor, klass, assessed
):
    assessed.evidence = ObjectiveProgress.Evidence.NEEDS_WORK
    assessed.evidence_at = timezone.now()
    assessed.save()
    client.force_login(instructor)
    page = client.get(reverse("learning:dashboard_student", args=[klass.pk, assessed.student_id]))
    assert "The latest GPU evidence fails." in page.content.decode()

    response = client.post(review_url(klass, assessed), {"decision": "confirmed"})
    assert response.status_code == 400
    assert "tick the override and say why" in response.content.decode()
    response = client.post(review_url(klass, assessed), {"decision": "confirmed", "override": "on"})
    assert response.status_code == 400
    assert "Say why you confirm it despite the failing evidence." in response.content.decode()
    assessed.refresh_from_db()
    assert assessed.review == ""

    data = {"decision": "confirmed", "override": "on", "comment": "Ran it with me on a lab PC"}
    assert client.post(review_url(klass, assessed), data).status_code == 302
    assessed.refresh_from_db()
    assert assessed.review == "confirmed" and assessed.reviewed_by == instructor


def test_the_service_refuses_the_override_without_a_comment(instructor, assessed):
    assessed.evidence = ObjectiveProgress.Evidence.NEEDS_WORK
    assessed.save()
    with pytest.raises(ValidationError):
        objective_review(reviewer=instructor, progress=assessed, decision="confirmed")
    with pytest.raises(ValidationError):
        objective_review(
            reviewer=instructor, progress=assessed, decision="confirmed", override=True
        )


def test_the_count_chips_count_students(client, instructor, klass, module, student, assessed):
    client.force_login(instructor)
    html = client.get(reverse("learning:dashboard", args=[klass.pk])).content.decode()
    assert "Students with an objective that is:" in html
    # alice self-assessed one of three; bob started nothing: two students not started.
    assert "Self-assessed: 1 student<" in html
    assert "Not started: 2 students<" in html
