"""demo_setup: demo accounts and a class, idempotent, passwords kept."""

import stat

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from learning.models import Klass

pytestmark = pytest.mark.django_db


def run(capsys) -> str:
    call_command("demo_setup")
    return capsys.readouterr().out


def test_it_creates_the_accounts_and_reprints_the_same_passwords(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    first = run(capsys)
    second = run(capsys)
    assert first == second

    klass = Klass.objects.get(name="Demo class")
    assert klass.invite_code in first
    passwords = dict(
        line.split() for line in (tmp_path / "demo-accounts.txt").read_text().splitlines()
    )
    assert stat.S_IMODE((tmp_path / "demo-accounts.txt").stat().st_mode) == 0o600
    request = RequestFactory().post("/accounts/login/")  # axes counts per request
    instructor = authenticate(request, username="instructor", password=passwords["instructor"])
    student = authenticate(request, username="student", password=passwords["student"])
    assert not instructor.is_staff and instructor.groups.filter(name="Instructors").exists()
    assert not student.is_staff and student.groups.filter(name="Students").exists()
    assert list(klass.instructors.all()) == [instructor]
    assert list(klass.students.all()) == [student]
    assert passwords["student"] in first
    assert Klass.objects.count() == 1
