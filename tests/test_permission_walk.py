"""Every URL pattern, for every role: the status each one gets.

The walk iterates the URL resolver at run time, so a URL added later without an
entry in EXPECTED fails here until someone decides who may see it.

Roles: anonymous; the student who owns the objects; another student (of another
class); the instructor of the student's class; another instructor (of another
class). Objects in a URL always belong to the student and their class.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from diagnostics import packaging, services
from diagnostics.models import CheckRun, Report
from learning.models import CoInstructorInvite, Klass
from learning.services import uploads
from tests.diagnostics.pipeline.helpers import post_json, submission

pytestmark = pytest.mark.slow

ROLES = ("anonymous", "student", "other_student", "instructor", "other_instructor")
LOGIN = 302  # to the log-in page
R = 302  # a redirect after a POST, or away from a page for the logged-out

EVERY_INSTRUCTOR = {"anonymous": LOGIN, "instructor": 200, "other_instructor": 200, "*": 404}
OWN_CLASS = {"anonymous": LOGIN, "instructor": 200, "*": 404}

# name: (method, {role: status}) - roles left out get the value under "*".
EXPECTED: dict[str, tuple[str, dict[str, int]]] = {
    "login": ("GET", {"anonymous": 200, "*": 302}),
    "logout": ("POST", {"*": 302}),
    "signup": ("GET", {"anonymous": 200, "*": 302}),
    # The landing page for the signed-out; everyone else goes on to their own start.
    "learning:home": ("GET", {"anonymous": 200, "*": 302}),
    "learning:my_modules": ("GET", {"anonymous": LOGIN, "*": 200}),
    "learning:join": ("POST", {"anonymous": LOGIN, "*": 400}),  # no code given
    # Course content is shared: a user whose classes pick no modules sees them all,
    # and every action here changes only the user's own progress (an empty form: 400).
    "learning:module": ("GET", {"anonymous": LOGIN, "*": 200}),
    "learning:objective_save": ("POST", {"anonymous": LOGIN, "*": 400}),
    "learning:objective_clear": ("POST", {"anonymous": LOGIN, "*": R}),
    "learning:resource_done": ("POST", {"anonymous": LOGIN, "*": R}),
    "learning:teach": ("GET", EVERY_INSTRUCTOR),
    "learning:class_new": (
        "POST",
        {**EVERY_INSTRUCTOR, "instructor": 400, "other_instructor": 400},
    ),
    # The invitation is the other instructor's, to the student's class: only they answer it.
    "learning:invite_accept": ("POST", {"anonymous": LOGIN, "other_instructor": R, "*": 404}),
    "learning:invite_decline": ("POST", {"anonymous": LOGIN, "other_instructor": R, "*": 404}),
    # Course content is shared by every instructor; the staged upload is the instructor's own.
    "learning:content": ("GET", EVERY_INSTRUCTOR),
    "learning:content_upload": (
        "POST",
        {**EVERY_INSTRUCTOR, "instructor": 400, "other_instructor": 400},
    ),
    "learning:content_folder": (
        "POST",
        {**EVERY_INSTRUCTOR, "instructor": R, "other_instructor": R},
    ),
    "learning:content_preview": ("GET", {"anonymous": LOGIN, "instructor": 200, "*": 404}),
    # The class page and its actions: the class's own instructors only.
    "learning:class_manage": ("GET", OWN_CLASS),
    "learning:class_rename": ("POST", {**OWN_CLASS, "instructor": 400}),  # no name given
    "learning:class_archive": ("POST", {**OWN_CLASS, "instructor": R}),
    "learning:class_rotate_code": ("POST", {**OWN_CLASS, "instructor": R}),
    "learning:class_student_remove": ("POST", {**OWN_CLASS, "instructor": R}),
    "learning:class_invite": ("POST", {**OWN_CLASS, "instructor": 400}),
    # The user_id is the student's, who teaches nothing: a 404 for the instructor too.
    "learning:class_instructor_remove": ("POST", {**OWN_CLASS, "instructor": 404}),
    "learning:class_invite_withdraw": ("POST", {**OWN_CLASS, "instructor": R}),
    "learning:class_modules": ("POST", {**OWN_CLASS, "instructor": R}),
    "learning:dashboard": ("GET", {"anonymous": LOGIN, "instructor": 200, "*": 404}),
    "learning:dashboard_student": ("GET", {"anonymous": LOGIN, "instructor": 200, "*": 404}),
    "learning:objective_review": ("POST", {"anonymous": LOGIN, "instructor": 400, "*": 404}),
    "learning:export_csv": ("GET", {"anonymous": LOGIN, "instructor": 200, "*": 404}),
    "learning:export_json": ("GET", {"anonymous": LOGIN, "instructor": 200, "*": 404}),
    # The worker API authenticates by token only; a browser session counts for nothing.
    "diagnostics:api_reports": ("POST", {"*": 401}),
    "diagnostics:api_heartbeat": ("POST", {"*": 401}),
    "diagnostics:api_config": ("GET", {"*": 401}),
    "diagnostics:api_run_claim": ("POST", {"*": 401}),
    "diagnostics:api_openapi": ("GET", {"*": 200}),
    # Each logged-in user's own GPU page, token, runs and panel.
    "diagnostics:gpu": ("GET", {"anonymous": LOGIN, "*": 200}),
    "diagnostics:token": ("POST", {"anonymous": LOGIN, "*": 400}),  # no action given
    "diagnostics:run_start": ("POST", {"anonymous": LOGIN, "*": R}),
    "diagnostics:panel": ("GET", {"anonymous": LOGIN, "*": R}),  # not htmx: to the page
    "diagnostics:report_detail": ("GET", {"anonymous": LOGIN, "student": 200, "*": 404}),
    # Students install the worker with pip, which has no session.
    "diagnostics:worker_wheel": ("GET", {"*": 200}),
    # RabbitMQ's questions about workers' log-ins: only the broker, with the shared
    # secret, gets an answer; to everyone else the path does not exist.
    "diagnostics:broker_auth": ("POST", {"*": 404}),
    # The admin is for superusers only: the signed-out are sent to its log-in, the
    # signed-in get a 403 on every other page.
    "admin:login": ("GET", {"*": 200}),
    "admin:logout": ("POST", {"anonymous": 302, "*": 403}),
}


def admin_expected(name: str, role: str) -> tuple[str, int]:
    """Every other admin page: no role here is a superuser."""
    return "GET", 302 if role == "anonymous" else 403


def all_patterns(patterns=None, namespace: str = "", prefix: str = ""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{entry.namespace}:" if entry.namespace else namespace
            yield from all_patterns(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name or ''}", entry, prefix + str(entry.pattern)


@pytest.fixture
def world(make_user, module, settings, tmp_path):
    """Two classes, each with its instructor and a student, and the objects URLs name."""
    settings.CELERY_BROKER_URL = "memory://"
    users = {
        "student": make_user("alice"),
        "other_student": make_user("carl"),
        "instructor": make_user("ines", role="instructor"),
        "other_instructor": make_user("oscar", role="instructor"),
    }
    klass = Klass.objects.create(name="GPU course")
    klass.instructors.add(users["instructor"])
    klass.students.add(users["student"])
    klass.modules.add(module)
    other = Klass.objects.create(name="Another course")
    other.instructors.add(users["other_instructor"])
    other.students.add(users["other_student"])

    alice = users["student"]
    objective = module.objectives.filter(archived_at__isnull=True).first()
    resource = module.resources.filter(archived_at__isnull=True).first()
    invite = CoInstructorInvite.objects.create(
        klass=klass, invitee=users["other_instructor"], invited_by=users["instructor"]
    )
    settings.UPLOAD_DIR = tmp_path / "uploads"
    staged = uploads.stage_course_folder(user=users["instructor"])
    token, raw_token = services.token_create(student=alice)
    run = CheckRun.objects.create(student=alice, deadline="2100-01-01T00:00:00Z")
    posted = post_json(Client(), "/reports", submission(), raw_token)
    assert posted.status_code == 201, posted.content
    report = Report.objects.get(student=alice)
    from learning.models import ObjectiveProgress, ResourceProgress

    progress, _ = ObjectiveProgress.objects.get_or_create(student=alice, objective=objective)
    progress.confidence, progress.self_assessed_at = 3, progress.updated_at
    progress.save()
    done = ResourceProgress.objects.create(student=alice, resource=resource)
    kwargs = {
        "slug": module.slug,
        "objective_id": objective.pk,
        "resource_id": resource.pk,
        "class_id": klass.pk,
        "user_id": alice.pk,
        "run_id": run.pk,
        "report_id": report.report_id,
        "filename": packaging.wheel_filename(),
        "kind": "user",
        "invite_id": invite.pk,
        "token": staged.token,
    }
    admin_objects = {
        "module": module.pk,
        "section": module.sections.first().pk,
        "objective": objective.pk,
        "resource": resource.pk,
        "klass": klass.pk,
        "objectiveprogress": progress.pk,
        "resourceprogress": done.pk,
        "user": alice.pk,
        "group": alice.groups.first().pk,
        "checkrun": run.pk,
        "report": report.pk,
        "workertoken": token.pk,
    }
    return users, kwargs, admin_objects


def _kwargs_for(name: str, pattern: URLPattern, kwargs: dict, admin_objects: dict) -> dict:
    wanted = pattern.pattern.converters
    if name == "admin:view_on_site":
        return {"content_type_id": "999999", "object_id": "1"}
    if name.startswith("admin:") and wanted.keys() & {"object_id", "id"}:
        model = name.removeprefix("admin:").split("_")[1]
        key = "object_id" if "object_id" in wanted else "id"
        return {key: str(admin_objects[model])}
    if name == "admin:app_list":
        return {"app_label": "learning"}
    return {key: kwargs[key] for key in wanted}


def test_every_url_pattern_for_every_role_gets_the_expected_status(client, world):
    users, kwargs, admin_objects = world
    from django.urls import reverse

    seen, wrong = set(), []
    for name, pattern, route in all_patterns():
        if not pattern.name:
            continue  # the admin's catch-all "final" view
        seen.add(name)
        url = reverse(name, kwargs=_kwargs_for(name, pattern, kwargs, admin_objects))
        for role in ROLES:
            if name in EXPECTED:
                method, statuses = EXPECTED[name]
                status = statuses.get(role, statuses.get("*"))
            elif name.startswith("admin:"):
                method, status = admin_expected(name, role)
            else:
                raise AssertionError(f"{name} ({route}) has no entry in EXPECTED: who may see it?")
            client.logout()
            if role != "anonymous":
                client.force_login(users[role])
            with transaction.atomic():  # each request sees the same world
                response = client.get(url) if method == "GET" else client.post(url)
                transaction.set_rollback(True)
            if response.status_code != status:
                got = response.status_code
                wrong.append(f"{role:>16} {method} {url} ({name}): {got}, expected {status}")
    assert not wrong, "\n" + "\n".join(wrong)
    assert set(EXPECTED) <= seen, f"stale entries: {set(EXPECTED) - seen}"


def test_the_walk_covers_the_admin_and_the_api():
    names = {name for name, _, _ in all_patterns()}
    assert "admin:learning_klass_change" in names
    assert "diagnostics:api_reports" in names
    assert len(names) > 80
