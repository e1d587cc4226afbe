"""What the worker and the server say to each other, shared by both sides."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from diagnostics.agent.report import Report

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 256 * 1024
SUPPORTED_SCHEMA_VERSIONS = ("1",)
# The one task on a student's queue; it carries only {"run_id": int, "mode": "quick"|"full"}.
RUN_TASK = "torchready.run_check"


class Submission(BaseModel):
    """The body of POST /api/v1/reports."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    run_id: StrictInt | None = Field(
        default=None, ge=1, description="The run this report answers, if any: an integer."
    )
    outcome: Literal["completed", "crashed", "timeout"] = Field(
        default="completed",
        description="How the check subprocess ended. For crashed and timeout the report is a stub.",
    )
    detail: str = Field(
        default="", max_length=8000, description="The stderr tail of a crashed probe."
    )
    report: Report
    verdict: Any = Field(default=None, description="Ignored: the server judges the report itself.")


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    worker_version: str = Field(default="", max_length=50)
    python: str = Field(default="", max_length=50)
    platform: str = Field(default="", max_length=200)
    state: Literal["idle", "running", "starting"] = "idle"
    # Where the worker runs, for the set-up checklist: conda, venv or none; the
    # conda env's name ("base" for the root install); torch's version, "" if absent.
    env_kind: Literal["conda", "venv", "none", "unknown"] = "unknown"
    env_name: str = Field(default="", max_length=100)
    torch: str = Field(default="", max_length=50)


class Claim(BaseModel):
    """The optional body of POST /api/v1/runs/<id>/claim."""

    model_config = ConfigDict(extra="forbid")

    redelivered: bool = Field(
        default=False,
        description="The broker gave this run back after the worker that had it died mid-run.",
    )
