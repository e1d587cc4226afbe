"""schemathesis against the worker API's own OpenAPI document, through WSGI.

Generated requests (valid and invalid bodies, headers, path ids) with a real
worker token: no response is a 5xx, and every response matches the document
(status codes, content type, body schema). Examples are bounded per operation.

In CI the run is derandomised (hypothesis derives its examples from the test
itself, no example database), so two runs send the same requests. The longer
random run is perf/api_fuzz.py: it sets TORCHREADY_FUZZ_SEED and
TORCHREADY_FUZZ_EXAMPLES, and what it finds becomes a fixed test
(tests/diagnostics/pipeline/test_api_integrity.py).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from diagnostics import services

pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Like Django's test client: the WSGI calls must not close the test's database
    connection at the end of each request (on PostgreSQL that ends the test's transaction)."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


@pytest.fixture
def bearer(student, settings):
    settings.DIAGNOSTICS_RATE_LIMIT = 1_000_000  # rate limits have their own tests
    return {"Authorization": f"Bearer {services.token_create(student=student)[1]}"}


FUZZ_SEED = os.environ.get("TORCHREADY_FUZZ_SEED")
FUZZ_EXAMPLES = int(os.environ.get("TORCHREADY_FUZZ_EXAMPLES", "20"))


def _seeded(test):
    return seed(int(FUZZ_SEED))(test) if FUZZ_SEED else test


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=FUZZ_SEED is None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@_seeded
def test_the_worker_api_never_fails_and_matches_its_schema(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)


# RabbitMQ's questions (/internal/broker/), fuzzed the same way: a document of
# what the broker sends (form fields, as rabbitmq_auth_backend_http posts them),
# from which schemathesis makes valid and invalid questions. Every answer is a
# 200 with "allow" or "deny", never a 5xx.
BROKER_FIELDS = ("username", "password", "vhost", "resource", "name", "permission")
BROKER_SCHEMA = {
    "openapi": "3.0.3",
    "info": {"title": "TorchReady broker auth (internal)", "version": "1"},
    "paths": {
        "/internal/broker/{kind}": {
            "post": {
                "parameters": [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "enum": ["user", "vhost", "resource", "topic"],
                        },
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    **{field: {"type": "string"} for field in BROKER_FIELDS},
                                    "ip": {"type": "string"},
                                    "routing_key": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "allow or deny",
                        "content": {
                            "text/plain": {"schema": {"type": "string", "enum": ["allow", "deny"]}}
                        },
                    }
                },
            }
        }
    },
}
broker_schema = schemathesis.openapi.from_dict(BROKER_SCHEMA)
broker_schema.app = get_wsgi_application()


@pytest.fixture
def broker_secret(settings, student):
    import base64

    settings.BROKER_AUTH_SECRET = "f" * 40
    services.token_create(student=student)
    return {"Authorization": "Basic " + base64.b64encode(b"broker:" + b"f" * 40).decode()}


@broker_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_broker_auth_endpoints_answer_allow_or_deny_and_never_fail(case, broker_secret):
    response = case.call(headers=broker_secret)
    assert response.status_code == 200, response.text[:300]
    assert response.text in ("allow", "deny")
