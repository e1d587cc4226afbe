"""Settings for the students' broker: refuse anything that would hand students the
server's broker or its credentials, and leave the embedded default alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import student_brokers

ROOT = Path(__file__).resolve().parents[1]
SERVER = "amqp://server:s3rver@rabbitmq:5672/server"
STUDENTS = "amqp://server:s3rver@rabbitmq:5672/students"
WORKERS = "amqps://class.example.org:5671/students"
SECRET = "x" * 40
LOCAL = {"student_broker": "", "worker_broker": "", "auth_secret": ""}


def brokers(**overrides):
    values = {
        "server_broker": SERVER,
        "student_broker": STUDENTS,
        "worker_broker": WORKERS,
        "management": "",
        "auth_secret": SECRET,
    }
    return student_brokers(**{**values, **overrides})


def test_the_compose_settings_give_students_a_url_without_credentials():
    result = brokers()
    assert result.worker_broker == WORKERS
    assert result.student_broker == STUDENTS
    assert result.vhost == "students"
    # The management API defaults to the students' broker host and the server's user.
    assert result.management == "http://server:s3rver@rabbitmq:15672"


def test_the_embedded_default_is_the_filesystem_broker_for_everyone():
    result = brokers(server_broker="filesystem://", **LOCAL)
    assert (result.student_broker, result.worker_broker) == ("", "filesystem://")
    assert not result.management and not result.auth_secret


@pytest.mark.parametrize(
    ("overrides", "variable", "words"),
    [
        ({"worker_broker": ""}, "TORCHREADY_WORKER_BROKER_URL", "is not set"),
        (
            {"server_broker": "redis://server:pw@redis:6379/1", "worker_broker": ""},
            "TORCHREADY_WORKER_BROKER_URL",
            "is not set",
        ),
        (
            {"worker_broker": "amqps://server:s3rver@class.example.org:5671/students"},
            "TORCHREADY_WORKER_BROKER_URL",
            "the server's credentials",
        ),
        (
            {"worker_broker": "amqps://worker:pw@class.example.org:5671/students"},
            "TORCHREADY_WORKER_BROKER_URL",
            "a user name or password",
        ),
        (
            {"worker_broker": "rediss://class.example.org:6380/0"},
            "TORCHREADY_WORKER_BROKER_URL",
            "must use RabbitMQ",
        ),
        ({"student_broker": ""}, "STUDENT_BROKER_URL", "server's credentials"),
        (
            {"student_broker": "amqp://rabbitmq:5672/students"},
            "STUDENT_BROKER_URL",
            "server's credentials",
        ),
        (
            {"student_broker": "amqp://server:s3rver@rabbitmq:5672/other"},
            "STUDENT_BROKER_URL",
            "different vhosts",
        ),
        (
            {"server_broker": "amqp://server:s3rver@rabbitmq:5672/students"},
            "CELERY_BROKER_URL",
            "students' vhost",
        ),
        ({"auth_secret": ""}, "BROKER_AUTH_SECRET", "must be set"),
        ({"auth_secret": "short"}, "BROKER_AUTH_SECRET", "32 characters"),
    ],
)
def test_it_refuses_settings_that_would_expose_the_server(overrides, variable, words):
    with pytest.raises(ImproperlyConfigured) as raised:
        brokers(**overrides)
    assert str(raised.value).startswith(variable)
    assert words in str(raised.value)


def test_a_password_free_broker_on_this_machine_needs_no_worker_url():
    """Local development and perf runs: only this machine's workers can connect, and
    there is no credential to leak."""
    result = brokers(server_broker="redis://127.0.0.1:6379/8", **LOCAL)
    assert result.worker_broker == "redis://127.0.0.1:6379/8"


def _settings_in_a_process(tmp_path, **env) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "TORCHREADY_VAR_DIR": str(tmp_path),
        **env,
    }
    for name in ("DATABASE_URL", "TORCHREADY_WORKER_BROKER_URL", "STUDENT_BROKER_URL"):
        if name not in env:
            environment.pop(name, None)
    code = (
        "from django.conf import settings as s; "
        "print(s.CELERY_BROKER_URL, s.TORCHREADY_WORKER_BROKER_URL, s.BROKER_AUTH_SECRET == '')"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_server_refuses_to_start_with_no_student_broker(tmp_path):
    result = _settings_in_a_process(tmp_path, CELERY_BROKER_URL=SERVER)
    assert result.returncode != 0
    assert "ImproperlyConfigured: TORCHREADY_WORKER_BROKER_URL is not set" in result.stderr


def test_with_no_settings_at_all_everything_stays_on_the_filesystem(tmp_path):
    result = _settings_in_a_process(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["filesystem://", "filesystem://", "True"]
