""" "Do this next": root cause first, one step open, ending with restart (when the env
changed) and re-run; hints split into prose and copyable commands."""

import json
from pathlib import Path

from diagnostics.agent.report import Report
from diagnostics.agent.verdict import judge
from diagnostics.agent.verdict.graph import DEPENDS_ON
from diagnostics.agent.verdict.ids import CheckId
from diagnostics.next_steps import StepKind, hint_parts, next_steps
from diagnostics.report_view import CHECK_NAMES, check_name

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WHEEL = "http://testserver/worker/w.whl"


def verdict_of(name: str) -> dict:
    report = Report.model_validate(json.loads((FIXTURES / f"{name}.json").read_text()))
    return judge(report).model_dump(mode="json")


def steps_for(verdict: dict):
    return next_steps(verdict=verdict, env_name="gpu-course", wheel_url=WHEEL)


def test_a_cpu_only_torch_is_fixed_then_the_worker_restarted_in_the_env_then_rerun():
    steps = steps_for(verdict_of("conda_cpuonly"))
    assert [s.kind for s in steps] == [StepKind.FIX, StepKind.RESTART, StepKind.RERUN]
    assert [s.is_next for s in steps] == [True, False, False]
    assert steps[0].check_id == "torch-cuda-build"
    commands = [p.text for p in steps[0].parts if p.kind == "command"]
    assert commands[0].startswith("conda remove -y --force pytorch")
    restart = " ".join(p.text for p in steps[1].parts)
    assert "conda activate gpu-course" in restart and WHEEL in restart
    # Both commands are copyable blocks, not code inside a sentence.
    blocks = [p.text for p in steps[1].parts if p.kind == "command"]
    assert blocks == ["conda activate gpu-course", f'python -m pip install "{WHEEL}"']
    assert steps[-1].title == "Re-run the check from the env you fixed"


def test_a_missing_driver_needs_no_worker_restart_but_always_a_rerun():
    steps = steps_for(verdict_of("no_driver_windows"))
    assert [s.kind for s in steps] == [StepKind.FIX, StepKind.RERUN]
    assert steps[0].check_id == "driver-present"


def test_the_driver_comes_before_the_env_and_torch_whatever_the_report_order():
    verdict = {
        "checks": [
            {"id": "conda-env", "status": "fail", "summary": "no conda", "hint": "use conda"},
            {"id": "torch-cuda-build", "status": "fail", "summary": "cpu torch", "hint": ""},
            {"id": "driver-present", "status": "fail", "summary": "no driver", "hint": ""},
        ]
    }
    assert [s.check_id for s in steps_for(verdict)][:3] == [
        "driver-present",
        "conda-env",
        "torch-cuda-build",
    ]


def test_an_older_verdict_orders_every_check_the_agent_can_fail_by_the_root_cause_graph():
    """Without a next_step of its own, a verdict is ordered by the agent's graph, so a
    check id no table spells differently (wsl-driver, torch-numpy) is never last."""
    order = list(DEPENDS_ON)
    shuffled = [*order[1::2], *order[::2]]
    verdict = {"checks": [{"id": str(c), "status": "fail", "summary": c} for c in shuffled]}
    steps = [s.check_id for s in steps_for(verdict) if s.kind == StepKind.FIX]
    assert steps == [str(c) for c in order]


def test_every_check_has_a_name_on_the_report_page():
    assert set(CHECK_NAMES) == set(CheckId)
    assert check_name("wsl-driver") == "WSL GPU support"
    assert check_name("a-future-check") == "A future check"


def test_the_verdicts_own_next_step_comes_first_then_its_other_failures_in_its_order():
    verdict = {
        "next_step": "conda-env",
        "checks": [
            {"id": "driver-present", "status": "fail", "summary": "no driver"},
            {"id": "conda-env", "status": "fail", "summary": "a venv"},
            {"id": "gpu-visible", "status": "blocked", "blocked_by": "driver-present"},
            {"id": "torch-cuda-build", "status": "fail", "summary": "cpu torch"},
        ],
    }
    assert [s.check_id for s in steps_for(verdict)][:3] == [
        "conda-env",
        "driver-present",
        "torch-cuda-build",
    ]


def test_a_next_step_that_is_a_skip_with_a_hint_is_listed_first():
    verdict = {
        "next_step": "driver-present",
        "checks": [
            {"id": "driver-present", "status": "skip", "summary": "no NVML", "hint": "`pip x y`"},
        ],
    }
    steps = steps_for(verdict)
    assert steps[0].check_id == "driver-present" and steps[0].is_next


def test_each_fixture_starts_with_the_verdicts_next_step():
    for name in ("conda_cpuonly", "torch_missing", "macos", "no_driver_windows", "venv_not_conda"):
        verdict = verdict_of(name)
        assert steps_for(verdict)[0].check_id == verdict["next_step"], name


def test_a_hint_keeps_its_prose_and_its_commands_lose_their_brackets_and_backticks():
    parts = hint_parts(
        "Fix: `python -m pip install torch` (or stay with conda: `conda install x y`)."
    )
    assert [(p.kind, p.text) for p in parts] == [
        ("text", "Fix: "),
        ("command", "python -m pip install torch"),
        ("text", "Or stay with conda: "),
        ("command", "conda install x y"),
    ]
    assert hint_parts("set `CUDA_VISIBLE_DEVICES` right")[1].kind == "code"
    inline = hint_parts("then run `python -m diagnostics check` there.")
    assert [p.kind for p in inline] == ["text", "code", "text"]
    windows = hint_parts("`conda remove -y pytorch`, then `python -m pip install x`")
    assert [(p.kind, p.text) for p in windows] == [
        ("command", "conda remove -y pytorch"),
        ("text", "Then "),
        ("command", "python -m pip install x"),
    ]


def test_a_command_with_double_ampersand_gets_a_powershell_block_of_its_own():
    [part] = hint_parts("`a --x && b --y`")
    assert part.blocks == [
        ("sh", "a --x && b --y"),
        ("powershell", "a --x\nb --y"),
        ("cmd", "a --x && b --y"),
    ]
