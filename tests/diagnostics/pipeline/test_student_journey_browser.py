"""A new student's whole journey in Debian's Chromium, at 1280 px with every page also
checked at 390 px: sign up, follow the set-up checklist, see a real worker come online,
tick the objective with the tick square, run a check, get "needs work", follow the
next step (stop the worker, fix the env, run again) and be verified by a passing
recorded report posted through the API, all without a reload. axe-core finds no
serious violation on any page on the way, and no page scrolls sideways on a phone."""

import json
import re
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from diagnostics.models import CheckRun
from tests.accessibility import audit, with_axe
from tests.diagnostics.pipeline.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

H100 = Path(__file__).resolve().parents[1] / "fixtures" / "h100_ok.json"
PASSWORD = "a-long-journey-password-7"
RUN_S = 120


def post_report(server: str, token: str, report: dict, run_id: int) -> dict:
    body = json.dumps({"run_id": run_id, "report": report}).encode()
    request = urllib.request.Request(
        server + "/api/v1/reports",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def journey_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    with_axe(page)
    yield page
    context.close()


def test_a_new_student_goes_from_sign_up_to_verified(
    journey_page, live_server, klass, module, redis_broker, start_worker
):
    page, server, problems = journey_page, live_server.url, []

    # Sign up with the class's invite code.
    page.goto(f"{server}/accounts/signup/")
    problems += audit(page)
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Display name").fill("Nia Newcomer")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_label("Invite code").fill(klass.invite_code)
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("Welcome, Nia Newcomer!").wait_for()
    problems += audit(page)

    # The module page: the GPU objective carries the set-up checklist, nothing done yet.
    gpu_objective = module.objectives.get(verifier="gpu-env")
    page.goto(f"{server}/modules/{module.slug}/")
    row = page.locator(f"#objective-{gpu_objective.pk}")
    setup = row.locator(".setup")
    assert "0 of 5 steps done" in setup.inner_text()
    assert (
        row.locator(f"#setup-step-conda-objective-{gpu_objective.pk}").get_attribute("data-state")
        == "next"
    )
    assert row.get_by_role("button", name="Run GPU check").is_disabled()
    problems += audit(page)

    # The shell switch: PowerShell's commands, in place; none uses "&&".
    row.get_by_role("link", name="Windows PowerShell").click()
    conda_step = row.locator(f"#setup-step-conda-objective-{gpu_objective.pk}")
    shown = conda_step.locator(".command:not([hidden]) code").inner_text()
    assert "init powershell" in shown and "&&" not in shown
    row.get_by_role("link", name="Linux / macOS").click()

    # Step 5: create the token; it comes back once, inside the whole start command.
    step5 = row.locator(f"#setup-details-start-objective-{gpu_objective.pk}")
    assert step5.get_attribute("open") is not None  # open while there is no token
    row.get_by_role("button", name="Create my worker token").click()
    row = page.locator(f"#objective-{gpu_objective.pk}")
    start = row.locator(f"#start-command-objective-{gpu_objective.pk}")
    command = start.inner_text().strip()
    raw = re.search(r"--token (trw_[\w-]+)$", command).group(1)

    assert command == f"python -m diagnostics worker --server {server} --token {raw}"
    problems += audit(page)

    # Leaving before copying asks first; after the copy button, the student may go.
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    start.click()  # a user gesture: Chromium asks before unload only after one
    page.evaluate("window.__stay = true")
    page.get_by_role("link", name="My modules").first.click(no_wait_after=True)
    wait_for(lambda: dialogs, 5, "the leave-page question")
    assert dialogs == ["beforeunload"] and page.evaluate("window.__stay") is True
    row.locator(".token-once .copy-button").first.click()
    wait_for(lambda: page.evaluate("navigator.clipboard.readText()") == command, 5, "the copy")
    page.remove_listener("dialog", on_dialog)

    # The student starts the worker; the checklist ticks itself without a reload.
    page.evaluate("window.__noReload = true")
    worker = start_worker(raw)
    start_step = row.locator(f"#setup-step-start-objective-{gpu_objective.pk}")
    wait_for(
        lambda: start_step.get_attribute("data-state") == "done",
        60,
        "step 5 ticking: " + worker.output()[-2000:],
        interval=0.5,
    )
    row = page.locator(f"#objective-{gpu_objective.pk}")
    assert (
        row.locator(f"#setup-step-worker-objective-{gpu_objective.pk}").get_attribute("data-state")
        == "done"
    )
    assert row.locator(".worker-online").is_visible()
    # The token box stayed as it was while the panel refreshed around it.
    assert row.locator(f"#start-command-objective-{gpu_objective.pk}").inner_text() == command

    # The tick square opens the tick form; a tick counts until evidence says otherwise.
    row.get_by_role("link", name=re.compile("^Tick off")).click()
    assert row.locator("details.assess").get_attribute("open") is not None
    row.locator("input[name=confidence][value='3']").check()
    row.get_by_role("button", name="Save").click()
    page.locator("#progress .count", has_text="1 of 3").first.wait_for()

    # Run a check: this CPU machine's real report says needs work, and everything updates.
    row = page.locator(f"#objective-{gpu_objective.pk}")
    row.get_by_role("button", name="Run GPU check").click()
    verdict = page.locator(f"#gpu-verdict-objective-{gpu_objective.pk}")
    verdict.wait_for(timeout=RUN_S * 1000)
    assert verdict.get_attribute("data-met") == "no", worker.output()[-3000:]
    row = page.locator(f"#objective-{gpu_objective.pk}")
    assert "Needs work" in row.locator(".status").inner_text()
    # The tick no longer counts: the evidence says otherwise.
    page.locator("#progress .count", has_text="0 of 3").first.wait_for()
    next_step = row.locator(".next-step--next")
    assert "Do this next:" in next_step.inner_text()
    assert next_step.locator("details").get_attribute("open") is not None
    folded = row.locator(".next-step:not(.next-step--next) details")
    assert folded.count() >= 1 and all(
        folded.nth(i).get_attribute("open") is None for i in range(folded.count())
    )
    assert "Re-run the check from the env you fixed" in row.locator(".next-steps").inner_text()
    assert "`" not in row.locator(".next-steps").inner_text()
    report_link = row.locator(".report-link").get_attribute("href")
    assert page.evaluate("window.__noReload") is True
    problems += audit(page)

    # Follow the next step: stop the worker, fix the env, run the check again from it.
    # This machine has no GPU to fix; the report from the fixed env is a recorded one.
    worker.kill()
    row.locator(".worker-offline").wait_for(timeout=30_000)
    row.get_by_role("button", name="Run GPU check").click()
    row = page.locator(f"#objective-{gpu_objective.pk}")
    row.get_by_text("queued").wait_for()
    run = CheckRun.objects.filter(state=CheckRun.State.QUEUED).get()
    report = json.loads(H100.read_text())
    report["created_at"] = datetime.now(timezone.utc).isoformat()
    assert post_report(server, raw, report, run.pk)["objective_met"] is True

    row.locator(".badge--verified", has_text="Verified by evidence").wait_for(timeout=15_000)
    page.locator("#progress .count", has_text="1 of 3").first.wait_for()
    assert (
        page.locator(f"#gpu-verdict-objective-{gpu_objective.pk}").get_attribute("data-met")
        == "yes"
    )
    assert page.evaluate("window.__noReload") is True
    # Verified and nothing pending: the panel stops polling.
    assert page.locator(f"#gpu-panel-objective-{gpu_objective.pk}").get_attribute("hx-get") is None
    problems += audit(page)

    # The GPU page: run history with both reports; the report pages read at a glance.
    page.goto(f"{server}/gpu/")
    history = page.locator("#run-history").inner_text()
    assert "needs work" in history and "verified" in history
    problems += audit(page)
    page.goto(server + report_link)
    assert "Needs work:" in page.locator("#verdict").inner_text()
    problems += audit(page)
    page.goto(f"{server}/gpu/reports/{report['report_id']}")
    assert "Verified" in page.locator("#verdict").inner_text()
    assert "NVIDIA H100" in page.locator("#compare").inner_text()
    problems += audit(page)

    assert not problems, "\n".join(problems)


def test_the_gpu_pages_run_history_and_report_link_follow_a_run_without_a_reload(
    journey_page, live_server, client, student, token, redis_broker
):
    page, server = journey_page, live_server.url
    client.force_login(student)
    cookie = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": server}])
    page.goto(f"{server}/gpu/")
    assert "No checks yet." in page.locator("#run-history").inner_text()
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Run GPU check").click()
    page.locator("#run-history").get_by_text("Queued").wait_for()
    run = CheckRun.objects.get()
    report = json.loads(H100.read_text())
    report["created_at"] = datetime.now(timezone.utc).isoformat()
    post_report(server, token, report, run.pk)
    page.locator("#run-history").get_by_role("link", name="verified").wait_for()
    link = page.locator("#gpu-panel .report-link").get_attribute("href")
    assert link == f"/gpu/reports/{report['report_id']}"
    assert page.evaluate("window.__noReload") is True
    assert not audit(page)


def test_the_tick_square_opens_the_tick_form_without_javascript(
    browser, live_server, client, student, module
):
    context = browser.new_context(java_script_enabled=False)
    client.force_login(student)
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/modules/{module.slug}/")
    objective = module.objectives.filter(verifier="").first()
    row = page.locator(f"#objective-{objective.pk}")
    assert row.locator("details.assess").get_attribute("open") is None
    row.get_by_role("link", name=re.compile("^Tick off")).click()
    assert row.locator(f"#objective-{objective.pk}-scale").is_visible()
    context.close()


def test_every_student_page_passes_axe_and_fits_a_phone(
    journey_page, live_server, client, student, token, klass, module
):
    """The pages a student sees, anonymous and logged in, with a needs-work and a
    verified report on file: no serious axe violation at 1280 or 390 px, no sideways scroll."""
    page, server = journey_page, live_server.url
    reports = []
    for name in ("conda_cpuonly", "h100_ok"):
        report = json.loads((H100.parent / f"{name}.json").read_text())
        report["created_at"] = datetime.now(timezone.utc).isoformat()
        post_report(server, token, report, None)
        reports.append(report["report_id"])
    problems = []
    for path in ("/", "/accounts/login/", "/accounts/signup/"):
        page.goto(server + path)
        problems += audit(page)
    client.force_login(student)
    cookie = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": server}])
    for path in (
        "/",
        "/modules/",
        "/join/",
        f"/modules/{module.slug}/",
        "/gpu/",
        *(f"/gpu/reports/{r}" for r in reports),
    ):
        page.goto(server + path)
        problems += audit(page)
    assert not problems, "\n".join(problems)
