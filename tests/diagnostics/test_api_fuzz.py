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
