"""The worker's other endpoints: config, heartbeat, claim, and the OpenAPI document."""

from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics import selectors
from diagnostics.models import CheckRun, WorkerToken
from tests.diagnostics.pipeline.helpers import post_json

pytestmark = pytest.mark.django_db


def make_run(student, state=CheckRun.State.QUEUED, deadline=timedelta(minutes=5)) -> CheckRun:
    return CheckRun.objects.create(student=student, state=state, deadline=timezone.now() + deadline)


def test_config_gives_the_broker_and_the_students_own_queue(client, student, token, settings):
    response = client.get("/api/v1/config", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    config = response.json()
    assert config["queue"] == f"{settings.DIAGNOSTICS_QUEUE_PREFIX}{student.pk}"
    assert config["broker_url"] == settings.TORCHREADY_WORKER_BROKER_URL
    assert config["task"] == "torchready.run_check"


def test_config_needs_a_token(client):
    assert client.get("/api/v1/config").status_code == 401


def test_a_heartbeat_marks_the_worker_online(client, student, token):
    assert not selectors.worker_online(token=selectors.token_current(student=student))
    response = post_json(client, "/heartbeat", {"worker_version": "0.1.0", "state": "idle"}, token)
    assert response.status_code == 200
    current = selectors.token_current(student=student)
    assert selectors.worker_online(token=current)
    assert current.last_seen_info["worker_version"] == "0.1.0"


def test_a_worker_is_offline_after_three_silent_intervals(student, token, settings):
    current = WorkerToken.objects.get(student=student)
    current.last_seen_at = timezone.now() - timedelta(
        seconds=3 * settings.DIAGNOSTICS_HEARTBEAT_INTERVAL + 1
    )
    assert not selectors.worker_online(token=current)


def test_a_bad_heartbeat_is_400_naming_the_field(client, token):
    response = post_json(client, "/heartbeat", {"state": "dancing"}, token)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "state"


def test_a_run_is_claimed_once(client, student, token):
    run = make_run(student)
    first = post_json(client, f"/runs/{run.pk}/claim", b"", token)
    second = post_json(client, f"/runs/{run.pk}/claim", b"", token)
    assert (first.status_code, second.status_code) == (200, 409)
    assert first.json()["claimed"] is True
    assert second.json()["state"] == "running"
    run.refresh_from_db()
    assert run.state == CheckRun.State.RUNNING and run.claimed_at is not None


def test_claiming_another_students_run_is_404(client, other_student, token):
    theirs = make_run(other_student)
    assert post_json(client, f"/runs/{theirs.pk}/claim", b"", token).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == CheckRun.State.QUEUED


def test_a_run_past_its_deadline_cannot_be_claimed(client, student, token):
    run = make_run(student, deadline=-timedelta(seconds=1))
    assert post_json(client, f"/runs/{run.pk}/claim", b"", token).status_code == 409


def test_openapi_embeds_the_report_schema_and_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/config", "/heartbeat", "/runs/{run_id}/claim", "/reports"}
    schemas = doc["components"]["schemas"]
    assert {"Submission", "Report", "TorchInfo", "Heartbeat", "Error"} <= set(schemas)
    assert schemas["Report"]["properties"]["schema_version"]["const"] == "1"
    for code in ("400", "401", "404", "409", "413", "429"):
        assert code in doc["paths"]["/reports"]["post"]["responses"]
    # Every $ref points at a schema that is there.
    refs = _refs(doc)
    assert refs
    for ref in refs:
        assert ref.split("/")[-1] in schemas, ref


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []
