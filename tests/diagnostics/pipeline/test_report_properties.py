"""Property tests for the report validator behind POST /api/v1/reports.

Any JSON a worker (or a student posing as one) can send gets a 2xx or a 4xx,
never a crash; and whatever is accepted is shown escaped on the report page.
"""

import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics.models import Report
from tests.diagnostics.pipeline.helpers import new_uuid, post_json, report_dict, submission

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "javascript:alert(1)",
        "</td><style>*{}</style>",
        "=cmd|' /C calc'!A0",
        "\u202e\x00",
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | HOSTILE,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ACCEPTED_OR_REFUSED = {200, 201, 400, 404, 409, 413}


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    settings.DIAGNOSTICS_RATE_LIMIT = 1_000_000


def _paths(data, prefix=()):
    """Every (path, value) in a report, so a property can replace any of them."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _replace(data, path, value):
    if not path:
        return value
    data[path[0]] = _replace(data[path[0]], path[1:], value)
    return data


BODY_PATHS = list(_paths(submission()))


@SETTINGS
@given(path=st.sampled_from(BODY_PATHS), value=JSON)
def test_any_value_anywhere_in_a_report_gets_a_2xx_or_a_4xx(client, token, path, value):
    body = _replace(submission(report_dict(report_id=new_uuid())), path, value)
    response = post_json(client, "/reports", body, token)
    assert response.status_code in ACCEPTED_OR_REFUSED, response.content[:500]
    assert response["Content-Type"] == "application/json"
    if response.status_code == 400:
        assert response.json()["error"]


@SETTINGS
@given(raw=st.binary(max_size=300) | JSON.map(json.dumps))
def test_any_bytes_get_a_4xx_or_a_2xx(client, token, raw):
    response = client.post(
        "/api/v1/reports",
        data=raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code in ACCEPTED_OR_REFUSED


@SETTINGS
@given(text=HOSTILE, where=st.sampled_from(["tool_version", "findings"]))
def test_hostile_strings_in_an_accepted_report_are_shown_escaped(
    client, student, token, text, where
):
    report = report_dict(report_id=new_uuid())
    report[where] = [text] if where == "findings" else text
    response = post_json(client, "/reports", submission(report), token)
    if response.status_code != 201:
        return  # refused: nothing to show
    client.force_login(student)
    stored = Report.objects.get(report_id=report["report_id"])
    page = client.get(reverse("diagnostics:report_detail", args=[stored.report_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<style>*" not in html
