"""Runs docker-compose.yml's services with `docker run`, read from the file itself.

No compose plugin is installable here, so this does the part of `docker compose
up` the deployment uses: variable interpolation from .env, env_file,
environment, command, working_dir, user, read_only, tmpfs, named and bind
volumes, healthcheck, and depends_on with its three conditions. The one override
is the network: every container uses host networking (this machine allows
loopback traffic only), so each service's host name points at 127.0.0.1 and
each listening service is moved to a free loopback port through the variable
its own image or script reads (`PORTS`); URLs naming "service:port" follow it.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from engine import LABEL, Engine, log

# Service -> the ports it listens on in the compose network, each with the
# variable (read by its image or its script) that moves it.
PORTS = {
    "db": {5432: "PGPORT"},
    "redis": {6379: "REDIS_PORT"},
    "rabbitmq": {
        5672: "AMQP_PORT",
        5671: "AMQPS_PORT",
        15672: "MANAGEMENT_PORT",
        # Erlang distribution, which the CLI tools (the health check) use: the
        # node's own epmd, since host networking would share this host's one.
        4369: "ERL_EPMD_PORT",
        25672: "RABBITMQ_DIST_PORT",
    },
    "web": {8000: "GUNICORN_BIND"},
}
# Python's and PostgreSQL's ERROR, RabbitMQ's [error], and tracebacks.
FAILURE = re.compile(r"\bERROR\b|\[error\]|Traceback \(most recent call last\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def interpolate(value, variables: dict[str, str]):
    """Compose's $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = re.fullmatch(r"(\w+)(:?[-?])?(.*)", match.group(1), re.S).groups()
        current = variables.get(name)
        unset = current is None or (op or "").startswith(":") and current == ""
        if op in ("-", ":-"):
            return arg if unset else current
        if op in ("?", ":?") and unset:
            raise KeyError(f"{name}: {arg}")
        return current or ""

    return re.sub(r"\$\$|\$\{([^}]+)\}", one, value)


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def as_dict(environment) -> dict[str, str]:
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {k: "" if v is None else str(v) for k, v in (environment or {}).items()}


