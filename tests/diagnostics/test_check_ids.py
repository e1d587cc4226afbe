"""Check ids are an enum: the verdict produces only those, and they serialise as plain strings."""

import json

import pytest
from pydantic import ValidationError

from diagnostics.agent.verdict import REQUIRED, Check, judge
from diagnostics.agent.verdict.ids import CheckId
from tests.diagnostics.reports import fixture_names, fixture_report


@pytest.mark.parametrize("name", fixture_names())
def test_every_check_of_every_fixture_has_an_enum_id_and_a_string_in_json(name):
    verdict = judge(fixture_report(name))
    assert all(type(c.id) is CheckId for c in verdict.checks)
    dumped = verdict.model_dump(mode="json")["checks"]
    assert [c["id"] for c in dumped] == [c.id.value for c in verdict.checks]
    assert json.loads(json.dumps(verdict.model_dump()))["checks"][0]["id"] == dumped[0]["id"]


def test_an_id_reads_as_its_value_in_text_as_the_hints_and_dashboard_need():
    check_id = CheckId.GPU_VISIBLE
    assert (str(check_id), f"{check_id}", f"see {check_id}") == (
        "gpu-visible",
        "gpu-visible",
        "see gpu-visible",
    )


def test_a_check_with_an_unknown_id_is_refused():
    with pytest.raises(ValidationError, match="id"):
        Check(id="gpu-visable", status="pass", summary="")


def test_the_required_checks_are_check_ids():
    assert all(isinstance(i, CheckId) for i in REQUIRED)
