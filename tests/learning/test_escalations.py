"""Each escalation from issue 12's "Why", tried as the instructor of class B would.

Every attempt gets a 403 or 404 and changes nothing.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from learning.models import Klass, Module, Objective, ObjectiveProgress, Section
from learning.services.accounts import ensure_roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def class_a(klass, module, student):
    """Class A (the fixture's klass): alice, with a reviewed reflection."""
    objective = module.objectives.filter(archived_at__isnull=True).first()
    ObjectiveProgress.objects.create(
        student=student,
        objective=objective,
        confidence=4,
        reflection="alice's private reflection",
        self_assessed_at=timezone.now(),
    )
    return klass


@pytest.fixture
def b_teacher(client, make_user):
    """Bea teaches class B, which has none of class A's students."""
    bea = make_user("bea", role="instructor")
    class_b = Klass.objects.create(name="Class B")
    class_b.instructors.add(bea)
    client.force_login(bea)
    client.class_b = class_b
    return client


def refused(response) -> bool:
    return response.status_code in (403, 404)


def test_class_b_cannot_enrol_class_as_student(b_teacher, class_a, student):
    class_b = b_teacher.class_b
    # No admin: the class form that listed every student is out of reach.
    change = reverse("admin:learning_klass_change", args=[class_b.pk])
    assert refused(b_teacher.get(change))
    assert refused(b_teacher.post(change, {"name": "Class B", "students": [student.pk]}))
    # The workspace has no "add a student" at all; its actions on someone else's
    # class or student are 404s.
    for method, name, kwargs in [
        ("get", "learning:class_manage", {"class_id": class_a.pk}),
        ("post", "learning:class_student_remove", {"class_id": class_a.pk, "user_id": student.pk}),
        ("post", "learning:class_student_remove", {"class_id": class_b.pk, "user_id": student.pk}),
        ("get", "learning:dashboard_student", {"class_id": class_b.pk, "user_id": student.pk}),
    ]:
        assert refused(getattr(b_teacher, method)(reverse(name, kwargs=kwargs))), name
    assert not class_b.students.exists()
    # Joining takes the class's code, and only for one's own account.
    b_teacher.post(reverse("learning:join"), {"invite_code": class_b.invite_code})
    assert list(class_b.students.all()) != [student]
    html = b_teacher.get(reverse("learning:dashboard", args=[class_b.pk])).content.decode()
    assert "alice" not in html


def test_nobody_edits_a_students_evidence_or_reviewer(b_teacher, class_a, student):
    progress = ObjectiveProgress.objects.get(student=student)
    change = reverse("admin:learning_objectiveprogress_change", args=[progress.pk])
    forged = {"evidence": "verified", "review": "confirmed", "reviewed_by": 1}
    assert refused(b_teacher.get(change))
    assert refused(b_teacher.post(change, forged))
    # Class A's own instructor reviews only through the review form: the reviewer is them.
    client = Client()
    client.force_login(class_a.instructors.get())
    url = reverse("learning:objective_review", args=[class_a.pk, student.pk, progress.objective_id])
    client.post(url, {"decision": "confirmed", **forged, "reviewed_by": student.pk})
    progress.refresh_from_db()
    assert progress.evidence == "" and progress.reviewed_by == class_a.instructors.get()
    # Class B's instructor can't review class A's student at all.
    assert b_teacher.post(url, {"decision": "confirmed"}).status_code == 404


def test_nobody_deletes_an_objective(b_teacher, class_a, module):
    objective = module.objectives.filter(archived_at__isnull=True).first()
    # Objectives have no admin page of their own; deleting the module would cascade.
    delete = reverse("admin:learning_module_delete", args=[module.pk])
    assert refused(b_teacher.get(delete))
    assert refused(b_teacher.post(delete, {"post": "yes"}))
    module_change = reverse("admin:learning_module_change", args=[module.pk])
    assert refused(b_teacher.post(module_change, {"objectives-0-DELETE": "on"}))
    assert Objective.objects.filter(pk=objective.pk).exists()
    assert ObjectiveProgress.objects.filter(objective=objective).exists()


def test_nobody_saves_raw_html(b_teacher, class_a, module):
    section = module.sections.first()
    change = reverse("admin:learning_section_change", args=[section.pk])
    meta = '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    assert refused(b_teacher.post(change, {"html": meta, "title": "x", "order": 0}))
    assert refused(
        b_teacher.post(
            reverse("admin:learning_module_change", args=[module.pk]), {"intro_html": meta}
        )
    )
    assert "http-equiv" not in Section.objects.get(pk=section.pk).html
    assert "http-equiv" not in Module.objects.get(pk=module.pk).intro_html


def test_instructors_hold_no_model_permissions_at_all(b_teacher, instructor):
    ensure_roles()
    assert not instructor.is_staff and not instructor.get_all_permissions()
    assert refused(b_teacher.get(reverse("admin:index")))


def test_even_a_superuser_cannot_edit_progress_or_raw_html_in_the_admin(
    admin_client, class_a, student, module
):
    progress = ObjectiveProgress.objects.get(student=student)
    change = reverse("admin:learning_objectiveprogress_change", args=[progress.pk])
    html = admin_client.get(change).content.decode()
    assert 'name="evidence"' not in html and 'name="reviewed_by"' not in html
    section = reverse("admin:learning_section_change", args=[module.sections.first().pk])
    assert 'name="html"' not in admin_client.get(section).content.decode()
    module_page = admin_client.get(reverse("admin:learning_module_change", args=[module.pk]))
    assert 'name="intro_html"' not in module_page.content.decode()
    assert "-DELETE" not in module_page.content.decode()


def test_not_even_a_superuser_deletes_a_module_with_its_progress(admin_client, class_a, module):
    delete = reverse("admin:learning_module_delete", args=[module.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Module.objects.filter(pk=module.pk).exists()
    assert ObjectiveProgress.objects.filter(objective__module=module).exists()
