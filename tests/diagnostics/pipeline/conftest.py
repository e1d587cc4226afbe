"""Fixtures for the worker-pipeline tests: worker tokens for the two students."""

import pytest

from diagnostics import services


@pytest.fixture
def token(student) -> str:
    return services.token_create(student=student)[1]


@pytest.fixture
def other_token(other_student) -> str:
    return services.token_create(student=other_student)[1]
