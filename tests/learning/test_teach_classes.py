"""The class page under /teach/: an instructor runs a class without the admin."""

import csv
import io

import pytest
from django.urls import reverse

from learning.models import CoInstructorInvite, Klass, Module, ObjectiveProgress
from learning.services.accounts import normalise_invite_code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher(client, instructor):
    client.force_login(instructor)
    return client


def manage(klass, action="class_manage", **kwargs):
    return reverse(f"learning:{action}", kwargs={"class_id": klass.pk, **kwargs})


def test_instructors_land_on_their_classes_and_students_on_their_modules(
    client, instructor, student
):
    response = client.post(reverse("login"), {"username": "ines", "password": PASSWORD})
    assert response.url == reverse("learning:teach")
    client.post(reverse("logout"))
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.url == reverse("learning:my_modules")
    assert client.get("/").url == reverse("learning:my_modules")


def test_the_signed_out_get_a_landing_page_with_log_in_and_join_links(client):
    html = client.get("/").content.decode()
    assert "learning tracker for hands-on GPU courses" in html
    assert f'href="{reverse("login")}"' in html and f'href="{reverse("signup")}"' in html


def test_an_instructor_creates_a_class_and_is_its_instructor(teacher, instructor):
    response = teacher.post(reverse("learning:class_new"), {"name": "  Spring   cohort "})
    klass = Klass.objects.get(name="Spring cohort")
    assert response.url == manage(klass)
    assert list(klass.instructors.all()) == [instructor]
    assert not klass.students.exists()
    assert teacher.post(reverse("learning:class_new"), {"name": " "}).status_code == 400


def test_rename_and_archive_and_restore(teacher, klass):
    assert teacher.post(manage(klass, "class_rename"), {"rename-name": "Autumn"}).status_code == 302
    response = teacher.post(manage(klass, "class_rename"), {"rename-name": ""})
    assert response.status_code == 400 and "Give the class a name." in response.content.decode()
    teacher.post(manage(klass, "class_archive"), {"archived": "on"})
    klass.refresh_from_db()
    assert klass.name == "Autumn" and klass.archived_at is not None
    assert klass.students.count() == 2  # archiving keeps everyone
    html = teacher.get(reverse("learning:teach")).content.decode()
    assert "Archived classes" in html
    teacher.post(manage(klass, "class_archive"))
    klass.refresh_from_db()
    assert klass.archived_at is None


def test_rotating_the_code_stops_the_old_one(teacher, klass, client):
    old = klass.invite_code
    response = teacher.post(manage(klass, "class_rotate_code"))
    klass.refresh_from_db()
    assert klass.invite_code != old and len(klass.invite_code) == 14
    assert klass.invite_code in teacher.get(response.url).content.decode()
    assert normalise_invite_code(old) != klass.invite_code


def test_removing_a_student_keeps_their_progress(teacher, klass, student, module):
    objective = module.objectives.filter(archived_at__isnull=True).first()
    ObjectiveProgress.objects.create(student=student, objective=objective, confidence=4)
    response = teacher.post(manage(klass, "class_student_remove", user_id=student.pk))
    assert response.status_code == 302
    assert not klass.students.filter(pk=student.pk).exists()
    assert ObjectiveProgress.objects.filter(student=student).count() == 1
    # Gone from the class: no longer on its pages, and can't be removed twice.
    assert (
        teacher.get(reverse("learning:dashboard_student", args=[klass.pk, student.pk])).status_code
        == 404
    )
    assert (
        teacher.post(manage(klass, "class_student_remove", user_id=student.pk)).status_code == 404
    )


def test_a_co_instructor_is_invited_and_accepts(client, teacher, klass, make_user):
    olga = make_user("olga", role="instructor")
    response = teacher.post(manage(klass, "class_invite"), {"invite-username": "OLGA"})
    assert response.status_code == 302
    invite = CoInstructorInvite.objects.get(klass=klass)
    assert not klass.instructors.filter(pk=olga.pk).exists()  # not until she accepts

    client.force_login(olga)
    assert client.get(reverse("learning:dashboard", args=[klass.pk])).status_code == 404
    html = client.get(reverse("learning:teach")).content.decode()
    assert "Invitations to co-teach" in html and klass.name in html
    client.post(reverse("learning:invite_accept", args=[invite.pk]))
    assert klass.instructors.filter(pk=olga.pk).exists()
    assert client.get(reverse("learning:dashboard", args=[klass.pk])).status_code == 200


