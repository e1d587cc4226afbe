"""Students' queues on a real RabbitMQ node (a private one, tests/rabbitmq.py).

Each test uses student A's real broker credential: the user name the server gives
A's worker (worker-<token id>) and A's worker token as the password, exactly what
A's worker logs in with. The README's threat model names these tests.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import urllib.error
from pathlib import Path

import amqp
import pytest
from amqp.exceptions import AccessRefused, NotAllowed
from celery import Celery
from django.utils import timezone
from kombu import Connection

from diagnostics import broker, selectors, services
from diagnostics.models import CheckRun, WorkerToken
from tests.diagnostics.pipeline.processes import ROOT, wait_for
from tests.diagnostics.pipeline.test_pipeline_worker import (
    RUN_S,
    click_run,
    wait_final,
    wait_online,
    worker_root,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.rabbitmq]


class Student:
    """A student with a worker token and the broker credential it gives."""

    def __init__(self, user, node):
        self.user = user
        self.node = node
        self.token_row, self.token = services.token_create(student=user)
        self.login = broker.worker_login(token_id=self.token_row.pk)
        self.queue = services.queue_name(student=user)

    def connect(self, vhost: str = "students", password: str | None = None) -> amqp.Connection:
        conn = amqp.Connection(
            f"127.0.0.1:{self.node.amqp_port}",
            userid=self.login,
            password=self.token if password is None else password,
            virtual_host=vhost,
            connect_timeout=5,
        )
        conn.connect()
        return conn

    def connections(self) -> list[dict]:
        return [c for c in self.node.management("/connections") if c["user"] == self.login]


@pytest.fixture
def alice(rabbitmq_broker, student):
    return Student(student, rabbitmq_broker)


@pytest.fixture
def bob(rabbitmq_broker, other_student):
    return Student(other_student, rabbitmq_broker)


def refused(conn: amqp.Connection, operation) -> bool:
    """Run one operation on a fresh channel: True if RabbitMQ refused it (403)."""
    channel = conn.channel()
    try:
        operation(channel)
        # A refused publish closes the channel asynchronously; the next call sees it.
        channel.basic_qos(0, 1, False)
    except AccessRefused:
        return True
    channel.close()
    return False


def server_publish(node, queue: str, body: bytes = b"{}") -> None:
    with Connection(node.url("students")) as conn:
        conn.default_channel.basic_publish(
            amqp.Message(body, delivery_mode=2), exchange="", routing_key=queue
        )


def queued(node, queue: str) -> int:
    """Messages ready in a queue, as RabbitMQ counts them now (the management API lags)."""
    with Connection(node.url("students")) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


def test_a_student_can_only_read_their_own_queue(alice, bob, rabbitmq_broker):
    server_publish(rabbitmq_broker, bob.queue)
    conn = alice.connect()
    try:
        theirs = bob.queue
        attempts = {
            "consume B's queue": lambda ch: ch.basic_consume(theirs, callback=lambda m: None),
            "get from B's queue": lambda ch: ch.basic_get(theirs),
            "purge B's queue": lambda ch: ch.queue_purge(theirs),
            "delete B's queue": lambda ch: ch.queue_delete(theirs),
            "publish to B's queue": lambda ch: ch.basic_publish(
                amqp.Message(b"{}"), exchange="", routing_key=theirs
            ),
            "declare B's queue": lambda ch: ch.queue_declare(theirs, durable=True),
            "bind B's queue": lambda ch: ch.queue_bind(theirs, "amq.direct", "x"),
            "declare a queue": lambda ch: ch.queue_declare("alice.private", auto_delete=True),
            "declare an exchange": lambda ch: ch.exchange_declare("alice.x", "fanout"),
            "publish to own queue": lambda ch: ch.basic_publish(
                amqp.Message(b"{}"), exchange="", routing_key=alice.queue
            ),
            "delete own queue": lambda ch: ch.queue_delete(alice.queue),
            "redeclare own queue": lambda ch: ch.queue_declare(alice.queue, durable=True),
            "get from the server's queue": lambda ch: ch.basic_get("celery"),
        }
        allowed = [name for name, operation in attempts.items() if not refused(conn, operation)]
        assert allowed == []
        # What it may do: read its own queue.
        server_publish(rabbitmq_broker, alice.queue, b'{"mine": 1}')
        channel = conn.channel()
        message = wait_for(lambda: channel.basic_get(alice.queue), 10, "A's own message")
        assert message.body == b'{"mine": 1}'
    finally:
        conn.close()
    # B's run is still there, untouched.
    assert queued(rabbitmq_broker, bob.queue) == 1


def test_a_student_cannot_open_the_servers_vhost_or_log_in_with_anything_else(alice, bob):
    with pytest.raises(NotAllowed):
        alice.connect(vhost="server")
    with pytest.raises(NotAllowed):
        alice.connect(vhost="/")
    # No management tag: the management API refuses A's credential.
    with pytest.raises(urllib.error.HTTPError) as refused_api:
        alice.node.management("/overview", user=alice.login, password=alice.token)
    assert refused_api.value.code == 401
    for password in ("", "garbage", bob.token, alice.token + "x"):
        with pytest.raises(AccessRefused):
            alice.connect(password=password)
    # B's token under A's name, and names that are no worker's, are refused too.
    for login in ("server", "guest", "worker-0", "worker-x", bob.login + "0"):
        with pytest.raises(AccessRefused):
            amqp.Connection(
                f"127.0.0.1:{alice.node.amqp_port}",
                userid=login,
                password=alice.token,
                virtual_host="students",
                connect_timeout=5,
            ).connect()


def test_a_broadcast_from_a_student_reaches_neither_the_server_nor_other_workers(
    alice, bob, rabbitmq_broker, client, start_worker, tmp_path
):
    """A's Celery `shutdown` broadcast: refused in the students' vhost, and A can't
    open the server's; the server's own Celery worker and B's worker carry on."""
    server_worker = _server_celery_worker(rabbitmq_broker, tmp_path)
    try:
        server_app = Celery(broker=rabbitmq_broker.url("server"))
        wait_for(lambda: server_app.control.ping(timeout=1), 60, "the server's worker")
        bobs_worker = start_worker(bob.token)
        wait_online(bob.user, bobs_worker)

        student_app = Celery(broker=alice.node.url("students", alice.login, alice.token))
        with pytest.raises(AccessRefused):
            student_app.control.broadcast("shutdown", connection=student_app.connection())
        student_app = Celery(broker=alice.node.url("server", alice.login, alice.token))
        with pytest.raises(NotAllowed):
            student_app.control.broadcast("shutdown", connection=student_app.connection())

        assert server_app.control.ping(timeout=2)
        assert server_worker.poll() is None
        run = wait_final(click_run(client, bob.user), bobs_worker)
        assert run.state == CheckRun.State.POSTED, bobs_worker.output()
    finally:
        server_worker.send_signal(signal.SIGTERM)
        server_worker.wait(timeout=30)


