"""The compose deployment, run natively (the container stage of .ci/run runs it in
Docker): this test takes each service's command from docker-compose.yml and runs
that very command here, against the local PostgreSQL, a private Redis and a
private RabbitMQ node started with the compose services' own scripts (users,
vhosts, plugins, TLS and passwords as in production).

Then it smoke-tests the running services as a class would: an instructor and a
student log in, the student's worker (started with the page's command) runs a
check, logged in to RabbitMQ over TLS with its own worker token, and the
instructor reads the dashboard.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import rabbitmq
from tests.diagnostics.pipeline.processes import Worker, free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BIN = Path(sys.executable).parent
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PASSWORD = "a-long-smoke-password-1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs in the PostgreSQL pass of .ci/run (set DATABASE_URL to a PostgreSQL URL)",
    ),
]


def test_the_compose_file_has_every_service_with_health_checks_and_volumes():
    assert set(SERVICES) == {"db", "redis", "rabbitmq", "migrate", "web", "worker", "beat"}
    for name in ("db", "redis", "rabbitmq", "web", "worker"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata", "rabbitmqdata", "appdata"}
    for name in ("migrate", "web", "worker", "beat"):
        # The image's non-root user writes only to its volume and /tmp.
        assert SERVICES[name]["read_only"] is True, name
        assert SERVICES[name]["volumes"] == ["appdata:/app/var"], name
        assert SERVICES[name]["tmpfs"] == ["/tmp"], name
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "prepare_deployment"]
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert SERVICES[name]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    # The server's own Celery and the students' queues: one RabbitMQ, two vhosts.
    env = SERVICES["web"]["environment"]
    assert env["CELERY_BROKER_URL"].startswith("amqp://server:")
    assert env["CELERY_BROKER_URL"].endswith("@rabbitmq:5672/server")
    assert env["STUDENT_BROKER_URL"].endswith("@rabbitmq:5672/students")
    assert env["CACHE_URL"].startswith("redis://server:")
    # Students get a TLS URL with no credential in it: each worker logs in with its token.
    example = _env_file(ROOT / ".env.example")
    worker_url = example["TORCHREADY_WORKER_BROKER_URL"]
    assert worker_url.startswith("amqps://") and "@" not in worker_url
    assert worker_url.endswith(":5671/students")


def test_only_the_web_to_its_proxy_and_rabbitmq_tls_are_published():
    published = {name: service.get("ports", []) for name, service in SERVICES.items()}
    assert published["web"] == ["127.0.0.1:${WEB_PORT:-8000}:8000"]
    assert published["rabbitmq"] == ["${AMQPS_PUBLIC_PORT:-5671}:5671"]
    assert not any(ports for name, ports in published.items() if name not in ("web", "rabbitmq"))
    rabbit_env = SERVICES["rabbitmq"]["environment"]
    assert rabbit_env["TLS_CERT_FILE"].startswith("${TLS_CERT_FILE:-/tls/")
    assert "${TLS_DIR:-./deploy/tls}:/tls:ro" in SERVICES["rabbitmq"]["volumes"]


def test_the_rabbitmq_script_refuses_an_auth_cache_longer_than_30_s(tmp_path):
    env = {
        **os.environ,
        "RABBITMQ_SERVER_PASSWORD": "x",
        "BROKER_AUTH_SECRET": "y",
        "BROKER_AUTH_CACHE_TTL_MS": "30001",
        "TORCHREADY_RABBITMQ_DIR": str(tmp_path),
    }
    result = subprocess.run(
        ["bash", "deploy/rabbitmq.sh"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "at most 30000" in result.stderr


def test_docker_validates_the_compose_file_where_it_can():
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("no docker compose client here; the commands are checked natively below")
    result = subprocess.run(
        [docker, "compose", "--env-file", ".env.example", "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


class Services:
    """Runs compose service commands natively and remembers exactly what it ran."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.ran: dict[str, list[str]] = {}

    def argv(self, command: list[str]) -> list[str]:
        # The image's PATH has python, gunicorn and celery; here they are the venv's.
        exe = BIN / command[0]
        return [str(exe) if exe.exists() else command[0], *command[1:]]

    def start(self, name: str, env: dict, command: list[str] | None = None) -> subprocess.Popen:
        argv = self.argv(command or SERVICES[name]["command"])
        self.ran[name] = argv
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def run(self, name: str, env: dict, timeout: float = 120) -> None:
        proc = self.start(name, env)
        assert proc.wait(timeout=timeout) == 0, self.log(name)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}, enough for our file."""
    import re

    def one(match: re.Match) -> str:
        name, _, rest = match.group(1).partition(":")
        if rest.startswith("-"):
            return variables.get(name) or rest[1:]
        return variables[name]

    return re.sub(r"\$\{([^}]+)\}", one, value)


@pytest.fixture
def smoke_db():
    import psycopg

    name = f"torchready_smoke_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def services(tmp_path):
    running = Services(tmp_path)
    yield running
    running.stop()


def test_the_compose_services_run_natively_and_a_class_works(services, smoke_db, tmp_path, request):
    why_not = rabbitmq.available()
    if why_not:
        pytest.fail(f"the compose smoke test runs a private RabbitMQ node: {why_not}")
    secrets_ = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "REDIS_SERVER_PASSWORD": secrets.token_hex(16),
        "RABBITMQ_SERVER_PASSWORD": secrets.token_hex(16),
        "BROKER_AUTH_SECRET": secrets.token_hex(32),
    }
    redis_port, web_port = free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    base.pop("DATABASE_URL", None)

    # Redis: the compose service's script, on a free port, keeping nothing on disk.
    redis_env = {
        **base,
        **{k: _interpolate(v, secrets_) for k, v in SERVICES["redis"]["environment"].items()},
        "REDIS_PORT": str(redis_port),
        "REDIS_DIR": str(tmp_path),
        "REDIS_APPENDONLY": "no",
        "REDIS_ACL_FILE": str(tmp_path / "users.acl"),
    }
    services.start("redis", redis_env)
    import redis

    server_redis = redis.Redis(
        port=redis_port, username="server", password=secrets_["REDIS_SERVER_PASSWORD"]
    )
    wait_for(lambda: _pings(server_redis), 20, "redis to start")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=redis_port).ping()  # no default user

    # RabbitMQ: the compose service's script, with the compose environment, TLS
    # with a certificate for this host, and the node's own name, ports and data.
    node = rabbitmq.PrivateNode(
        auth_url=f"http://127.0.0.1:{web_port}/internal/broker",
        auth_secret=secrets_["BROKER_AUTH_SECRET"],
        tls=_certificate(tmp_path / "tls"),
    )
    request.addfinalizer(node.remove)
    node.server_password = secrets_["RABBITMQ_SERVER_PASSWORD"]
    tls_files = {
        "TLS_CERT_FILE": node.env()["TLS_CERT_FILE"],
        "TLS_KEY_FILE": node.env()["TLS_KEY_FILE"],
    }
    rabbit_env = {
        **node.env(),
        **{
            k: _interpolate(v, {**secrets_, **tls_files})
            for k, v in SERVICES["rabbitmq"]["environment"].items()
        },
    }
    assert rabbit_env["BROKER_AUTH_URL"] == "http://web:8000/internal/broker"
    rabbit_env["BROKER_AUTH_URL"] = node.auth_url
    node.proc = services.start("rabbitmq", rabbit_env)
    node.wait_ready()
    conf = (node.dir / "conf" / "rabbitmq.conf").read_text()
    assert "auth_cache.cache_ttl = 30000" in conf
    assert node.ctl("list_users").split("\n")[2:] == ["server\t[administrator]", ""]  # no guest
    plugins = (node.dir / "conf" / "enabled_plugins").read_text()
    for plugin in (
        "rabbitmq_management",
        "rabbitmq_auth_backend_http",
        "rabbitmq_auth_backend_cache",
    ):
        assert plugin in plugins

    # The app services' environment: .env (from .env.example) plus the compose
    # file's own entries, with the compose network's host names pointed here.
    env = {
        **base,
        **_env_file(ROOT / ".env.example"),
        **secrets_,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{web_port}",
        "TORCHREADY_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "TORCHREADY_WORKER_BROKER_URL": f"amqps://127.0.0.1:{node.amqps_port}/students",
        # No TLS proxy on this machine: plain HTTP, like a reverse proxy's upstream.
        "BEHIND_TLS_PROXY": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "TORCHREADY_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "GUNICORN_ACCESS_LOG": "",
        "PYTHONUNBUFFERED": "1",
    }
    here = {
        "@redis:6379/": f"@127.0.0.1:{redis_port}/",
        "@rabbitmq:5672/": f"@127.0.0.1:{node.amqp_port}/",
        "@rabbitmq:15672": f"@127.0.0.1:{node.management_port}",
    }
    for key, value in SERVICES["web"]["environment"].items():
        value = _interpolate(value, secrets_)
        for compose_host, native in here.items():
            value = value.replace(compose_host, native)
        env[key] = value
    assert env["DATABASE_URL"].startswith("postgres://torchready:")
    env["DATABASE_URL"] = smoke_db  # the local PostgreSQL trusts user postgres

    services.run("migrate", env)
    services.start("web", env)
    services.start("worker", env)
    services.start("beat", env)
    healthcheck = SERVICES["web"]["healthcheck"]["test"][1:]
    wait_for(
        lambda: subprocess.run(services.argv(healthcheck), cwd=ROOT, env=env).returncode == 0,
        60,
        "the web service's health check",
    )

    # Exactly the compose commands ran (only the executables' folder differs).
    for name in ("redis", "rabbitmq", "migrate", "web", "worker", "beat"):
        compose_command = SERVICES[name]["command"]
        ran = services.ran[name]
        assert Path(ran[0]).name == compose_command[0] and ran[1:] == compose_command[1:], name

    # The first instructor, a student, a class and the student's worker token.
    setup = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert setup.returncode == 0, setup.stderr
    ids = json.loads(setup.stdout.strip().splitlines()[-1])

    import requests

    url = f"http://127.0.0.1:{web_port}"
    student = _logged_in(url, "smoke-student")
    instructor = _logged_in(url, "smoke-instructor")

    # The student's worker, started as the GPU page tells them; its broker comes
    # from the server: RabbitMQ over TLS, logged in with its own worker token.
    worker = Worker(
        url,
        ids["token"],
        tmp_path / "spool",
        tmp_path / "student-worker.log",
        env={"SSL_CERT_FILE": str(tmp_path / "tls" / "ca.pem")},
    )
    try:
        wait_for(lambda: "ready" in worker.output(), 60, "the student's worker to start")
        # The management API lists connections with a few seconds' delay.
        students = _waited(
            worker,
            lambda: [
                (c["user"], c["vhost"], c["ssl"])
                for c in node.management("/connections")
                if c["user"] != "server"
            ],
            30,
            "the worker's connection",
        )
        assert students == [(f"worker-{ids['token_id']}", "students", True)]
        response = student.post(
            f"{url}/gpu/runs", data={"mode": "quick"}, headers={"X-CSRFToken": _csrf(student)}
        )
        assert response.status_code == 200, response.text[:500]
        try:
            state = wait_for(lambda: _run_state(smoke_db), 90, "the run to finish")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker.output()[-3000:]}") from None
        assert state == "posted", worker.output()[-3000:]
    finally:
        worker.kill()
    gpu_page = student.get(f"{url}/gpu/")
    # The runs table links the run's report with the server's verdict on it.
    report_id, met = _latest_report(smoke_db)
    word = "verified" if met else "needs work"
    assert f'/gpu/reports/{report_id}">{word}</a>' in gpu_page.text

    dashboard = instructor.get(f"{url}/teach/{ids['class_id']}/")
    assert dashboard.status_code == 200
    assert "smoke-student" in dashboard.text
    assert "Content-Security-Policy" in dashboard.headers

    # The server-side worker takes tasks from the server's own queue (beat's task).
    call = subprocess.run(
        [str(BIN / "celery"), "-A", "config", "call", "diagnostics.sweep_stale_runs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert call.returncode == 0, call.stderr
    task_id = call.stdout.strip()
    wait_for(lambda: f"{task_id}] succeeded" in services.log("worker"), 60, "the sweep task")
    wait_for(lambda: "beat: Starting" in services.log("beat"), 30, "beat to start")
    assert services.procs["beat"].poll() is None, services.log("beat")
    assert requests.get(f"{url}/static/css/app.css").status_code == 200  # whitenoise


SETUP = """
import json
from django.contrib.auth import get_user_model
from learning.models import Klass, Module, Objective
from learning.services.accounts import ensure_roles, make_instructor
from diagnostics.services import token_create
User = get_user_model()
_, students = ensure_roles()
instructor = User.objects.create_user("smoke-instructor", password="@PASSWORD@")
make_instructor(user=instructor)
student = User.objects.create_user("smoke-student", password="@PASSWORD@")
student.groups.add(students)
klass = Klass.objects.create(name="Smoke class")
klass.instructors.add(instructor)
klass.students.add(student)
module = Module.objects.create(slug="env", source_path="env.md", title="Environment", sort=1)
Objective.objects.create(module=module, order=0, text="A GPU env", key="gpu", verifier="gpu-env")
klass.modules.add(module)
token, raw = token_create(student=student)
print(json.dumps({"class_id": klass.pk, "token": raw, "token_id": token.pk}))
""".replace("@PASSWORD@", PASSWORD)


def _waited(worker: Worker, *args):
    try:
        return wait_for(*args)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.output()[-3000:]}") from None


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A CA and a certificate for 127.0.0.1 and localhost signed by it, as certbot's would be."""
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Smoke CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "privkey.pem",
        "-out",
        "req.pem",
    )
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "fullchain.pem",
    )
    return folder / "fullchain.pem", folder / "privkey.pem"


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _csrf(session) -> str:
    return session.cookies.get("csrftoken") or ""


def _logged_in(url: str, username: str):
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{url}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def _latest_report(database_url: str) -> tuple[str, bool]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT report_id, objective_met FROM diagnostics_report ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return str(row[0]), row[1]


def _run_state(database_url: str) -> str | None:
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT state FROM diagnostics_checkrun ORDER BY id DESC LIMIT 1"
        ).fetchone()
    if row and row[0] not in ("queued", "running"):
        return row[0]
    return None
