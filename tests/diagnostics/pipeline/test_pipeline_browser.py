"""The student's view in Debian's Chromium: click "Run GPU check" on the module page,
a real worker runs the quick check on this CPU machine, and the verdict appears in
place; then a recorded H100 report posted through the API ticks the objective."""

import json
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from diagnostics.models import Report
from tests.diagnostics.pipeline.processes import wait_for
from tests.diagnostics.pipeline.test_pipeline_worker import wait_online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

H100 = Path(__file__).resolve().parents[1] / "fixtures" / "h100_ok.json"


def login(page, client, student, live_server):
    client.force_login(student)
    cookie = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])


def post_report(live_server, token: str, report: dict) -> dict:
    body = json.dumps({"run_id": None, "report": report}).encode()
    request = urllib.request.Request(
        live_server.url + "/api/v1/reports",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_click_shows_needs_work_then_a_gpu_report_verifies_without_a_reload(
    page, client, student, token, module, live_server, redis_broker, start_worker
):
    worker = start_worker(token)
    wait_online(student, worker)
    login(page, client, student, live_server)
    page.goto(f"{live_server.url}/modules/{module.slug}/")
    objective = module.objectives.get(verifier="gpu-env")
    row = page.locator(f"#objective-{objective.pk}")
    page.evaluate("window.__noReload = true")

    row.get_by_role("button", name="Run GPU check").click()
    verdict = row.locator(f"#gpu-verdict-objective-{objective.pk}")
    verdict.wait_for(timeout=90_000)
    stored = Report.objects.get()
    assert verdict.get_attribute("data-met") == "no", worker.output()
    first = row.locator(".next-step--next")
    assert first.get_attribute("data-check") == stored.verdict["next_step"]
    assert stored.next_step["summary"] in first.inner_text()
    assert "Needs work" in row.locator(".status").inner_text()
    assert page.evaluate("window.__noReload") is True

    report = json.loads(H100.read_text())
    # Recorded long ago; probed "now" so it is the newest evidence, as a fresh run would be.
    report["created_at"] = datetime.now(timezone.utc).isoformat()
    answer = post_report(live_server, token, report)
    assert answer["objective_met"] is True
    # The idle panel polls every 10 s: the tick arrives with its next poll, no reload.
    row.locator(".badge--verified", has_text="Verified by evidence").wait_for(timeout=15_000)
    assert page.evaluate("window.__noReload") is True

    # The report page says what changed since the CPU-only report.
    page.goto(f"{live_server.url}/gpu/reports/{report['report_id']}")
    changes = page.locator("#changes").inner_text()
    assert "torch is now a CUDA 12.4 build" in changes or "torch is now a CUDA" in changes
    assert "NVIDIA H100" in page.locator(".facts").inner_text()
    assert Report.objects.count() == 2


def test_the_gpu_page_shows_the_token_once_and_the_worker_going_online(
    page, client, student, module, live_server, redis_broker, start_worker
):
    login(page, client, student, live_server)
    page.goto(f"{live_server.url}/gpu/")
    page.get_by_role("button", name="Create my worker token").click()
    start = page.locator("#start-command").inner_text().strip()
    raw = start.rsplit(" ", 1)[1]
    assert raw.startswith("trw_")
    assert f"python -m diagnostics worker --server {live_server.url} --token {raw}" == start
    assert page.locator("#worker-offline").is_visible()
    page.locator(".token-once .copy-button").first.click()  # so the page may be left
    worker = start_worker(raw)
    page.locator(".worker-online").wait_for(timeout=60_000)
    assert page.locator("#start-command").inner_text().strip() == start  # kept through polls
    page.reload()
    assert page.locator("#start-command").count() == 0  # shown once
    assert raw not in page.content() and "YOUR_TOKEN" not in page.content()
    assert worker.proc.poll() is None
    wait_for(lambda: "Worker online" in page.content(), 5, "online")