@dataclass
class Stack:
    """One deployment: a project name (prefix of its containers and volumes), the
    folder it is deployed from (its docker-compose.yml, .env and bind mounts) and
    the tag its built services run."""

    engine: Engine
    project: str
    source: Path
    env_file: Path
    image: str = "torchready:latest"
    ports: dict[tuple[str, int], int] = field(default_factory=dict)
    services: dict = field(init=False)
    volumes: dict = field(init=False)
    waited: set = field(init=False, default_factory=set)
    started: set = field(init=False, default_factory=set)
    # Failures in the logs of containers already removed and of one-off runs.
    gone: list = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        raw = yaml.safe_load((self.source / "docker-compose.yml").read_text())
        compose = interpolate(raw, read_env_file(self.env_file))
        self.services = compose["services"]
        self.volumes = compose.get("volumes") or {}
        for name in self.services:
            for inside in PORTS.get(name, {}):
                self.ports.setdefault((name, inside), free_port())

    # --- names and addresses ---------------------------------------------------
    def container(self, name: str) -> str:
        return f"{self.project}-{name}"

    def port(self, service: str, inside: int) -> int:
        return self.ports[(service, inside)]

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port('web', 8000)}"

    def environment(self, name: str) -> dict[str, str]:
        """The service's environment, with "service:port" in URLs moved to the port here."""
        env = as_dict(self.services[name].get("environment"))
        for (other, inside), port in self.ports.items():
            address = re.compile(rf"(?<=[@/]){other}:{inside}(?!\d)")
            env = {k: address.sub(f"{other}:{port}", v) for k, v in env.items()}
            if other == name:
                variable = PORTS[other][inside]
                env[variable] = f"127.0.0.1:{port}" if variable == "GUNICORN_BIND" else str(port)
        return env

    # --- docker run ------------------------------------------------------------
    def run_args(
        self, name: str, *, command: list[str] | None = None, env=None, one_off: bool = False
    ) -> list[str]:
        spec = self.services[name]
        args = ["--network", "host", "--label", f"{LABEL}={self.project}"]
        args += [f"--add-host={other}:127.0.0.1" for other in self.services]
        if spec.get("env_file"):
            args += ["--env-file", str(self.env_file)]
        for key, value in {**self.environment(name), **(env or {})}.items():
            args += ["-e", f"{key}={value}"]
        for volume in spec.get("volumes") or []:
            args += ["-v", self.volume(volume)]
        if spec.get("hostname"):
            args += ["--hostname", spec["hostname"]]
        if spec.get("working_dir"):
            args += ["-w", spec["working_dir"]]
        if spec.get("user"):
            args += ["-u", str(spec["user"])]
        if spec.get("read_only"):
            args.append("--read-only")
        for tmpfs in spec.get("tmpfs") or []:
            args += ["--tmpfs", tmpfs]
        if not one_off:
            args += self.health_args(spec.get("healthcheck"))
        image = self.image if spec.get("build") else spec["image"]
        return [*args, image, *(command or spec.get("command") or [])]

    def volume(self, entry: str) -> str:
        source, _, target = entry.partition(":")
        if source.startswith((".", "/")):
            source = str((self.source / source).resolve())
        else:
            source = f"{self.project}_{source}"
        return f"{source}:{target}"

    @staticmethod
    def health_args(check: dict | None) -> list[str]:
        if not check:
            return []
        args = ["--health-cmd", _shell(check["test"])]
        for key in ("interval", "timeout", "retries", "start_period"):
            if key in check:
                args.append(f"--health-{key.replace('_', '-')}={check[key]}")
        return args

    def create_volumes(self) -> None:
        for name in self.volumes:
            self.engine(
                "volume", "create", "--label", f"{LABEL}={self.project}", f"{self.project}_{name}"
            )

    def start(self, name: str) -> None:
        """As `docker compose up`: a running container stays, any other is run anew."""
        state = self.engine("inspect", "-f", "{{.State.Status}}", self.container(name), check=False)
        if state.stdout.strip() == "running":
            return
        if state.returncode == 0:
            self._keep_failures(self.container(name))
        self.engine("rm", "-f", self.container(name), check=False)
        self.engine("run", "-d", "--name", self.container(name), *self.run_args(name))

    def run(self, name: str, command: list[str], *, env=None, stdin: str | None = None) -> str:
        """`docker compose run --rm <name> <command>`: a one-off container of the service."""
        args = self.run_args(name, command=command, env=env, one_off=True)
        result = self.engine("run", "--rm", "-i", *args, input=stdin, check=False)
        output = result.stdout + result.stderr
        self.gone += _failures(f"{name} run {shlex.join(command)[:60]}", output)
        if result.returncode:
            raise RuntimeError(
                f"{name} {command} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def exec(self, name: str, *command: str, **kwargs) -> subprocess.CompletedProcess:
        """`docker compose exec -T <name> <command>`."""
        return self.engine("exec", "-i", self.container(name), *command, **kwargs)

    # --- up and down -----------------------------------------------------------
    def up(self, only: list[str] | None = None, timeout: float = 240) -> None:
        """Start services as compose does: each as soon as its depends_on conditions
        hold (independent ones side by side), then wait until every started service
        with a health check is healthy."""
        self.create_volumes()
        wanted = self._with_dependencies(only or list(self.services))
        pending = [name for name in self.services if name in wanted]
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                if all(self.holds(d, c) for d, c in self.depends_on(name).items()):
                    log(f"{self.project}: {name} starts")
                    self.start(name)
                    self.waited = {(n, c) for n, c in self.waited if n != name}
                    self.started.add(name)
                    pending.remove(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pending} never started: {self.depends_on(pending[0])}")
            if pending:
                time.sleep(0.5)
        for name in wanted:
            if self.services[name].get("healthcheck"):
                self.wait_healthy(name, max(deadline - time.monotonic(), 1))

    def depends_on(self, name: str) -> dict[str, str]:
        depends = self.services[name].get("depends_on") or {}
        if isinstance(depends, list):
            return {d: "service_started" for d in depends}
        return {d: rule.get("condition", "service_started") for d, rule in depends.items()}

    def _with_dependencies(self, names: list[str]) -> set[str]:
        wanted: set[str] = set()
        while names:
            name = names.pop()
            if name not in wanted:
                wanted.add(name)
                names.extend(self.depends_on(name))
        return wanted

    def holds(self, name: str, condition: str) -> bool:
        """Whether a depends_on condition holds now (raises if it never will)."""
        if name not in self.started:
            return False
        if (name, condition) in self.waited or condition == "service_started":
            return True
        if condition == "service_completed_successfully":
            state = self.engine(
                "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", self.container(name)
            ).stdout.split()
            if state[0] != "exited":
                return False
            if state[1] != "0":
                raise RuntimeError(f"{name} exited {state[1]}:\n{self.logs(name)[-4000:]}")
        elif not self.healthy(name):
            return False
        self.waited.add((name, condition))
        log(f"{self.project}: {name} {condition.removeprefix('service_').replace('_', ' ')}")
        return True

    def healthy(self, name: str) -> bool:
        """Runs the service's own health test in its container, as Docker would.

        Docker's first check comes only after `interval` (60 s for the worker), so
        waiting on Docker's status would measure the interval, not the service."""
        state = self.engine("inspect", "-f", "{{.State.Status}}", self.container(name)).stdout
        if state.strip() != "running":
            raise RuntimeError(f"{name} is {state.strip()}:\n{self.logs(name)[-4000:]}")
        test = self.services[name]["healthcheck"]["test"]
        argv = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
        return self.engine("exec", self.container(name), *argv, check=False).returncode == 0

    def wait_healthy(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.holds(name, "service_healthy"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{name} not healthy after {timeout:.0f} s:\n{self.logs(name)[-4000:]}")

    def logs(self, name: str) -> str:
        return self.logs_of(self.container(name))

    def containers(self) -> list[str]:
        names = self.engine(
            "ps", "-a", "--filter", f"label={LABEL}={self.project}", "--format", "{{.Names}}"
        )
        return names.stdout.split()

    def failures(self) -> list[str]:
        """Every ERROR or traceback line in every container's log since the first
        start, removed containers and one-off runs included."""
        found = list(self.gone)
        for container in self.containers():
            found += _failures(container, self.logs_of(container))
        return found

    def logs_of(self, container: str) -> str:
        text = self.engine("logs", container, check=False)
        return text.stdout + text.stderr

    def _keep_failures(self, container: str) -> None:
        """A container's log is read before the container is removed: a restart or
        a `down` must not take a start's errors with it."""
        self.gone += _failures(container, self.logs_of(container))

    def stop(self, *names: str) -> None:
        targets = [self.container(n) for n in names] if names else self.containers()
        if targets:
            self.engine("stop", *targets, check=False)  # compose's 10 s grace

    def down(self, volumes: bool = False) -> None:
        containers = self.containers()
        for container in containers:
            self._keep_failures(container)
        if containers:
            self.engine("rm", "-f", *containers, check=False)
        if volumes:
            for name in self.volumes:
                self.engine("volume", "rm", "-f", f"{self.project}_{name}", check=False)
        self.waited.clear()
        self.started.clear()
        log(f"{self.project}: down{' with its volumes' if volumes else ''}")


def _shell(test: list[str] | str) -> str:
    if isinstance(test, str):
        return test
    if test[0] == "CMD-SHELL":
        return test[1]
    return shlex.join(test[1:])


# RabbitMQ logs a supervisor report at [error] when a client closes a connection
# just after opening a channel (rabbitmq/rabbitmq-server#3899, #1552): the channel
# has already gone when its supervisor stops it. Only that report is let through.
_BENIGN = re.compile(
    r"supervisor: \{<[\d.]+>,rabbit_channel_sup(_sup)?\}.*"
    r"errorContext: shutdown_error.*reason: (noproc|shutdown)$",
    re.S | re.M,
)


def _failures(source: str, text: str) -> list[str]:
    lines = text.splitlines()
    benign = _benign_reports(lines)
    return [
        f"{source}: {line}"
        for line in lines
        if FAILURE.search(line) and _report_key(line) not in benign
    ]


def _report_key(line: str) -> str:
    """A multi-line Erlang report's lines share their time stamp and process id."""
    match = re.match(r"(\S+ \S+ \[error\] <[\d.]+>)", line)
    return match.group(1) if match else line


def _benign_reports(lines: list[str]) -> set[str]:
    reports: dict[str, str] = {}
    for line in lines:
        key = _report_key(line)
        if key != line:
            reports[key] = reports.get(key, "") + line + "\n"
    return {key for key, text in reports.items() if _BENIGN.search(text)}
