"""Production settings: `check --deploy` is clean, and pages carry the security headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[1]


def production_env(tmp_path: Path) -> dict[str, str]:
    """The environment of .env.example, with its placeholders filled in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    env.update(
        SECRET_KEY="x" * 20 + "-a-long-random-production-key-with-enough-entropy-0123456789",
        DATABASE_URL="postgres://torchready:secret@db:5432/torchready",
        # What docker-compose.yml adds for the app services.
        CELERY_BROKER_URL="amqp://server:secret@rabbitmq:5672/server",
        STUDENT_BROKER_URL="amqp://server:secret@rabbitmq:5672/students",
        CACHE_URL="redis://server:secret@redis:6379/0",
        BROKER_AUTH_SECRET="b" * 64,
        INTERNAL_HOSTS="web",
        TORCHREADY_VAR_DIR=str(tmp_path),
    )
    return env


@pytest.mark.slow
def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_check_deploy_catches_a_production_setting_left_out(tmp_path):
    env = production_env(tmp_path)
    env["SECURE_HSTS_SECONDS"] = "0"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_pages_send_a_content_security_policy_without_inline_or_eval(client, student):
    client.force_login(student)
    response = client.get(reverse("learning:my_modules"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_session_and_csrf_cookies_are_http_only_and_same_site(client, student):
    from tests.conftest import PASSWORD

    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    csrf = client.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"


def test_behind_the_proxy_https_requests_get_hsts_and_http_is_redirected(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
