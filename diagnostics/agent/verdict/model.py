"""The verdict's shape: checks with evidence, hints and their place in the root-cause graph."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from diagnostics.agent.verdict.ids import CheckId

# "blocked": the check could not be judged because a check it depends on failed
# (its `blocked_by`); "skip": it does not apply or its facts are missing.
Status = Literal["pass", "warn", "fail", "skip", "blocked"]
PASSING: tuple[Status, ...] = ("pass", "warn")


class Check(BaseModel):
    id: CheckId
    status: Status
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    hint: str | None = None
    # The checks that must pass before this one means anything (edges of the graph).
    depends_on: list[CheckId] = Field(default_factory=list)
    # The failing check upstream that is fixed first; None when every ancestor passes.
    blocked_by: CheckId | None = None


class Verdict(BaseModel):
    objective_met: bool
    checks: list[Check]
    # The root cause: the first failing check whose parents pass; None when nothing fails.
    next_step: CheckId | None = None
    summary: str = ""

    def check(self, check_id: CheckId | str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def next_check(self) -> Check | None:
        return self.check(self.next_step) if self.next_step else None
