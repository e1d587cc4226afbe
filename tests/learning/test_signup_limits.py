"""Signup reveals no more about existing accounts than the form must: without a valid
invite code it does not say whether a user name is taken. (Wrong codes are throttled
per address: tests/learning/test_join.py.)"""

import pytest

from tests.learning.test_views_accounts import signup

pytestmark = pytest.mark.django_db


def test_without_a_valid_invite_code_signup_does_not_say_a_user_name_is_taken(
    client, klass, student
):
    response = signup(client, klass, username=student.username, invite_code="NOPE-NOPE-NOPE")
    assert response.status_code == 400
    assert "No class has this invite code" in response.text or "invite code" in response.text
    assert "already exists" not in response.text
    # With the class's code, the form must say so: the name can't be used twice.
    taken = signup(client, klass, username=student.username)
    assert taken.status_code == 400
    assert "already exists" in taken.text
