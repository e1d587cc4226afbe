"""The guided set-up: which steps tick from what the worker said, and the commands per shell."""

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from django.utils import timezone

from diagnostics.agent.report import Report as AgentReport
from diagnostics.agent.verdict import build_for, tables
from diagnostics.setup_guide import Shell, StepState, per_shell, setup_steps, shell_for

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WHEEL = "http://testserver/worker/torchready_worker-0.1.0-py3-none-any.whl"


def token(info=None, seen=True):
    return SimpleNamespace(
        last_seen_info=info or {},
        last_seen_at=timezone.now() - timedelta(seconds=5) if seen else None,
    )


def report(name: str):
    facts = json.loads((FIXTURES / f"{name}.json").read_text())
    return SimpleNamespace(facts=facts, objective_met=False)


def states(setup) -> dict[str, str]:
    return {step.key: step.state for step in setup.steps}


def test_a_new_student_starts_at_getting_conda_with_nothing_ticked():
    setup = setup_steps(token=None, online=False, report=None, wheel_url=WHEEL, shell=Shell.SH)
    assert states(setup) == {
        "conda": StepState.NEXT,
        "env": StepState.TODO,
        "torch": StepState.TODO,
        "worker": StepState.TODO,
        "start": StepState.TODO,
    }
    assert setup.done_count == 0 and not setup.complete


def test_each_step_ticks_from_the_workers_heartbeat():
    info = {"env_kind": "conda", "env_name": "gpu-course", "torch": "2.13.0+cu126"}
    setup = setup_steps(
        token=token(info), online=True, report=None, wheel_url=WHEEL, shell=Shell.SH
    )
    assert setup.complete
    assert "gpu-course" in setup.steps[1].seen and "2.13.0+cu126" in setup.steps[2].seen


def test_a_worker_in_conda_base_without_torch_is_sent_to_create_its_own_env():
    info = {"env_kind": "conda", "env_name": "base", "torch": ""}
    setup = setup_steps(
        token=token(info), online=True, report=None, wheel_url=WHEEL, shell=Shell.SH
    )
    assert states(setup) == {
        "conda": StepState.DONE,
        "env": StepState.NEXT,
        "torch": StepState.TODO,
        "worker": StepState.DONE,
        "start": StepState.DONE,
    }


def test_a_venv_worker_has_no_conda_step_ticked_and_a_stopped_worker_is_not_started():
    info = {"env_kind": "venv", "env_name": "", "torch": "2.13.0"}
    setup = setup_steps(
        token=token(info), online=False, report=None, wheel_url=WHEEL, shell=Shell.SH
    )
    assert [s.done for s in setup.steps] == [False, False, True, True, False]


def test_the_torch_command_is_chosen_from_the_latest_report_by_the_verdicts_tables():
    for name in ("conda_cpuonly", "h100_ok", "rtx3060_laptop_wsl_ok", "unsupported_arch"):
        latest = report(name)
        build = build_for(AgentReport.model_validate(latest.facts))
        setup = setup_steps(
            token=None, online=False, report=latest, wheel_url=WHEEL, shell=Shell.SH
        )
        assert setup.steps[2].commands[Shell.SH] == " && ".join(tables.pip_install(build)), name
        assert setup.torch_from_report, name


def test_a_report_without_a_driver_gets_the_default_torch_and_does_not_claim_otherwise():
    without_driver = report("no_driver_windows")
    assert not without_driver.facts["nvml"].get("driver_version")
    setup = setup_steps(
        token=None, online=False, report=without_driver, wheel_url=WHEEL, shell=Shell.SH
    )
    default = setup_steps(token=None, online=False, report=None, wheel_url=WHEEL, shell=Shell.SH)
    assert setup.steps[2].commands == default.steps[2].commands
    assert not setup.torch_from_report


def test_without_a_report_torch_is_the_newest_release_on_its_widest_cuda_variant():
    setup = setup_steps(token=None, online=False, report=None, wheel_url=WHEEL, shell=Shell.SH)
    command = setup.steps[2].commands[Shell.SH]
    released = [r for r in tables.tables().releases if r.status == "released"]
    newest = max(released, key=lambda r: tables.version_tuple(r.torch))
    assert f'"torch=={newest.torch}.*"' in command and '"torchvision==' in command
    assert command.endswith(f"{tables.tables().index_url}/cu126")


def test_powershell_gets_no_double_ampersand_and_the_other_shells_keep_it():
    commands = per_shell("conda remove -y pytorch && python -m pip install torch")
    assert "&&" not in commands[Shell.POWERSHELL]
    assert commands[Shell.POWERSHELL].splitlines() == [
        "conda remove -y pytorch",
        "python -m pip install torch",
    ]
    assert (
        commands[Shell.SH]
        == commands[Shell.CMD]
        == "conda remove -y pytorch && python -m pip install torch"
    )


def test_no_setup_command_uses_double_ampersand_in_powershell():
    setup = setup_steps(token=None, online=False, report=None, wheel_url=WHEEL, shell=Shell.SH)
    for step in setup.steps:
        assert "&&" not in step.commands.get(Shell.POWERSHELL, "")


def test_getting_conda_differs_per_shell_and_the_other_steps_are_one_block():
    setup = setup_steps(token=None, online=False, report=None, wheel_url=WHEEL, shell=Shell.SH)
    conda, env, torch, worker, start = setup.steps
    assert [shell for shell, _ in conda.blocks] == ["sh", "powershell", "cmd"]
    assert "Miniforge3-Windows-x86_64.exe" in conda.commands[Shell.CMD]
    assert "init powershell" in conda.commands[Shell.POWERSHELL]
    assert env.blocks == [
        ("", "conda create -n gpu-course python=3.12 -y\nconda activate gpu-course")
    ]
    assert worker.blocks == [("", f'python -m pip install "{WHEEL}"')]
    assert start.blocks == []  # the start command carries the token: shown once, elsewhere


def test_the_shell_tab_follows_the_request_then_the_worker_then_the_browser():
    assert shell_for(requested="cmd", platform="Linux", user_agent="") == Shell.CMD
    assert shell_for(requested="evil", platform="Windows-10", user_agent="") == Shell.POWERSHELL
    assert shell_for(requested=None, platform="", user_agent="Mozilla (Windows NT 10.0)") == (
        Shell.POWERSHELL
    )
    assert shell_for(requested=None, platform="", user_agent="Mozilla (X11; Linux)") == Shell.SH
