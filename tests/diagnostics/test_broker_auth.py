"""/internal/broker/: what RabbitMQ's HTTP auth backend is told about a worker.

Only the broker, sending the shared secret, gets an answer; everyone else gets the
site's 404. A worker may log in with its own id and active token, open the
students' vhost, and read its own queue: nothing else, and anything the endpoints
don't understand is `deny`, never a 500.
"""

from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from diagnostics import broker, services

pytestmark = pytest.mark.django_db

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def broker_settings(settings):
    settings.BROKER_AUTH_SECRET = SECRET
    settings.DIAGNOSTICS_STUDENT_VHOST = "students"


def basic(password: str = SECRET, user: str = "broker") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def ask(client, kind: str, auth: str | None = None, **params):
    headers = {"HTTP_AUTHORIZATION": basic() if auth is None else auth}
    return client.post(f"/internal/broker/{kind}", params, **headers)


def answer(client, kind: str, **params) -> str:
    response = ask(client, kind, **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture
def worker(student):
    token, raw = services.token_create(student=student)
    return broker.worker_login(token_id=token.pk), raw, services.queue_name(student=student)


def test_a_worker_logs_in_with_its_own_id_and_active_token(client, worker):
    login, raw, _ = worker
    assert answer(client, "user", username=login, password=raw) == "allow"


@pytest.mark.parametrize(
    "case", ["wrong password", "empty password", "another worker's token", "revoked", "inactive"]
)
def test_any_other_log_in_is_denied(client, worker, other_student, student, case):
    login, raw, _ = worker
    password = {
        "wrong password": raw + "x",
        "empty password": "",
        "another worker's token": services.token_create(student=other_student)[1],
    }.get(case, raw)
    if case == "revoked":
        services.token_revoke_all(student=student)
    if case == "inactive":
        student.is_active = False
        student.save()
    assert answer(client, "user", username=login, password=password) == "deny"


@pytest.mark.parametrize("login", ["", "server", "guest", "worker-", "worker-0", "worker-1x"])
def test_names_that_are_no_worker_are_denied(client, worker, login):
    assert answer(client, "user", username=login, password=worker[1]) == "deny"


def test_a_worker_opens_only_the_students_vhost(client, worker):
    login = worker[0]
    assert answer(client, "vhost", username=login, vhost="students", ip="10.0.0.1") == "allow"
    for vhost in ("server", "/", "", "students2"):
        assert answer(client, "vhost", username=login, vhost=vhost) == "deny", vhost
    assert answer(client, "vhost", username="worker-999999", vhost="students") == "deny"


def test_a_worker_may_only_read_its_own_queue(client, worker, other_student):
    login, _, queue = worker
    own = {"username": login, "vhost": "students", "resource": "queue", "name": queue}
    assert answer(client, "resource", **own, permission="read") == "allow"
    for permission in ("configure", "write", ""):
        assert answer(client, "resource", **own, permission=permission) == "deny"
    others = [
        {"name": services.queue_name(student=other_student)},
        {"name": "celery"},
        {"resource": "exchange", "name": "amq.default"},
        {"resource": "exchange", "name": "celery.pidbox"},
        {"resource": "topic", "name": "amq.topic"},
        {"vhost": "server"},
    ]
    for other in others:
        assert answer(client, "resource", **{**own, **other}, permission="read") == "deny", other


def test_topic_questions_and_unknown_ones_are_denied(client, worker):
    login, _, queue = worker
    params = {"username": login, "vhost": "students", "resource": "topic", "name": queue}
    assert answer(client, "topic", **params, permission="read", routing_key="#") == "deny"
    assert answer(client, "anything", username=login) == "deny"


def test_a_revoked_or_rotated_token_loses_its_queue_too(client, worker, student):
    login, _, queue = worker
    params = {"username": login, "vhost": "students", "resource": "queue", "name": queue}
    services.token_create(student=student)  # rotate: the old worker id is revoked
    assert answer(client, "resource", **params, permission="read") == "deny"
    assert answer(client, "vhost", username=login, vhost="students") == "deny"


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "Bearer " + SECRET,
        basic("wrong"),
        basic(SECRET + "x"),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_without_the_secret_the_path_does_not_exist(client, worker, auth):
    response = ask(client, "user", auth=auth, username=worker[0], password=worker[1])
    assert response.status_code == 404


def test_through_the_public_proxy_it_is_a_404_even_with_the_secret(client, worker):
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED"):
        response = client.post(
            "/internal/broker/user",
            {"username": worker[0], "password": worker[1]},
            HTTP_AUTHORIZATION=basic(),
            **{header: "203.0.113.9"},
        )
        assert response.status_code == 404, header


def test_with_no_secret_configured_the_endpoints_are_off(client, worker, settings):
    settings.BROKER_AUTH_SECRET = ""
    response = ask(client, "user", auth=basic(""), username=worker[0], password=worker[1])
    assert response.status_code == 404


def test_the_broker_is_answered_over_plain_http_behind_an_https_redirect(client, worker, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert answer(client, "user", username=worker[0], password=worker[1]) == "allow"
    assert client.get("/accounts/login/").status_code == 301  # the public site still redirects


def test_questions_it_cannot_read_are_denied_not_errors(client, worker, settings):
    login, raw, _ = worker
    auth = {"HTTP_AUTHORIZATION": basic()}
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    bodies = [
        ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(50))),
        ("application/x-www-form-urlencoded", f"username={login}&password={raw}%00"),
        ("application/x-www-form-urlencoded", "username=worker-1%00&password=x"),
        ("application/x-www-form-urlencoded", "%ff%fe=%ff"),
        ("application/json", '{"username": "x"}'),
        ("multipart/form-data; boundary=zz", "--zz\r\nbroken"),
        ("text/plain", "\x00\x01"),
    ]
    for content_type, body in bodies:
        response = client.generic("POST", "/internal/broker/user", body, content_type, **auth)
        assert (response.status_code, response.content) == (200, b"deny"), body
    for method in ("GET", "PUT", "DELETE"):
        response = client.generic(method, "/internal/broker/user", "", **auth)
        assert (response.status_code, response.content) == (200, b"deny"), method
    # RabbitMQ's default method, GET, is understood too.
    response = client.get("/internal/broker/user", {"username": login, "password": raw}, **auth)
    assert response.content == b"allow"


def test_a_revoked_token_is_denied_even_while_its_token_row_is_cached_nowhere(client, worker):
    """The endpoints read the database on every question: no cache on this side."""
    login, raw, _ = worker
    assert answer(client, "user", username=login, password=raw) == "allow"
    from diagnostics.models import WorkerToken

    WorkerToken.objects.update(revoked_at=timezone.now())
    assert answer(client, "user", username=login, password=raw) == "deny"
