"""Report bodies and API calls for the worker-pipeline tests."""

from __future__ import annotations

import json
import uuid

from diagnostics.agent.report import Report

API = "/api/v1"


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
