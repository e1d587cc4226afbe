"""Report bodies and API calls for the worker-pipeline tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from diagnostics.agent.report import Report

API = "/api/v1"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def report_dict(**overrides) -> dict:
    """A valid report, as a worker would send it (an empty probe: no torch)."""
    data = Report(tool_version="test").model_dump(mode="json")
    data.update(overrides)
    return data


def submission(report: dict | None = None, **fields) -> dict:
    body = {"run_id": None, "outcome": "completed", "detail": "", "report": report or report_dict()}
    body.update(fields)
    return body


def post_json(client, path: str, body, token: str | None, **extra):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(API + path, data=raw, content_type="application/json", **headers, **extra)


def new_uuid() -> str:
    return str(uuid.uuid4())


def fixture_dict(name: str) -> dict:
    """A recorded report as its worker would post it now: the server refuses a
    created_at more than two days from its own clock."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return {**data, "created_at": datetime.now(timezone.utc).isoformat()}
