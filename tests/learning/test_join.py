"""Joining a class only with its invite code: at signup, or with the join form."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from learning.models import Klass

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "tensor-cores-and-coffee"


@pytest.fixture(autouse=True)
def few_attempts(settings):
    settings.INVITE_THROTTLE_ATTEMPTS = 3


def signup(client, code, address="203.0.113.7", **overrides):
    data = {
        "username": "carol",
        "display_name": "Carol Shaw",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "invite_code": code,
        **overrides,
    }
    return client.post(reverse("signup"), data, REMOTE_ADDR=address)


def join(client, code, address="203.0.113.7"):
    return client.post(reverse("learning:join"), {"invite_code": code}, REMOTE_ADDR=address)


def test_signup_asks_for_a_display_name_and_keeps_it(client, klass):
    response = signup(client, klass.invite_code, display_name="")
    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="carol").exists()
    assert signup(client, klass.invite_code).status_code == 302
    carol = get_user_model().objects.get(username="carol")
    assert carol.get_full_name() == "Carol Shaw"
    assert list(carol.classes.all()) == [klass]


@pytest.mark.parametrize("typed", ["lower", "nodashes", "spaces"])
def test_codes_in_lower_case_or_without_dashes_are_accepted(client, student, make_user, typed):
    klass = Klass.objects.create(name="Second class")
    code = {
        "lower": klass.invite_code.lower(),
        "nodashes": klass.invite_code.replace("-", ""),
        "spaces": " " + klass.invite_code.lower().replace("-", " ") + " ",
    }[typed]
    client.force_login(student)
    response = join(client, code)
    assert response.status_code == 302 and response.url == reverse("learning:my_modules")
    assert klass.students.filter(pk=student.pk).exists()


def test_joining_a_class_twice_is_harmless(client, klass, student):
    client.force_login(student)
    assert join(client, klass.invite_code).status_code == 302
    assert klass.students.filter(pk=student.pk).count() == 1


def test_a_wrong_code_is_refused_and_changes_nothing(client, klass, student):
    client.force_login(student)
    response = join(client, "WXYZ-WXYZ-WXYZ")
    assert response.status_code == 400
    assert "No class has this invite code" in response.content.decode()
    assert list(student.classes.all()) == [klass]


def test_an_archived_class_takes_no_one_new(client, klass, make_user):
    klass.archived_at = timezone.now()
    klass.save()
    dora = make_user("dora")
    client.force_login(dora)
    assert join(client, klass.invite_code).status_code == 400
    assert not klass.students.filter(pk=dora.pk).exists()


def test_wrong_codes_are_throttled_per_address_at_signup_and_join_alike(client, klass, student):
    for _ in range(2):
        assert signup(client, "AAAA-AAAA-AAAA").status_code == 400
    client.force_login(student)
    assert join(client, "BBBB-BBBB-BBBB").status_code == 400
    # The limit is reached: even the right code waits now, from this address.
    other = Klass.objects.create(name="Other")
    response = join(client, other.invite_code)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many wrong invite codes" in response.content.decode()
    assert not other.students.filter(pk=student.pk).exists()
    # Another address is not held back.
    assert join(client, other.invite_code, address="198.51.100.9").status_code == 302
    client.logout()
    assert signup(client, klass.invite_code).status_code == 429
    assert not get_user_model().objects.filter(username="carol").exists()


def test_the_join_link_can_carry_the_code(client, klass, student):
    client.force_login(student)
    html = client.get(reverse("learning:join") + f"?code={klass.invite_code}").content.decode()
    assert f'value="{klass.invite_code}"' in html
