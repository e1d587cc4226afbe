"""In Debian's Chromium: the instructor filters to stuck students, opens one and returns a
self-assessment with a comment; the student then sees the comment on their module page."""

import re

import pytest
from django.utils import timezone

from diagnostics.agent.verdict.ids import Verifier
from learning.models import ObjectiveProgress
from learning.services.evidence import evidence_record
from learning.services.progress import objective_self_assess
from tests.conftest import PASSWORD
from tests.learning.dashboard_data import FAILING, PASSING, add_reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Instructors land on their classes, students on their modules.
    page.get_by_role("heading", name=re.compile("^(My modules|Your classes)$")).wait_for()


@pytest.fixture
def stuck_class(klass, module, student, other_student):
    """alice is stuck (CPU-only torch) and self-assessed another objective; bob is verified."""
    gpu, trends = module.objectives.get(order=0), module.objectives.get(order=1)
    add_reports(student, FAILING)
    ObjectiveProgress.objects.create(student=student, objective=gpu, evidence="needs_work")
    objective_self_assess(
        student=student, objective=trends, confidence=5, reflection="I know all of it."
    )
    add_reports(other_student, PASSING)
    ObjectiveProgress.objects.create(student=other_student, objective=gpu, evidence="verified")
    return klass


def test_an_instructor_returns_a_stuck_students_self_assessment_and_the_student_sees_it(
    browser, page, live_server, stuck_class, module, student
):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "ines")  # instructors land on their classes
    page.get_by_role("link", name=stuck_class.name, exact=True).click()
    rows = page.locator("#live tbody tr")
    assert rows.count() == 2

    with page.expect_response(re.compile(r"state=needs_work")) as response:
        page.get_by_label("State").select_option("needs_work")
    assert response.value.request.headers.get("hx-request") == "true"
    page.wait_for_url(re.compile(r"state=needs_work"))  # bookmarkable
    rows.filter(has_text="bob").wait_for(state="detached")
    assert rows.count() == 1
    assert page.get_by_label("State").input_value() == "needs_work"  # the form stayed

    rows.get_by_role("link", name="alice").click()
    page.get_by_role("heading", name="alice").wait_for()
    trends = module.objectives.get(order=1)
    row = page.locator(f"#objective-{trends.pk}")
    assert row.get_by_text("I know all of it.").is_visible()
    row.get_by_text("Confirm or return").click()
    row.get_by_label("Comment").fill("Name two frameworks and a paper for each, please.")
    with page.expect_response(re.compile(r"/review/$")) as response:
        row.get_by_role("button", name="Return with comment").click()
    assert response.value.request.headers.get("hx-request") == "true"
    row = page.locator(f"#objective-{trends.pk}")
    row.get_by_text("Returned by an instructor").wait_for()
    assert errors == []

    student_page = browser.new_context().new_page()
    log_in(student_page, live_server, student.username)
    student_page.get_by_role("link", name=module.title).click()
    mine = student_page.locator(f"#objective-{trends.pk}")
    assert mine.get_by_text("Returned by your instructor").is_visible()
    assert mine.get_by_text("Returned: action needed").is_visible()
    assert mine.get_by_text("Name two frameworks and a paper for each, please.").is_visible()
    student_page.context.close()


def test_the_matrix_updates_live_and_leaves_the_filter_form_alone(
    page, live_server, stuck_class, module, other_student
):
    log_in(page, live_server, "ines")
    page.goto(f"{live_server.url}/teach/{stuck_class.pk}/")
    page.evaluate("document.getElementById('filters').dataset.marker = 'kept'")
    bob = page.locator(f"#student-{other_student.pk}")
    assert bob.locator(".cell--verified").count() == 1

    # bob's next report fails: the evidence turns to needs work while the page is open.
    evidence_record(
        student=other_student, verifier=Verifier.GPU_ENV, met=False, at=timezone.now(), summary=""
    )
    bob.locator(".cell--needs_work").wait_for(timeout=12_000)
    assert page.evaluate("document.getElementById('filters').dataset.marker") == "kept"