def test_only_instructor_accounts_can_be_invited(teacher, klass, student, instructor):
    for name, message in [
        ("alice", "No instructor has the user name alice"),
        ("nobody", "No instructor has the user name nobody"),
        ("ines", "ines already teaches this class"),
    ]:
        response = teacher.post(manage(klass, "class_invite"), {"invite-username": name})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not CoInstructorInvite.objects.exists()


def test_an_invitation_can_be_declined_or_withdrawn(client, teacher, klass, make_user):
    olga = make_user("olga", role="instructor")
    teacher.post(manage(klass, "class_invite"), {"invite-username": "olga"})
    invite = CoInstructorInvite.objects.get()
    teacher.post(manage(klass, "class_invite_withdraw", invite_id=invite.pk))
    assert not CoInstructorInvite.objects.exists()
    teacher.post(manage(klass, "class_invite"), {"invite-username": "olga"})
    client.force_login(olga)
    client.post(reverse("learning:invite_decline", args=[CoInstructorInvite.objects.get().pk]))
    assert not CoInstructorInvite.objects.exists()
    assert not klass.instructors.filter(pk=olga.pk).exists()


def test_the_class_sees_the_modules_picked(teacher, client, klass, student, module):

    other = Module.objects.create(slug="other", source_path="other.md", title="Other module")
    teacher.post(manage(klass, "class_modules"), {"modules-modules": [other.pk]})
    assert list(klass.modules.all()) == [other]
    client.force_login(student)
    html = client.get(reverse("learning:my_modules")).content.decode()
    assert "Other module" in html and module.title not in html
    teacher.force_login(klass.instructors.get())
    teacher.post(manage(klass, "class_modules"), {})  # none picked: every module
    assert not klass.modules.exists()


def test_an_unknown_module_is_refused(teacher, klass):
    response = teacher.post(manage(klass, "class_modules"), {"modules-modules": ["99999"]})
    assert response.status_code == 400
    assert "not available" in response.content.decode()


def test_the_display_name_shows_on_the_dashboard_the_class_page_and_in_exports(
    teacher, klass, student, module
):
    student.first_name = "Alice <b>Liddell</b>"
    student.save()
    for url in (reverse("learning:dashboard", args=[klass.pk]), manage(klass)):
        html = teacher.get(url).content.decode()
        assert "Alice &lt;b&gt;Liddell&lt;/b&gt;" in html and "<b>Liddell" not in html
    body = b"".join(teacher.get(reverse("learning:export_csv", args=[klass.pk])).streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["name"] for r in rows if r["student"] == "alice"} == {"Alice <b>Liddell</b>"}
    body = b"".join(teacher.get(reverse("learning:export_json", args=[klass.pk])).streaming_content)
    assert "Alice <b>Liddell</b>" in body.decode()


def test_a_long_course_is_picked_by_chapter_on_the_dashboard(teacher, klass):
    from learning.models import Objective

    for n in range(10):
        module = Module.objects.create(
            slug=f"m{n}", source_path=f"part-{n % 2 + 1}/m{n}.md", title=f"Module {n}", sort=n
        )
        Objective.objects.create(module=module, order=1, text="Do it", key="do it")
    html = teacher.get(reverse("learning:dashboard", args=[klass.pk]) + "?module=m3").content
    html = html.decode()
    assert '<optgroup label="Part 1">' in html and '<optgroup label="Part 2">' in html
    assert '<option value="m3" selected>Module 3</option>' in html
    assert 'class="module-tabs"' not in html


def test_a_co_instructor_can_be_removed_or_leave_but_the_last_one_stays(
    teacher, client, klass, instructor, make_user
):
    olga = make_user("olga", role="instructor")
    klass.instructors.add(olga)
    remove = manage(klass, "class_instructor_remove", user_id=olga.pk)
    assert teacher.post(remove).status_code == 302
    assert list(klass.instructors.all()) == [instructor]

    # Alone now: leaving would orphan the class.
    response = teacher.post(manage(klass, "class_instructor_remove", user_id=instructor.pk))
    assert "A class keeps at least one instructor" in teacher.get(response.url).content.decode()
    assert list(klass.instructors.all()) == [instructor]

    klass.instructors.add(olga)
    client.force_login(olga)
    response = client.post(manage(klass, "class_instructor_remove", user_id=olga.pk))
    assert response.url == reverse("learning:teach")
    assert client.get(manage(klass)).status_code == 404