def _server_celery_worker(node, tmp_path: Path) -> subprocess.Popen:
    """The server's own Celery worker, on vhost "server", started as compose starts it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "CELERY_BROKER_URL": node.url("server"),
        "STUDENT_BROKER_URL": node.url("students"),
        "TORCHREADY_WORKER_BROKER_URL": f"amqp://127.0.0.1:{node.amqp_port}/students",
        "STUDENT_BROKER_MANAGEMENT_URL": node.management_url,
        "BROKER_AUTH_SECRET": node.auth_secret,
        "TORCHREADY_VAR_DIR": str(tmp_path / "server-var"),
    }
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "server-worker.log").open("ab"),
        stderr=subprocess.STDOUT,
    )


class _Touch:
    """Unpickling this creates a file: proof that a pickle body was executed."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_a_pickle_body_in_a_students_queue_is_never_executed(
    alice, rabbitmq_broker, client, start_worker, tmp_path
):
    marker = tmp_path / "pickle-was-executed"
    worker = start_worker(alice.token)
    wait_online(alice.user, worker)
    with Connection(rabbitmq_broker.url("students")) as conn:
        conn.default_channel.basic_publish(
            amqp.Message(
                pickle.dumps(_Touch(marker)),
                content_type="application/x-python-serialize",
                content_encoding="binary",
                delivery_mode=2,
                application_headers={
                    "task": "torchready.run_check",
                    "id": "00000000-0000-0000-0000-00000000beef",
                },
            ),
            exchange="",
            routing_key=alice.queue,
        )
    wait_for(lambda: "untrusted content" in worker.output(), 60, "the worker to refuse it")
    assert not marker.exists()
    # The worker lives on and the next real run goes through.
    run = wait_final(click_run(client, alice.user), worker)
    assert run.state == CheckRun.State.POSTED, worker.output()
    assert not marker.exists()


