"""One status rule: the module page, the dashboard and the CSV export agree on every case."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from learning.dashboard import class_snapshot, state_counts
from learning.models import ObjectiveProgress, Status, status_of

pytestmark = pytest.mark.django_db

E = ObjectiveProgress.Evidence
CASES = [
    # evidence, self-assessed, the status
    (E.NONE, False, Status.NOT_STARTED),
    (E.NONE, True, Status.SELF_ASSESSED),
    (E.VERIFIED, False, Status.VERIFIED),
    (E.VERIFIED, True, Status.VERIFIED),
    (E.NEEDS_WORK, False, Status.NEEDS_WORK),
    (E.NEEDS_WORK, True, Status.NEEDS_WORK),
    (E.NEEDS_REVIEW, False, Status.NEEDS_REVIEW),
    (E.NEEDS_REVIEW, True, Status.NEEDS_REVIEW),
]


@pytest.mark.parametrize("evidence, self_assessed, expected", CASES)
def test_evidence_decides_and_else_the_self_assessment(evidence, self_assessed, expected):
    assert status_of(evidence=evidence, self_assessed=self_assessed) is expected


def test_only_verified_and_self_assessed_count_as_done():
    assert [s for s in Status if s.done] == [Status.VERIFIED, Status.SELF_ASSESSED]


@pytest.mark.parametrize("evidence, self_assessed, expected", CASES)
def test_the_model_the_dashboard_and_the_export_agree(
    client, instructor, klass, module, student, evidence, self_assessed, expected
):
    objective = module.objectives.get(order=0)
    progress = ObjectiveProgress.objects.create(
        student=student,
        objective=objective,
        evidence=evidence,
        confidence=3 if self_assessed else None,
        self_assessed_at=timezone.now() if self_assessed else None,
    )
    assert progress.status is expected

    row = next(s for s in class_snapshot(klass=klass).students if s.user_id == student.pk)
    assert row.cells[0].status is expected
    # The chips count students: the one student has this status (and, on the other
    # two objectives, not started).
    assert state_counts([row])[expected] == 1
    assert state_counts([row])[Status.NOT_STARTED] == 1

    client.force_login(instructor)
    body = b"".join(client.get(reverse("learning:export_csv", args=[klass.pk])).streaming_content)
    rows = csv.DictReader(io.StringIO(body.decode()[1:]))
    mine = next(
        r for r in rows if r["student"] == student.username and r["objective"] == objective.text
    )
    assert mine["state"] == expected.value

    page = client.get(reverse("learning:dashboard", args=[klass.pk])).content.decode()
    assert f'class="cell cell--{expected.value}' in page
