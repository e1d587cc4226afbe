"""The guided set-up: five steps from "no conda" to a worker online, each with its
commands for the student's shell, ticked from what the worker and the reports saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import TextChoices

from .agent.verdict import tables as torch_tables

if TYPE_CHECKING:
    from .models import Report, WorkerToken

MINIFORGE = "https://github.com/conda-forge/miniforge/releases/latest/download/"
MINIFORGE_WINDOWS = MINIFORGE + "Miniforge3-Windows-x86_64.exe"
MINIFORGE_INSTALLERS = [
    ("Linux x86_64", MINIFORGE + "Miniforge3-Linux-x86_64.sh"),
    ("Linux ARM64", MINIFORGE + "Miniforge3-Linux-aarch64.sh"),
    ("macOS Apple silicon", MINIFORGE + "Miniforge3-MacOSX-arm64.sh"),
    ("macOS Intel", MINIFORGE + "Miniforge3-MacOSX-x86_64.sh"),
    ("Windows", MINIFORGE_WINDOWS),
]
ENV_NAME = "gpu-course"


class Shell(TextChoices):
    SH = "sh", "Linux / macOS"
    POWERSHELL = "powershell", "Windows PowerShell"
    CMD = "cmd", "Windows cmd"


class StepState(TextChoices):
    DONE = "done"
    NEXT = "next"
    TODO = "todo"


@dataclass
class Step:
    key: str
    title: str
    done: bool
    seen: str  # what the server saw, or how it will know
    commands: dict[Shell, str] = field(default_factory=dict)
    state: StepState = StepState.TODO

    @property
    def blocks(self) -> list[tuple[str, str]]:
        """(shell, text) per command block; one block, for every shell, when they agree."""
        texts = set(self.commands.values())
        if len(texts) == 1:
            return [("", texts.pop())]
        return [(str(shell), text) for shell, text in self.commands.items()]


@dataclass
class Setup:
    steps: list[Step]
    shell: Shell
    shells: list[Shell]
    installers: list[tuple[str, str]]
    env_name: str = ENV_NAME
    torch_from_report: bool = False  # the torch command fits the latest report's GPU

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == len(self.steps)


def same_for_all(text: str) -> dict[Shell, str]:
    return dict.fromkeys(Shell, text)


def per_shell(command: str) -> dict[Shell, str]:
    """One command for every shell. Windows PowerShell 5.1 rejects `&&`, so there
    each part goes on its own line; sh and cmd keep the `&&` (stop on failure)."""
    return {
        Shell.SH: command,
        Shell.POWERSHELL: "\n".join(part.strip() for part in command.split("&&")),
        Shell.CMD: command,
    }


GET_CONDA = {
    Shell.SH: (
        f'curl -fsSLO "{MINIFORGE}Miniforge3-$(uname)-$(uname -m).sh"\n'
        'bash "Miniforge3-$(uname)-$(uname -m).sh" -b\n'
        "~/miniforge3/bin/conda init"
    ),
    Shell.POWERSHELL: (
        f"curl.exe -fsSLO {MINIFORGE_WINDOWS}\n"
        "Start-Process -Wait .\\Miniforge3-Windows-x86_64.exe\n"
        "Set-ExecutionPolicy -Scope CurrentUser RemoteSigned\n"
        '& "$env:USERPROFILE\\miniforge3\\Scripts\\conda.exe" init powershell'
    ),
    Shell.CMD: (
        f"curl -fsSLO {MINIFORGE_WINDOWS}\n"
        'start /wait "" Miniforge3-Windows-x86_64.exe\n'
        '"%USERPROFILE%\\miniforge3\\Scripts\\conda.exe" init cmd.exe'
    ),
}


def build_from_report(report: Report | None) -> torch_tables.Build | None:
    """Torch for this machine's GPU and driver, when the latest report names a driver
    (the verdict's own tables)."""
    from pydantic import ValidationError

    from diagnostics.agent.report import Report as ProbeReport
    from diagnostics.agent.verdict import build_for

    if report is None or not (report.facts.get("nvml") or {}).get("driver_version"):
        return None
    try:
        return build_for(ProbeReport.model_validate(report.facts))
    except ValidationError:  # stored under an older schema: fall back to the default
        return None


def torch_install_command(build: torch_tables.Build | None) -> str:
    """The report's build, else the newest release's build that runs on most drivers."""
    if build is None:
        released = [r for r in torch_tables.tables().releases if r.status == "released"]
        newest = max(released, key=lambda r: torch_tables.version_tuple(r.torch))
        build = torch_tables.Build(newest, min(newest.variants, key=torch_tables.cuda_of))
    return " && ".join(torch_tables.pip_install(build))


def worker_commands(server_url: str, raw_token: str) -> dict[str, str]:
    """The start command (the token inside) and the one-off check that posts directly."""
    return {
        "start": f"python -m diagnostics worker --server {server_url} --token {raw_token}",
        "once": f"python -m diagnostics check --post {server_url} --token {raw_token}",
    }


def shell_for(*, requested: str | None, platform: str, user_agent: str) -> Shell:
    """The tab to open: the one asked for, else the worker's OS, else the browser's."""
    if requested in Shell.values:
        return Shell(requested)
    hint = (platform or user_agent).lower()
    return Shell.POWERSHELL if "windows" in hint else Shell.SH


def setup_steps(
    *,
    token: WorkerToken | None,
    online: bool,
    report: Report | None,
    wheel_url: str,
    shell: Shell,
) -> Setup:
    seen = (token.last_seen_info if token else None) or {}
    env = (report.facts.get("env") or {}) if report else {}
    env_kind = seen.get("env_kind") or env.get("kind") or ""
    env_name = seen.get("env_name") or env.get("conda_env_name") or ""
    reported_torch = (report.facts.get("torch") or {}).get("version") if report else ""
    torch = seen.get("torch") or reported_torch
    # Installed once it has reported in: a heartbeat, or a report (from any token).
    ever_seen = bool(token and token.last_seen_at) or report is not None
    where = "your worker" if seen else "your latest report"

    conda = env_kind == "conda"
    own_env = conda and env_name not in ("", "base")
    build = build_from_report(report)
    steps = [
        Step(
            "conda",
            "Get conda (Miniforge)",
            conda,
            f"Seen: {where} runs in conda." if conda else "Ticks when your worker runs in conda.",
            GET_CONDA,
        ),
        Step(
            "env",
            f"Create the env “{ENV_NAME}” and activate it",
            own_env,
            f"Seen: {where} runs in the conda env “{env_name}”."
            if own_env
            else "Ticks when your worker runs in a conda env of its own (not base).",
            same_for_all(f"conda create -n {ENV_NAME} python=3.12 -y\nconda activate {ENV_NAME}"),
        ),
        Step(
            "torch",
            "Install PyTorch for your GPU, in that env",
            bool(torch),
            f"Seen: torch {torch} in {where}’s env."
            if torch
            else "Ticks when your worker’s env holds torch.",
            per_shell(torch_install_command(build)),
        ),
        Step(
            "worker",
            "Install the worker into that env",
            ever_seen,
            "Seen: your worker has reported in."
            if ever_seen
            else "Ticks when your worker first reports in. It brings no torch and no Django.",
            same_for_all(f'python -m pip install "{wheel_url}"'),
        ),
        Step(
            "start",
            "Start the worker with your token, and leave it running",
            online,
            "Seen: your worker is online." if online else "Ticks when your worker is online.",
        ),
    ]
    first_open = next((step for step in steps if not step.done), None)
    for step in steps:
        step.state = (
            StepState.DONE
            if step.done
            else StepState.NEXT
            if step is first_open
            else StepState.TODO
        )
    return Setup(steps, shell, list(Shell), MINIFORGE_INSTALLERS, torch_from_report=bool(build))
