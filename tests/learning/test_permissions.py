"""Who may see and change what: anonymous users, other students, instructors."""

import pytest
from django.urls import reverse
from django.utils import timezone

from learning.models import Klass, ObjectiveProgress, ResourceProgress
from learning.services.accounts import ensure_roles

pytestmark = pytest.mark.django_db


def objectives(module):
    return module.objectives.filter(archived_at__isnull=True).order_by("order")


def save_url(module, objective):
    return reverse("learning:objective_save", args=[module.slug, objective.pk])


def page_urls(module):
    return [reverse("learning:my_modules"), reverse("learning:module", args=[module.slug])]


def write_urls(module):
    objective, resource = objectives(module)[0], module.resources.first()
    return [
        save_url(module, objective),
        reverse("learning:objective_clear", args=[module.slug, objective.pk]),
        reverse("learning:resource_done", args=[module.slug, resource.pk]),
    ]


def test_anonymous_users_are_redirected_to_log_in(client, module):
    for url in page_urls(module):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={url}"
    for url in write_urls(module):
        assert client.post(url, {"confidence": "4", "done": "on"}).status_code == 302
    assert not ObjectiveProgress.objects.exists()
    assert not ResourceProgress.objects.exists()


def test_pages_refuse_posts_and_writes_refuse_gets(student_client, module):
    for url in page_urls(module):
        assert student_client.post(url).status_code == 405
    for url in write_urls(module):
        assert student_client.get(url).status_code == 405


def test_a_student_writes_only_their_own_progress(client, student, other_student, module):
    objective = objectives(module)[0]
    client.force_login(student)
    client.post(save_url(module, objective), {"confidence": "2", "reflection": "alice's secret"})
    client.force_login(other_student)
    client.post(save_url(module, objective), {"confidence": "5", "reflection": "bob's secret"})

    alice = ObjectiveProgress.objects.get(student=student)
    bob = ObjectiveProgress.objects.get(student=other_student)
    assert (alice.confidence, alice.reflection) == (2, "alice's secret")
    assert (bob.confidence, bob.reflection) == (5, "bob's secret")


def test_a_student_never_sees_another_students_progress(client, student, other_student, module):
    first, second, _ = objectives(module)
    resource = module.resources.first()
    client.force_login(other_student)
    client.post(save_url(module, first), {"confidence": "5", "reflection": "bob's secret"})
    client.post(reverse("learning:resource_done", args=[module.slug, resource.pk]), {"done": "on"})

    client.force_login(student)
    html = client.get(reverse("learning:module", args=[module.slug])).content.decode()
    assert "bob's secret" not in html and "bob&#x27;s secret" not in html
    assert "Not started" in html and "Self-assessed" not in html
    assert "is-done" not in html
    assert "0 of 3" in html


def test_unticking_as_one_student_leaves_the_other_alone(client, student, other_student, module):
    objective = objectives(module)[0]
    ObjectiveProgress.objects.create(
        student=other_student, objective=objective, confidence=3, self_assessed_at=timezone.now()
    )
    client.force_login(student)
    client.post(reverse("learning:objective_clear", args=[module.slug, objective.pk]))
    assert ObjectiveProgress.objects.filter(student=other_student).exists()


def test_archived_or_foreign_ids_are_404_and_write_nothing(student_client, module):
    archived = module.objectives.get(archived_at__isnull=False)
    archived_resource = module.resources.get(archived_at__isnull=False)
    assert student_client.post(save_url(module, archived), {"confidence": "4"}).status_code == 404
    url = reverse("learning:resource_done", args=[module.slug, archived_resource.pk])
    assert student_client.post(url, {"done": "on"}).status_code == 404

    other = module.__class__.objects.create(slug="other", source_path="o.md", title="Other")
    objective = objectives(module)[0]
    response = student_client.post(save_url(other, objective), {"confidence": "4"})
    assert response.status_code == 404
    assert student_client.get(reverse("learning:module", args=["missing"])).status_code == 404
    assert not ObjectiveProgress.objects.exists()
    assert not ResourceProgress.objects.exists()


def test_an_archived_module_is_404(student_client, module):
    module.archived_at = timezone.now()
    module.save()
    url = reverse("learning:module", args=[module.slug])
    assert student_client.get(url).status_code == 404


def test_writes_need_a_csrf_token(student, module):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    response = client.post(save_url(module, objectives(module)[0]), {"confidence": "4"})
    assert response.status_code == 403
    assert not ObjectiveProgress.objects.exists()


# The admin ---------------------------------------------------------------------


@pytest.fixture
def other_class(make_user, other_student):
    someone = make_user("olga", role="instructor")
    klass = Klass.objects.create(name="Someone else's class")
    klass.instructors.add(someone)
    klass.students.add(other_student)
    return klass


def test_the_admin_is_for_superusers_only(client, instructor, klass):
    for name in ("admin:index", "admin:learning_klass_changelist"):
        response = client.get(reverse(name))
        assert response.status_code == 302  # signed out: the log-in
        assert response.url.startswith(reverse("admin:login"))
    client.force_login(instructor)
    for name in ("admin:index", "admin:learning_klass_changelist"):
        response = client.get(reverse(name))
        assert response.status_code == 403
        page = response.content.decode()
        assert "The admin is for operators. Instructors: see Teach." in page
        assert 'href="/teach/"' in page  # the page keeps the site's navigation


def test_superusers_see_every_class(admin_client, klass, other_class):
    html = admin_client.get(reverse("admin:learning_klass_changelist")).content.decode()
    assert klass.name in html and "Someone else" in html


def test_instructors_hold_no_model_permissions(instructor):
    ensure_roles()
    assert not instructor.is_staff
    assert not instructor.get_all_permissions()
    assert not instructor.has_perm("learning.add_klass")
    assert not instructor.has_perm("learning.change_module")
    assert not instructor.has_perm("auth.change_user")


def test_the_migration_takes_existing_instructors_out_of_the_admin(make_user, django_user_model):
    import importlib
    from pathlib import Path

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    import learning.migrations

    # By its name, not its number: the number follows whatever main has by then.
    folder = Path(learning.migrations.__file__).parent
    name = next(folder.glob("*_issue12_workspace.py")).stem
    migration = importlib.import_module(f"learning.migrations.{name}")
    old = make_user("old-style", role="instructor")
    old.is_staff = True
    old.save()
    root = django_user_model.objects.create_superuser("root", password="x")
    group = Group.objects.get(name="Instructors")
    group.user_set.add(root)
    group.permissions.set(Permission.objects.filter(content_type__app_label="learning"))

    migration.instructors_leave_the_admin(apps, None)
    old.refresh_from_db()
    root.refresh_from_db()
    assert not group.permissions.exists()
    assert not old.is_staff and root.is_staff
