"""Log-in throttling: a few failed attempts per user name and address, then 429."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def fresh_counters(settings, tmp_path):
    """A cache of this test's own, so counters never carry over between tests."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    settings.LOGIN_THROTTLE_ATTEMPTS = 3


def log_in(client, username, password, address="203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_it_answers_429_after_too_many_failed_log_ins(client, student):
    for _ in range(3):
        assert log_in(client, "alice", "wrong").status_code == 200
    response = log_in(client, "alice", "wrong")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed log-ins" in response.content.decode()


def test_the_right_password_is_refused_too_while_throttled(client, student):
    for _ in range(3):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_throttles_per_address_so_the_student_can_still_log_in_elsewhere(client, student):
    for _ in range(4):
        log_in(client, "alice", "wrong", address="203.0.113.7")
    response = log_in(client, "alice", PASSWORD, address="198.51.100.1")
    assert response.status_code == 302


def test_a_successful_log_in_clears_the_count(client, student):
    for _ in range(2):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_spraying_many_user_names_from_one_address_is_throttled(client, student):
    for n in range(30):
        log_in(client, f"nobody{n}", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 429


def test_the_admin_log_in_shares_the_throttle(client, instructor):
    for _ in range(3):
        client.post(
            "/admin/login/", {"username": "ines", "password": "wrong"}, REMOTE_ADDR="203.0.113.7"
        )
    response = client.post(
        "/admin/login/", {"username": "ines", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 200  # the admin's form shows its error, and no session
    assert "_auth_user_id" not in client.session


def test_behind_the_proxy_it_counts_the_address_the_proxy_appended(client, settings, student):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(4):
        client.post(
            reverse("login"),
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7",  # the first part is spoofable
        )
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert response.status_code == 302
