"""Log in, log out, and sign up with a class's invite code."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "tensor-cores-and-coffee"


def signup(client, klass, **overrides):
    data = {
        "username": "carol",
        "display_name": "Carol Shaw",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "invite_code": klass.invite_code,
        **overrides,
    }
    return client.post(reverse("signup"), data)


def test_signing_up_with_a_good_code_joins_the_class_and_logs_in(client, klass):
    response = signup(client, klass)
    assert response.status_code == 302
    assert response.url == reverse("learning:my_modules")
    carol = get_user_model().objects.get(username="carol")
    assert list(carol.classes.all()) == [klass]
    assert carol.groups.filter(name="Students").exists()
    assert not carol.is_staff
    assert client.get(reverse("learning:my_modules")).status_code == 200


def test_the_invite_code_is_forgiving_about_case_and_spaces(client, klass):
    code = klass.invite_code.lower().replace("-", " ")
    assert signup(client, klass, invite_code=code).status_code == 302


def test_a_wrong_code_is_a_clear_error_and_keeps_the_other_fields(client, klass):
    response = signup(client, klass, invite_code="NOPE-NOPE-NOPE")
    html = response.content.decode()
    assert response.status_code == 400
    assert "No class has this invite code" in html
    assert 'value="carol"' in html
    assert 'value="NOPE-NOPE-NOPE"' in html
    assert not get_user_model().objects.filter(username="carol").exists()


def test_a_taken_username_or_weak_password_is_refused(client, klass, student):
    assert signup(client, klass, username=student.username).status_code == 400
    assert signup(client, klass, password1="123", password2="123").status_code == 400
    assert get_user_model().objects.count() == 3  # alice, bob and ines from the fixtures


def test_logging_in_lands_on_my_modules_and_logging_out_needs_a_post(client, student):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("learning:my_modules")
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.url == reverse("login")
    assert client.get(reverse("learning:my_modules")).status_code == 302


def test_a_wrong_password_shows_an_error(client, student):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_login_page_has_a_skip_link_landmarks_and_a_language(client):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and '<main id="main"' in html
    assert '<label for="id_username">' in html
