"""The class dashboard: who may see it, the matrix, filters, search, stuck students and charts."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import WorkerToken
from learning.models import Klass, ObjectiveProgress
from learning.services.progress import objective_self_assess
from learning.services.review import objective_review
from tests.learning.dashboard_data import FAILING, PASSING, add_reports, add_students

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_REFLECTION = '"><img src=x onerror=alert(1)>'


def dashboard_url(klass, **query):
    url = reverse("learning:dashboard", args=[klass.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def student_url(klass, student):
    return reverse("learning:dashboard_student", args=[klass.pk, student.pk])


def objective(module, order):
    return module.objectives.get(order=order)


@pytest.fixture
def teacher_client(client, instructor):
    client.force_login(instructor)
    return client


@pytest.fixture
def class_data(klass, module, student, other_student):
    """alice: stuck on a CPU-only torch but self-assessed the GPU objective; bob: verified."""
    add_reports(student, PASSING, FAILING, FAILING)
    add_reports(other_student, PASSING)
    gpu = objective(module, 0)
    objective_self_assess(student=student, objective=gpu, confidence=4)
    ObjectiveProgress.objects.filter(student=student, objective=gpu).update(evidence="needs_work")
    ObjectiveProgress.objects.create(student=other_student, objective=gpu, evidence="verified")
    objective_self_assess(student=other_student, objective=objective(module, 1), confidence=2)
    return klass


def rows(html: str) -> list[str]:
    return re.findall(r'<tr id="student-(\d+)"', html)


# --- Permissions ------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, klass):
    for url in (reverse("learning:teach"), dashboard_url(klass)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_an_instructor_of_another_class_gets_404(client, klass, student, make_user, module):
    other = make_user("oscar", role="instructor")
    Klass.objects.create(name="Other class").instructors.add(other)
    client.force_login(other)
    urls = [
        dashboard_url(klass),
        student_url(klass, student),
        reverse("learning:export_csv", args=[klass.pk]),
        reverse("learning:export_json", args=[klass.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    review = reverse(
        "learning:objective_review", args=[klass.pk, student.pk, objective(module, 1).pk]
    )
    assert client.post(review, {"decision": "confirmed"}).status_code == 404


def test_a_student_gets_no_dashboard_and_no_export(student_client, klass, student):
    for url in (
        reverse("learning:teach"),
        dashboard_url(klass),
        student_url(klass, student),
        reverse("learning:export_csv", args=[klass.pk]),
        reverse("learning:export_json", args=[klass.pk]),
    ):
        assert student_client.get(url).status_code == 404, url


def test_a_co_instructor_sees_the_class(client, klass, make_user, module):
    co = make_user("carla", role="instructor")
    klass.instructors.add(co)
    client.force_login(co)
    assert client.get(reverse("learning:teach")).status_code == 200
    assert client.get(dashboard_url(klass)).status_code == 200


def test_an_instructor_cannot_open_a_student_outside_the_class(teacher_client, klass, make_user):
    outsider = make_user("zed")
    assert teacher_client.get(student_url(klass, outsider)).status_code == 404


# --- The matrix ----------------------------------------------------------------------


def test_the_matrix_shows_states_progress_worker_and_gpu(teacher_client, class_data, student):
    WorkerToken.objects.create(
        student=student, prefix="trw_x", token_hash="h" * 64, last_seen_at=timezone.now()
    )
    html = teacher_client.get(dashboard_url(class_data)).content.decode()
    assert "Needs work" in html and "self-assessed 4/5" in html
    assert "Verified" in html and 'Self <span class="conf">2/5</span>' in html
    assert "● online" in html
    assert "NVIDIA H100 80GB HBM3" in html
    assert "bf16 724.0 · fp32 50.8 TFLOP/s" in html
    assert "fails: <code>torch-cuda-build</code>" in html
    assert '<span class="pct-num">67%</span>' in html  # bob: verified and self-assessed, of 3
    assert '<span class="pct-num">0%</span>' in html  # alice: evidence contradicts her tick


def test_filters_by_state_check_gpu_and_contradiction(
    teacher_client, class_data, student, other_student
):
    def shown(**query):
        return rows(teacher_client.get(dashboard_url(class_data, **query)).content.decode())

    assert shown() == [str(student.pk), str(other_student.pk)]
    assert shown(state="needs_work") == [str(student.pk)]
    assert shown(state="verified") == [str(other_student.pk)]
    assert shown(check="torch-cuda-build") == [str(student.pk)]
    assert shown(gpu="NVIDIA%20H100%2080GB%20HBM3") == [str(other_student.pk)]
    assert shown(contradicted="on") == [str(student.pk)]
    assert shown(q="BO") == [str(other_student.pk)]
    assert shown(sort="-progress") == [str(other_student.pk), str(student.pk)]
    # An unknown value in a shared link is ignored rather than an error.
    assert shown(state="bogus", sort="nope") == [str(student.pk), str(other_student.pk)]


def test_a_returned_self_assessment_shows_and_filters(
    teacher_client, class_data, instructor, module, other_student
):
    progress = ObjectiveProgress.objects.get(student=other_student, objective=objective(module, 1))
    objective_review(reviewer=instructor, progress=progress, decision="returned", comment="Why?")
    html = teacher_client.get(dashboard_url(class_data, state="returned")).content.decode()
    assert rows(html) == [str(other_student.pk)]
    assert '<span aria-hidden="true">↩</span> Returned' in html
    assert "Returned: action needed: 1 student" in html


def test_hostile_names_and_reflections_are_escaped(teacher_client, klass, module, student):
    User = get_user_model()
    User.objects.filter(pk=student.pk).update(first_name=HOSTILE_NAME, last_name=HOSTILE_REFLECTION)
    objective_self_assess(
        student=student, objective=objective(module, 1), confidence=3, reflection=HOSTILE_REFLECTION
    )
    for url in (dashboard_url(klass, q="script"), student_url(klass, student)):
        html = teacher_client.get(url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_htmx_requests_get_the_live_region_and_204_when_unchanged(teacher_client, class_data):
    response = teacher_client.get(
        dashboard_url(class_data, state="needs_work"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="live"')
    assert "<form" not in html.split('id="live"')[0]
    version = re.search(r'"v": "([0-9a-f]+)"', html).group(1)
    again = teacher_client.get(
        dashboard_url(class_data, state="needs_work", v=version), HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 204


def poll(client, klass, **query):
    """The live region's poll: its version first, then the poll with that version."""
    html = client.get(dashboard_url(klass, **query), HTTP_HX_REQUEST="true").content.decode()
    version = re.search(r'"v": "([0-9a-f]+)"', html).group(1)
    return lambda: client.get(dashboard_url(klass, **query, v=version), HTTP_HX_REQUEST="true")


