"""The worker API's OpenAPI 3.1 document, written by hand around the pydantic schemas."""

from __future__ import annotations

from functools import cache

from diagnostics.agent.worker.protocol import MAX_BODY_BYTES, Claim, Heartbeat, Submission

REF = "#/components/schemas/{model}"


def _schemas() -> dict:
    schemas: dict = {}
    for model in (Submission, Heartbeat, Claim):
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "retry_after": {"type": "integer"},
        },
    }
    return schemas


def _json(ref: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}}


def _errors(*codes: int) -> dict:
    text = {
        400: "Not UTF-8, malformed JSON, a duplicate key, NaN or Infinity, an unknown "
        "schema_version, an invalid field, or a created_at more than 2 days off",
        401: "Absent, unknown or revoked token",
        404: "No such run for this token's student",
        409: "The run is not queued any more, or this report_id came with a different body",
        413: f"Body over {MAX_BODY_BYTES} bytes",
        429: "Rate limited, or the student's daily report quota is used up; see Retry-After",
        503: "The database is unavailable; see Retry-After",
    }
    return {str(code): {"description": text[code], **_json("Error")} for code in codes}


@cache
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TorchReady worker API",
            "version": "1",
            "description": "What a worker calls: configuration, heartbeats, claims, reports.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "components": {
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "A worker token"}
            },
            "schemas": _schemas(),
        },
        "paths": {
            "/config": {
                "get": {
                    "summary": "The broker URL and queue this worker consumes",
                    "responses": {
                        "200": {
                            "description": "Worker configuration",
                            "content": {"application/json": {}},
                        },
                        **_errors(401, 429, 503),
                    },
                }
            },
            "/heartbeat": {
                "post": {
                    "summary": "Say the worker is alive",
                    "requestBody": {"required": True, **_json("Heartbeat")},
                    "responses": {
                        "200": {"description": "Seen"},
                        **_errors(400, 401, 413, 429, 503),
                    },
                }
            },
            "/runs/{run_id}/claim": {
                "post": {
                    "summary": "Take a queued run (once; once more if the broker redelivered it)",
                    "requestBody": {"required": False, **_json("Claim")},
                    "parameters": [
                        {
                            "name": "run_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "Claimed"},
                        **_errors(400, 401, 404, 409, 413, 429, 503),
                    },
                }
            },
            "/reports": {
                "post": {
                    "summary": "Post a diagnostics report; the server judges it",
                    "requestBody": {"required": True, **_json("Submission")},
                    "responses": {
                        "201": {"description": "Stored and judged"},
                        "200": {"description": "The same report again: the stored result"},
                        **_errors(400, 401, 404, 409, 413, 429, 503),
                    },
                }
            },
        },
    }
