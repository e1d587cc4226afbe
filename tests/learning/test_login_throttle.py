"""Log-in throttling (django-axes): per user name and address, and a much higher
ceiling per address alone, so one address can't lock out a class."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
NAT = "203.0.113.7"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_THROTTLE_ADDRESS_ATTEMPTS = 20


def log_in(client, username, password, address=NAT, **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def test_it_answers_429_after_too_many_failed_log_ins(client, student):
    assert [log_in(client, "alice", "wrong").status_code for _ in range(2)] == [200, 200]
    response = log_in(client, "alice", "wrong")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 300
    assert "Too many failed log-ins. Try again in 5 minute(s)." in response.text
    assert 'value="alice"' in response.text


def test_the_right_password_is_refused_too_while_throttled(client, student):
    for _ in range(3):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_throttles_per_address_so_the_student_can_still_log_in_elsewhere(client, student):
    for _ in range(4):
        log_in(client, "alice", "wrong", address=NAT)
    assert log_in(client, "alice", PASSWORD, address="198.51.100.1").status_code == 302


def test_a_class_behind_one_nat_is_not_locked_out_by_a_few_mistypes(client, make_user, student):
    # 46 failures from one address locked everyone behind it out; now only the pairs wait.
    for n in range(15):
        make_user(f"s{n}")
        log_in(client, f"s{n}", "typo")
    for _ in range(3):
        log_in(client, "s0", "typo again")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    assert log_in(client, "s0", PASSWORD).status_code == 429  # that pair waits


def test_spraying_many_user_names_from_one_address_hits_the_address_ceiling(client, student):
    for n in range(20):
        log_in(client, f"nobody{n}", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 429
    assert log_in(client, "alice", PASSWORD, address="198.51.100.1").status_code == 302


def test_the_admin_log_in_shares_the_throttle(client, instructor):
    for _ in range(3):
        client.post("/admin/login/", {"username": "ines", "password": "wrong"}, REMOTE_ADDR=NAT)
    response = client.post(
        "/admin/login/", {"username": "ines", "password": PASSWORD}, REMOTE_ADDR=NAT
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_behind_the_proxy_it_counts_the_address_the_proxy_appended(client, settings, student):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(4):
        log_in(
            client,
            "alice",
            "wrong",
            address="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {NAT}",  # the first part is spoofable
        )
    blocked = log_in(client, "alice", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR=NAT)
    assert blocked.status_code == 429
    other = log_in(
        client, "alice", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.8"
    )
    assert other.status_code == 302