def test_an_unchanged_poll_is_one_aggregate_query_and_builds_nothing(teacher_client, class_data):
    again = poll(teacher_client, class_data)
    with CaptureQueriesContext(connection) as queries:
        assert again().status_code == 204
    # The instructor, and the version (whether they teach the class included); the
    # session comes from the cache, the students' activity from their counts.
    assert len(queries) == 2
    assert "learning_objectiveprogress" not in queries[-1]["sql"]
    assert "diagnostics_report" not in queries[-1]["sql"]


def test_a_poll_of_a_class_the_user_does_not_teach_is_a_404(client, make_user, class_data):
    client.force_login(make_user("other-teacher", role="instructor"))
    response = client.get(dashboard_url(class_data, v="0"), HTTP_HX_REQUEST="true")
    assert response.status_code == 404


def test_a_page_link_inside_the_live_region_renders_although_it_carries_the_version(
    teacher_client, klass, module
):
    add_students(klass, 101)
    html = teacher_client.get(dashboard_url(klass), HTTP_HX_REQUEST="true").content.decode()
    version = re.search(r'"v": "([0-9a-f]+)"', html).group(1)
    page2 = teacher_client.get(dashboard_url(klass, page=2, v=version), HTTP_HX_REQUEST="true")
    assert page2.status_code == 200
    assert len(rows(page2.content.decode())) == 3


def _self_assess(class_data, module, student, other_student, worker_token):
    objective_self_assess(student=other_student, objective=objective(module, 2), confidence=5)


def _untick(class_data, module, student, other_student, worker_token):
    from learning.services.progress import objective_untick

    objective_untick(student=other_student, objective=objective(module, 1))


def _review(class_data, module, student, other_student, worker_token):
    progress = ObjectiveProgress.objects.get(student=student, objective=objective(module, 0))
    objective_review(
        reviewer=class_data.instructors.get(),
        progress=progress,
        decision="returned",
        comment="Show the GPU in torch first.",
    )


def _report(class_data, module, student, other_student, worker_token):
    """A report as the student's worker posts it, through the API."""
    from django.test import Client

    from tests.diagnostics.pipeline.helpers import fixture_dict, post_json, submission

    body = submission(fixture_dict("torch_missing"))
    assert post_json(Client(), "/reports", body, worker_token).status_code == 201


def _resource_done(class_data, module, student, other_student, worker_token):
    from learning.services.progress import resource_mark

    resource_mark(student=student, resource=module.resources.first(), done=True)


def _worker_online(class_data, module, student, other_student, worker_token):
    from diagnostics import services

    token, _ = services.token_create(student=student)
    services.token_heartbeat(token=token, info={})


def _module_archived(class_data, module, student, other_student, worker_token):
    """Its page left the course: a whole-course import archives it."""
    import tempfile
    from pathlib import Path

    from learning.services.importing import import_course

    with tempfile.TemporaryDirectory() as empty:
        import_course(directory=Path(empty), archive_missing=True)
    module.refresh_from_db()
    assert module.archived_at is not None


