"""The home page: every module the student may open, with its progress bars."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from learning.models import Klass, Module, ObjectiveProgress

pytestmark = pytest.mark.django_db


def test_it_lists_each_module_with_accessible_progress_bars(student_client, student, module):
    objective = module.objectives.filter(archived_at__isnull=True).first()
    ObjectiveProgress.objects.create(
        student=student, objective=objective, confidence=4, self_assessed_at=timezone.now()
    )
    html = student_client.get(reverse("learning:my_modules")).content.decode()
    assert f'href="/modules/{module.slug}/"' in html
    assert f'<progress id="module-{module.slug}-objectives" max="3" value="1">' in html
    assert f'<label for="module-{module.slug}-objectives">Objectives' in html
    assert "1 of 3" in html and "0 of 4" in html


def test_it_leaves_out_archived_modules(student_client, module):
    module.archived_at = timezone.now()
    module.save()
    html = student_client.get(reverse("learning:my_modules")).content.decode()
    assert escape(module.title) not in html
    assert "no modules for you yet" in html


def test_a_class_that_picks_modules_shows_only_those(student_client, student, module):
    other = Module.objects.create(slug="other", source_path="other.md", title="Another module")
    klass = Klass.objects.create(name="Picky")
    klass.students.add(student)
    klass.modules.add(other)

    html = student_client.get(reverse("learning:my_modules")).content.decode()
    assert "Another module" in html
    assert escape(module.title) not in html
    assert student_client.get(reverse("learning:module", args=[module.slug])).status_code == 404


def test_a_class_without_picked_modules_shows_them_all(student_client, klass, module):
    Module.objects.create(slug="other", source_path="other.md", title="Another module")
    html = student_client.get(reverse("learning:my_modules")).content.decode()
    assert "Another module" in html and escape(module.title) in html
