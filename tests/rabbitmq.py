"""A private RabbitMQ node for tests and perf scripts, started with deploy/rabbitmq.sh.

It never touches the machine's shared node (127.0.0.1:5672): its own node name,
free AMQP, distribution and management ports, and its data, config and
enabled-plugins file in a temporary folder owned by the `rabbitmq` user (Debian's
rabbitmq-server drops to that user when started as root).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "rabbitmq.sh"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> str | None:
    """Why a private node can't run here, or None when it can."""
    if shutil.which("rabbitmq-server") is None:
        return "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
    if os.geteuid() != 0:
        return "a private RabbitMQ node is started as root (it drops to the rabbitmq user)"
    return None


class PrivateNode:
    """One RabbitMQ node on free ports; `start`, `restart` (same data) and `stop`."""

    def __init__(
        self,
        *,
        auth_url: str,
        auth_secret: str,
        cache_ttl_ms: int = 30000,
        tls: tuple[Path, Path] | None = None,
    ):
        self.dir = Path(tempfile.mkdtemp(prefix="torchready-rabbitmq-"))
        self.name = f"torchready-{secrets.token_hex(4)}@localhost"
        self.amqp_port, self.management_port = free_port(), free_port()
        self.amqps_port = free_port() if tls else None
        self.dist_port = free_port()
        self.server_password = secrets.token_hex(16)
        self.auth_url = auth_url
        self.auth_secret = auth_secret
        self.cache_ttl_ms = cache_ttl_ms
        self.tls = tls
        self.proc: subprocess.Popen | None = None
        shutil.chown(self.dir, "rabbitmq", "rabbitmq")

    def env(self) -> dict[str, str]:
        """What deploy/rabbitmq.sh reads, plus the variables that keep this node apart."""
        env = {
            **os.environ,
            "RABBITMQ_SERVER_PASSWORD": self.server_password,
            "BROKER_AUTH_SECRET": self.auth_secret,
            "BROKER_AUTH_URL": self.auth_url,
            "BROKER_AUTH_CACHE_TTL_MS": str(self.cache_ttl_ms),
            "TORCHREADY_RABBITMQ_DIR": str(self.dir / "conf"),
            "AMQP_PORT": str(self.amqp_port),
            "MANAGEMENT_PORT": str(self.management_port),
            "TLS_CERT_FILE": "",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.dir / "feature_flags"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.dir / "plugins"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }
        if self.tls:
            env.update(
                TLS_CERT_FILE=str(self.tls[0]),
                TLS_KEY_FILE=str(self.tls[1]),
                AMQPS_PORT=str(self.amqps_port),
            )
        return env

    def url(self, vhost: str = "students", user: str = "server", password: str | None = None):
        password = self.server_password if password is None else password
        return f"amqp://{user}:{password}@127.0.0.1:{self.amqp_port}/{vhost}"

    @property
    def management_url(self) -> str:
        return f"http://server:{self.server_password}@127.0.0.1:{self.management_port}"

    def start(self, timeout: float = 90) -> None:
        log = (self.dir / "node.out").open("ab")
        self.proc = subprocess.Popen(
            ["bash", str(SCRIPT)],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"RabbitMQ node exited:\n{self.output()}")
            if self._answers():
                return
            time.sleep(0.3)
        raise RuntimeError(f"RabbitMQ node not ready after {timeout} s:\n{self.output()}")

    def _answers(self) -> bool:
        import amqp

        try:
            conn = amqp.Connection(
                f"127.0.0.1:{self.amqp_port}",
                userid="server",
                password=self.server_password,
                virtual_host="students",
                connect_timeout=2,
            )
            conn.connect()
            conn.close()
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return self._management_answers()

    def _management_answers(self) -> bool:
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.management_port}/api/overview")
        request.add_header("Authorization", _basic("server", self.server_password))
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def ctl(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            ["rabbitmqctl", "-n", self.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr or result.stdout}")
        return result.stdout

    def management(self, path: str, user: str = "server", password: str | None = None):
        import json
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.management_port}/api{path}")
        password = self.server_password if password is None else password
        request.add_header("Authorization", _basic(user, password))
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same data: durable queues and persistent messages stay."""
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def output(self) -> str:
        path = self.dir / "node.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