def test_revoking_a_token_on_the_gpu_page_closes_its_connection_and_refuses_it(
    alice, client, start_worker
):
    worker = start_worker(alice.token)
    wait_online(alice.user, worker)
    wait_for(alice.connections, 30, "the worker's connection in the management API")
    client.force_login(alice.user)
    assert client.post("/gpu/token", {"action": "revoke"}).status_code == 302
    # Closed at once through the management API; the test allows the promised 60 s.
    wait_for(lambda: not alice.connections(), 60, "the revoked worker's connection to close")
    # Once RabbitMQ's auth cache forgets the token (2 s here, 30 s in production),
    # every log-in with it is refused.
    wait_for(lambda: _login_refused(alice), 30, "the revoked token's log-in to be refused")
    # The worker hears it from the API as well, says what to do, and stops.
    assert wait_for(lambda: worker.proc.poll() is not None, 60, "the worker to stop") is True
    assert "Create a token on your GPU page" in worker.output()
    assert not alice.connections()


def _login_refused(student: Student) -> bool:
    try:
        student.connect().close()
    except AccessRefused:
        return True
    return False


def test_the_beat_sweep_closes_connections_no_active_token_owns(alice, bob):
    alices, bobs = alice.connect(), bob.connect()
    try:
        wait_for(lambda: alice.connections() and bob.connections(), 30, "both connections")
        # A first sweep closes what earlier tests' killed workers may have left
        # listed, and leaves A and B alone: both tokens are active.
        services.broker_disconnect_revoked()
        assert alice.connections() and bob.connections()
        # Revoked behind the service's back (say, by a database restore or the admin).
        WorkerToken.objects.filter(pk=alice.token_row.pk).update(revoked_at=timezone.now())
        assert services.broker_disconnect_revoked() == 1
        with pytest.raises(amqp.exceptions.ConnectionForced):
            alices.drain_events(timeout=10)  # the broker closed it
        with pytest.raises(TimeoutError):
            bobs.drain_events(timeout=1)  # still open, nothing to say
        wait_for(lambda: not alice.connections(), 30, "A's connection to leave the list")
        assert bob.connections()
        assert services.broker_disconnect_revoked() == 0
    finally:
        for conn in (alices, bobs):
            try:
                conn.close()
            except (OSError, amqp.exceptions.AMQPError):
                pass


def test_the_server_declares_durable_bounded_queues_and_publishes_persistent_runs(
    alice, rabbitmq_broker, client, settings
):
    queue = rabbitmq_broker.management(f"/queues/students/{alice.queue}")
    assert queue["durable"] is True and queue["auto_delete"] is False
    assert queue["arguments"] == {
        "x-max-length": settings.DIAGNOSTICS_QUEUE_MAX_LENGTH,
        "x-message-ttl": settings.DIAGNOSTICS_QUEUE_TIMEOUT * 1000,
        "x-overflow": "reject-publish",
        "x-queue-type": "classic",
    }
    run = click_run(client, alice.user)
    with Connection(rabbitmq_broker.url("students")) as conn:
        message = wait_for(
            lambda: conn.default_channel.basic_get(alice.queue), 10, "the queued run"
        )
        assert message.delivery_info["exchange"] == ""
        assert message.properties["delivery_mode"] == 2  # persistent
        assert message.properties["user_id"] == "server"  # RabbitMQ checked who published it
        assert message.headers["task"] == "torchready.run_check"
        assert f'"run_id": {run.pk}' in message.body
        conn.default_channel.basic_reject(message.delivery_tag, requeue=True)


