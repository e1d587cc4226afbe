"""Signup: wrong invite codes are throttled per address, and without a valid code the
form says nothing about which user names exist."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.learning.test_views_accounts import signup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_rate(settings):
    settings.SIGNUP_INVITE_RATE = "5/h"


def test_wrong_invite_codes_are_throttled_per_address(client, klass):
    wrong = [
        signup(client, klass, username=f"guess{n}", invite_code=f"NOPE-NOPE-{n:04}").status_code
        for n in range(6)
    ]
    assert wrong == [400] * 5 + [429]
    # Even the right code waits: guessing must not go on by mixing in a known one.
    blocked = signup(client, klass, username="newbie")
    assert blocked.status_code == 429
    assert "Too many wrong invite codes" in blocked.text
    assert not get_user_model().objects.filter(username="newbie").exists()
    # Another address is not affected.
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
            "invite_code": klass.invite_code,
        },
        REMOTE_ADDR="198.51.100.9",
    )
    assert response.status_code == 302


def test_good_codes_and_other_mistakes_do_not_count(client, klass):
    for n in range(8):
        assert signup(client, klass, username=f"s{n}", password2="mismatch").status_code == 400
    assert signup(client, klass, username="newbie").status_code == 302


def test_without_a_valid_invite_code_signup_does_not_say_a_user_name_is_taken(
    client, klass, student
):
    response = signup(client, klass, username=student.username, invite_code="NOPE-NOPE-NOPE")
    assert response.status_code == 400
    assert "No class has this invite code" in response.text
    assert "already exists" not in response.text
    # With the class's code, the form must say so: the name can't be used twice.
    taken = signup(client, klass, username=student.username)
    assert "already exists" in taken.text
