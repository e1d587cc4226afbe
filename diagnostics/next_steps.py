"""What a student does after "needs work": an ordered list, root cause first, ending
with restarting the worker in the fixed env (when the env changed) and re-running."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import TextChoices

from .agent.verdict.graph import DEPENDS_ON, STANDALONE
from .agent.verdict.ids import CheckId
from .setup_guide import per_shell

# Fixes that change the env the worker runs in: the running worker still has the old
# one. They are the env's own software (the graph's standalone checks, less the
# system's nvcc) and the GPU checks whose fix is another torch build.
ENV_CHANGES = (STANDALONE - {CheckId.SYSTEM_NVCC}) | {
    CheckId.ARCH_SUPPORTED,
    CheckId.CUDA_TENSOR_OP,
}
CODE = re.compile(r"`([^`]+)`")


class StepKind(TextChoices):
    FIX = "fix"
    RESTART = "restart"
    RERUN = "rerun"


@dataclass
class Part:
    """A piece of a hint: prose, inline code, or a command for a copyable block."""

    kind: str  # "text", "code" or "command"
    text: str
    shells: dict[str, str] = field(default_factory=dict)

    @property
    def blocks(self) -> list[tuple[str, str]]:
        if len(set(self.shells.values())) <= 1:
            return [("", self.text)]
        return list(self.shells.items())


@dataclass
class NextStep:
    kind: StepKind
    title: str
    parts: list[Part]
    check_id: str = ""
    is_next: bool = False


def ends_clause(text: str) -> bool:
    """Whether the text after a command starts a new clause, so the command can stand
    as a block of its own ("`a`. Then …", "`a` (or …", "`a`, then `b`")."""
    rest = text.lstrip()
    return not rest or rest[0] in ".;()" or rest.startswith(", then")


def hint_parts(hint: str) -> list[Part]:
    """Backticked spans become code. A command (with a space) that ends its clause
    gets a copyable block of its own; inside a sentence it stays inline code."""
    pieces = CODE.split(hint or "")
    parts: list[Part] = []
    for i, piece in enumerate(pieces):
        after = pieces[i + 1] if i + 1 < len(pieces) else ""
        if i % 2 == 0:
            parts.append(Part("text", piece))
        elif " " in piece.strip() and ends_clause(after):
            parts.append(Part("command", piece, {str(k): v for k, v in per_shell(piece).items()}))
        else:
            parts.append(Part("code", piece))
    # Brackets around a command block go; the text after a block starts a sentence.
    for before, part, after in zip(parts, parts[1:], parts[2:], strict=False):
        if part.kind == "command" and before.kind == "text" and after.kind == "text":
            head, bracket, tail = before.text.rpartition("(")
            if bracket and ")" not in tail and after.text.lstrip().startswith(")"):
                before.text = head + tail
                after.text = after.text.lstrip()[1:]
    for before, part in zip(parts, parts[1:], strict=False):
        if before.kind == "command" and part.kind == "text":
            rest = part.text.lstrip(" .,;")
            part.text = rest[:1].upper() + rest[1:]
    return [p for p in parts if p.kind != "text" or p.text.strip(" .,;")]


def failing_in_order(verdict: dict) -> list[dict]:
    """The checks to fix, root cause first. A verdict that names its `next_step` lists
    its checks in root-cause order already: that step, then the other failures. An
    older verdict is put in the verdict's own root-cause order (a check's fix can only
    show once the checks before it pass: no driver matters before a wrong torch build)."""
    checks = [c for c in verdict.get("checks", []) if isinstance(c, dict) and c.get("id")]
    if "next_step" in verdict:
        first = [c for c in checks if c["id"] == verdict["next_step"]]
        return first + [c for c in checks if c.get("status") == "fail" and c not in first]
    rank = {check_id: i for i, check_id in enumerate(DEPENDS_ON)}
    failing = [c for c in checks if c.get("status") == "fail"]
    return sorted(failing, key=lambda c: rank.get(c["id"], len(rank)))


def next_steps(*, verdict: dict, env_name: str, wheel_url: str) -> list[NextStep]:
    failing = failing_in_order(verdict)
    steps = [
        NextStep(StepKind.FIX, c.get("summary", ""), hint_parts(c.get("hint") or ""), c["id"])
        for c in failing
    ]
    env = env_name or "your env"
    if any(c.get("id") in ENV_CHANGES for c in failing):
        restart = (
            "The worker that is running still has the old env. Stop it (Ctrl+C), then "
            f"activate the env you fixed: `conda activate {env}`. Install the worker there: "
            f'`python -m pip install "{wheel_url}"`. Then start it again with the start '
            "command (step 5 of the set-up)."
        )
        title = "Restart the worker inside the env you fixed"
        steps.append(NextStep(StepKind.RESTART, title, hint_parts(restart)))
    steps.append(
        NextStep(
            StepKind.RERUN,
            "Re-run the check from the env you fixed",
            hint_parts("Click “Run GPU check” below: the new report replaces this verdict."),
        )
    )
    steps[0].is_next = True
    return steps
