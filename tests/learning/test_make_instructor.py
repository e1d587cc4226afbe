"""manage.py make_instructor: how an operator lets a teacher into /teach/."""

import pytest
from django.core.management import CommandError, call_command

from learning.services.accounts import is_instructor

pytestmark = pytest.mark.django_db


def test_it_makes_an_account_an_instructor_without_admin_rights(student, capsys):
    call_command("make_instructor", "alice")
    assert is_instructor(student)
    student.refresh_from_db()
    assert not student.is_staff and not student.get_all_permissions()
    assert "alice is an instructor" in capsys.readouterr().out


def test_an_unknown_account_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No account has the user name 'nobody'"):
        call_command("make_instructor", "nobody")
