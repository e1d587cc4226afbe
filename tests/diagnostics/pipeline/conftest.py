"""Fixtures for the worker-pipeline tests: worker tokens for the two students, real
brokers (Redis, the filesystem, a private RabbitMQ node) and real workers.

The RabbitMQ node starts once per session. It asks the live server's
/internal/broker/ endpoints about workers' log-ins, as the compose deployment's
node asks the web service; its auth cache keeps answers for 2 s (production:
30 s) so that tests of a revoked token need not wait.
"""

import secrets
import uuid

import pytest

from diagnostics import services
from tests import rabbitmq


@pytest.fixture(autouse=True)
def own_rate_limit_counters(settings):
    """The real cache backend, with this test's own key prefix: rate-limit windows
    never carry over from another test or another run in the same minute."""
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture
def token(student) -> str:
    return services.token_create(student=student)[1]


@pytest.fixture
def other_token(other_student) -> str:
    return services.token_create(student=other_student)[1]


REDIS_URL = "redis://127.0.0.1:6379/5"


def _use_broker(settings, url: str, options: dict) -> None:
    """Point the server's enqueue and the workers' config at one real broker."""
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    settings.TORCHREADY_WORKER_BROKER_URL = url
    # A queue name no other test run shares, so stale messages never leak in.
    settings.DIAGNOSTICS_QUEUE_PREFIX = f"test-{uuid.uuid4().hex[:8]}."
    settings.DIAGNOSTICS_HEARTBEAT_INTERVAL = 1


@pytest.fixture
def redis_broker(settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis must run on 127.0.0.1:6379 for the pipeline tests (.ci/run starts it): {exc}"
        )
    _use_broker(settings, REDIS_URL, {"visibility_timeout": 3600})
    return REDIS_URL


@pytest.fixture
def filesystem_broker(settings, tmp_path):
    """The embedded default: Celery's filesystem broker in a folder of this machine."""
    folder = tmp_path / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True)
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }
    _use_broker(settings, "filesystem://", options)
    return folder


@pytest.fixture
def start_worker(live_server, tmp_path):
    """Start real workers with the CLI; every one is killed at the end of the test."""
    from tests.diagnostics.pipeline.processes import Worker

    workers: list[Worker] = []

    def start(token: str, *, server: str | None = None, spool=None, **kwargs) -> Worker:
        n = len(workers)
        worker = Worker(
            server or live_server.url,
            token,
            spool or tmp_path / "spool",
            tmp_path / f"worker-{n}.log",
            **kwargs,
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


AUTH_SECRET = secrets.token_hex(24)
CACHE_TTL_MS = 2000


@pytest.fixture(scope="session")
def rabbitmq_node(live_server):
    why_not = rabbitmq.available()
    if why_not:
        pytest.fail(f"the broker tests need a private RabbitMQ node: {why_not}")
    node = rabbitmq.PrivateNode(
        auth_url=f"{live_server.url}/internal/broker",
        auth_secret=AUTH_SECRET,
        cache_ttl_ms=CACHE_TTL_MS,
    )
    node.start()
    yield node
    node.remove()


@pytest.fixture
def rabbitmq_broker(settings, rabbitmq_node):
    """The server publishes to the students' vhost and hands workers the node's URL."""
    settings.BROKER_AUTH_SECRET = AUTH_SECRET
    settings.DIAGNOSTICS_STUDENT_BROKER_URL = rabbitmq_node.url("students")
    settings.TORCHREADY_WORKER_BROKER_URL = f"amqp://127.0.0.1:{rabbitmq_node.amqp_port}/students"
    settings.DIAGNOSTICS_BROKER_MANAGEMENT_URL = rabbitmq_node.management_url
    settings.DIAGNOSTICS_STUDENT_VHOST = "students"
    # Queue names no other test shares, so a message left by one never reaches another.
    settings.DIAGNOSTICS_QUEUE_PREFIX = f"test-{uuid.uuid4().hex[:8]}."
    settings.DIAGNOSTICS_HEARTBEAT_INTERVAL = 1
    return rabbitmq_node
