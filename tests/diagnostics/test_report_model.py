"""The report model is strict enough for the server to validate what workers post."""

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from diagnostics.agent.report import Report

from .reports import ROOT, fixture_report, run_cli

SCHEMA = ROOT / "docs" / "report.schema.json"


def test_the_committed_json_schema_is_up_to_date():
    committed = json.loads(Path(SCHEMA).read_text())
    assert committed == Report.model_json_schema(), (
        "regenerate: python -m diagnostics schema > docs/report.schema.json"
    )


@pytest.mark.slow
def test_the_schema_command_prints_the_same_schema():
    done = run_cli("schema")
    assert done.returncode == 0
    assert json.loads(done.stdout) == json.loads(SCHEMA.read_text())


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_rates_are_rejected(bad):
    data = fixture_report("h100_ok").model_dump(mode="json")
    data["bench"]["results"][0]["median"] = bad
    with pytest.raises(ValidationError, match="finite"):
        Report.model_validate(data)


def test_non_finite_numbers_in_posted_json_are_rejected():
    text = fixture_report("h100_ok").model_dump_json().replace('"wall_s":11.8', '"wall_s":NaN')
    with pytest.raises(ValidationError):
        Report.model_validate_json(text)


def test_overlong_strings_and_lists_and_unknown_fields_are_rejected():
    base = fixture_report("h100_ok").model_dump(mode="json")
    cases = [
        ("host", {**base["host"], "cpu_model": "x" * 201}),
        ("findings", [{"section": "s", "code": "c", "message": ""}] * 101),
        ("torch", {**base["torch"], "secret": "y"}),
    ]
    for field, value in cases:
        with pytest.raises(ValidationError, match=field):
            Report.model_validate({**base, field: value})


def test_a_report_needs_a_known_schema_version_and_a_uuid():
    base = fixture_report("h100_ok").model_dump(mode="json")
    with pytest.raises(ValidationError, match="schema_version"):
        Report.model_validate({**base, "schema_version": "2"})
    with pytest.raises(ValidationError, match="report_id"):
        Report.model_validate({**base, "report_id": "not-a-uuid"})


def test_an_empty_report_is_valid_so_a_crashed_probe_still_reports():
    report = Report()
    assert report.schema_version == "1" and report.report_id.version == 4
    assert Report.model_validate_json(report.model_dump_json()) == report


def test_a_full_recorded_report_is_far_below_the_servers_256_kib_limit():
    assert len(fixture_report("h100_ok").model_dump_json()) < 32 * 1024