def test_a_full_queue_refuses_the_run_and_the_page_says_so(alice, client, settings):
    settings.DIAGNOSTICS_QUEUE_PREFIX += "small."
    settings.DIAGNOSTICS_QUEUE_MAX_LENGTH = 2
    runs = [click_run(client, alice.user) for _ in range(3)]
    for run in runs:
        run.refresh_from_db()
    assert [r.state for r in runs] == ["queued", "queued", "failed"]
    assert runs[2].reason == CheckRun.Reason.QUEUE_FULL
    assert "too many runs are already waiting" in client.get("/gpu/").content.decode()


def test_a_queued_run_survives_a_rabbitmq_restart_and_is_delivered(
    alice, rabbitmq_broker, client, start_worker
):
    run = click_run(client, alice.user)
    wait_for(lambda: queued(rabbitmq_broker, alice.queue) == 1, 30, "the run in A's queue")
    rabbitmq_broker.restart()
    worker = start_worker(alice.token)
    run = wait_final(run, worker)
    assert run.state == CheckRun.State.POSTED, (run.reason, worker.output())


def _slow_check(tmp_path: Path) -> dict:
    """A check that runs long enough to kill its worker mid-run: a torch that sleeps."""
    fake = tmp_path / "slow" / "torch"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("import time\ntime.sleep(600)\n")
    return {"PYTHONPATH": f"{tmp_path / 'slow'}:{worker_root()}"}


def _kill_mid_run(run: CheckRun, worker, attempts: int) -> None:
    wait_for(
        lambda: CheckRun.objects.filter(pk=run.pk, state="running", attempts=attempts).exists(),
        RUN_S,
        f"claim number {attempts}",
    )
    worker.kill(signal.SIGKILL)


def test_a_worker_killed_mid_run_gets_its_run_redelivered_and_run_once_more(
    alice, client, start_worker, settings, tmp_path
):
    settings.DIAGNOSTICS_CHECK_TIMEOUT = 300
    first = start_worker(alice.token, env=_slow_check(tmp_path))
    wait_online(alice.user, first)
    run = click_run(client, alice.user)
    _kill_mid_run(run, first, attempts=1)
    # RabbitMQ gives the unacknowledged run back at once; the next worker re-runs it.
    second = start_worker(alice.token)
    run = wait_final(run, second)
    assert (run.state, run.attempts) == (CheckRun.State.POSTED, 2), second.output()


def test_a_run_that_kills_its_worker_twice_is_failed_with_the_reason(
    alice, client, start_worker, settings, tmp_path
):
    settings.DIAGNOSTICS_CHECK_TIMEOUT = 300
    slow = _slow_check(tmp_path)
    first = start_worker(alice.token, env=slow)
    wait_online(alice.user, first)
    run = click_run(client, alice.user)
    _kill_mid_run(run, first, attempts=1)
    second = start_worker(alice.token, env=slow)
    _kill_mid_run(run, second, attempts=2)
    third = start_worker(alice.token)
    run = wait_final(run, third)
    assert (run.state, run.reason, run.attempts) == (
        CheckRun.State.FAILED,
        CheckRun.Reason.WORKER_KILLED,
        2,
    ), third.output()
    assert "stopped twice" in run.detail
    # Not a third time: the third worker skipped it and takes the next click.
    wait_for(lambda: "not queued any more" in third.output(), 30, "the third worker to skip it")
    assert wait_final(click_run(client, alice.user), third).state == CheckRun.State.POSTED
    assert selectors.worker_online(token=selectors.token_current(student=alice.user))