def _student_joins(class_data, module, student, other_student, worker_token):
    add_students(class_data, 1)


def _student_leaves(class_data, module, student, other_student, worker_token):
    class_data.students.remove(other_student)


@pytest.fixture
def worker_token(other_student) -> str:
    from diagnostics import services

    return services.token_create(student=other_student)[1]


@pytest.mark.parametrize(
    "change",
    [
        _self_assess,
        _untick,
        _review,
        _report,
        _resource_done,
        _worker_online,
        _module_archived,
        _student_joins,
        _student_leaves,
    ],
)
def test_any_change_the_region_shows_makes_the_poll_render_it(
    teacher_client,
    class_data,
    module,
    student,
    other_student,
    worker_token,
    change,
):
    again = poll(teacher_client, class_data)
    change(class_data, module, student, other_student, worker_token)
    response = again()
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="live"')


def test_a_change_in_another_class_leaves_the_poll_at_204(
    teacher_client, class_data, module, make_user
):
    outsider = make_user("outsider")
    elsewhere = Klass.objects.create(name="Another class")
    elsewhere.instructors.add(class_data.instructors.get())
    elsewhere.students.add(outsider)
    again, theirs = poll(teacher_client, class_data), poll(teacher_client, elsewhere)
    objective_self_assess(student=outsider, objective=objective(module, 2), confidence=5)
    assert again().status_code == 204
    assert theirs().status_code == 200  # the outsider's own class does show it


def test_the_times_ago_refresh_each_minute(teacher_client, class_data, monkeypatch):
    again = poll(teacher_client, class_data)
    later = timezone.now() + timedelta(minutes=1)
    monkeypatch.setattr("learning.dashboard.timezone.now", lambda: later)
    assert again().status_code == 200


def test_the_live_region_polls_its_own_filtered_url(teacher_client, class_data):
    html = teacher_client.get(dashboard_url(class_data, state="needs_work")).content.decode()
    assert f'hx-get="/teach/{class_data.pk}/?state=needs_work"' in html
    assert 'hx-trigger="every 5s' in html
    # The filter form is outside the swapped region, so typing in it is never interrupted.
    assert html.index('id="filters"') < html.index('id="live"')


def test_the_matrix_paginates_at_100_students(teacher_client, klass, module):
    add_students(klass, 101)
    html = teacher_client.get(dashboard_url(klass)).content.decode()
    assert len(rows(html)) == 100
    assert "Page 1 of 2" in html
    html = teacher_client.get(dashboard_url(klass, page=2)).content.decode()
    assert len(rows(html)) == 3  # 101 + alice and bob


# --- Who is stuck ----------------------------------------------------------------------


def test_stuck_students_are_grouped_by_failing_check_with_the_hint(
    teacher_client, class_data, student
):
    html = teacher_client.get(dashboard_url(class_data)).content.decode()
    stuck = html[html.index('id="stuck"') :]
    assert "<code>torch-cuda-build</code> · 1 student" in stuck
    assert "Hint they were given" in stuck and "download.pytorch.org" in stuck
    hints = stuck[stuck.index('class="hints"') : stuck.index("Students:")]
    assert "<code>conda remove" in hints and "`" not in hints  # commands as code, no raw backticks
    assert "Stuck longest" in stuck and "failing for" in stuck


def test_stuck_since_is_the_first_failure_after_the_last_pass(class_data, student):
    from diagnostics.models import Report
    from learning.dashboard import class_snapshot

    reports = Report.objects.filter(student=student).order_by("received_at")
    [row] = [s for s in class_snapshot(klass=class_data).students if s.user_id == student.pk]
    assert row.stuck_since == reports[1].received_at


# --- Charts -----------------------------------------------------------------------------


def test_charts_are_inline_svg_with_titles_and_data_tables(teacher_client, class_data):
    html = teacher_client.get(dashboard_url(class_data)).content.decode()
    for chart in ("completion", "gpus", "drivers", "cuda", "bench-bf16", "bench-fp32"):
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html
    assert html.count('<details class="chart-data">') == 6
    assert "http" not in "".join(re.findall(r"<svg.*?</svg>", html, re.S)).replace(
        "http://www.w3.org/2000/svg", ""
    )


# --- Query count ------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_class(teacher_client, klass, module):
    def grow_to(n):
        for s in add_students(klass, n - klass.students.count()):
            add_reports(s, FAILING, PASSING)
            objective_self_assess(student=s, objective=objective(module, 1), confidence=3)

    grow_to(3)
    small = _queries(teacher_client, dashboard_url(klass))
    small_student = _queries(teacher_client, student_url(klass, klass.students.first()))
    grow_to(30)
    assert _queries(teacher_client, dashboard_url(klass)) == small <= 15
    assert _queries(teacher_client, student_url(klass, klass.students.first())) == small_student
