"""prepare_deployment: what the compose migrate service runs before every start."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from learning.models import Module
from learning.services.accounts import INSTRUCTORS, STUDENTS

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "content" / "modules" / "virtual-environments-pytorch.md"

pytestmark = pytest.mark.django_db


def prepare(**kwargs) -> str:
    out = StringIO()
    call_command("prepare_deployment", stdout=out, **kwargs)
    return out.getvalue()


@pytest.fixture
def course(tmp_path, settings):
    shutil.copy(SEED, tmp_path / SEED.name)
    settings.COURSE_DIR = tmp_path
    return tmp_path


def test_the_first_start_imports_the_course_folder(course):
    output = prepare()
    assert "First start: the course from" in output
    assert Module.objects.filter(source_path=SEED.name).exists()


def test_a_later_start_imports_nothing_and_keeps_admin_edits(course):
    prepare()
    Module.objects.update(title="Renamed in the admin")
    (course / "second.md").write_text((course / SEED.name).read_text())
    output = prepare()
    assert "already imported: 1 module(s)" in output
    assert list(Module.objects.values_list("title", flat=True)) == ["Renamed in the admin"]


def test_a_missing_course_folder_is_a_clear_error(settings, tmp_path):
    settings.COURSE_DIR = tmp_path / "nowhere"
    with pytest.raises(CommandError, match="COURSE_DIR: .*nowhere: no such folder"):
        prepare()


def test_migrate_creates_the_instructor_and_student_groups():
    # The operator can pick the group in the admin before anyone signs up.
    assert set(Group.objects.values_list("name", flat=True)) >= {INSTRUCTORS, STUDENTS}
