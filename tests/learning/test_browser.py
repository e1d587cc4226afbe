"""In a real browser (Debian's Chromium): log in, tick an objective through htmx, reload."""

import re

import pytest
from django.core.management import call_command

from learning.models import ObjectiveProgress

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_student(settings, tmp_path, module):
    settings.VAR_DIR = tmp_path
    call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115
    line = (tmp_path / "demo-accounts.txt").read_text().splitlines()
    return dict(entry.split() for entry in line)["student"]


def log_in(page, live_server, password):
    page.goto(f"{live_server.url}/modules/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("student")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My modules").wait_for()


def test_a_student_ticks_an_objective_with_confidence_4_and_it_is_kept(
    page, live_server, demo_student, module
):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, demo_student)
    page.get_by_role("link", name=module.title).click()
    objective = module.objectives.filter(archived_at__isnull=True).order_by("order").first()
    row = page.locator(f"#objective-{objective.pk}")

    row.get_by_text("Tick it off").click()
    row.get_by_role("group", name=re.compile("How confident")).get_by_label("4").check()
    row.get_by_label("Reflection").fill("conda create -n gpu pytorch")
    with page.expect_response(re.compile(r"/save/$")) as response:
        row.get_by_role("button", name="Save").click()
    assert response.value.request.headers.get("hx-request") == "true"  # swapped, no reload
    row.get_by_text("Saved.").wait_for()
    assert page.locator("#progress .count", has_text="1 of 3").is_visible()

    page.reload()
    row = page.locator(f"#objective-{objective.pk}")
    assert row.get_by_text("Self-assessed, not yet verified").is_visible()
    assert row.get_by_text("Your confidence: 4 of 5").is_visible()
    assert row.locator(".reflection", has_text="conda create -n gpu pytorch").is_visible()
    assert ObjectiveProgress.objects.get(objective=objective).confidence == 4
    assert errors == []


def test_an_error_comes_back_in_place_with_the_input_kept_and_a_resource_ticks(
    page, live_server, demo_student, module
):
    log_in(page, live_server, demo_student)
    page.goto(f"{live_server.url}/modules/{module.slug}/")
    objective = module.objectives.filter(archived_at__isnull=True).order_by("order").first()
    row = page.locator(f"#objective-{objective.pk}")
    row.get_by_text("Tick it off").click()
    row.get_by_role("button", name="Save").click()  # no confidence: the browser stops it
    assert row.locator("input:invalid").count() == 5

    # Past the browser's check, the server answers 400 and htmx swaps the row in.
    row.locator("input[type=radio]").evaluate_all("els => els.forEach(e => e.required = false)")
    row.get_by_label("Reflection").fill("half done")
    with page.expect_response(re.compile(r"/save/$")) as response:
        row.get_by_role("button", name="Save").click()
    assert response.value.status == 400
    row.get_by_text("Choose how confident you are").wait_for()
    assert row.get_by_label("Reflection").input_value() == "half done"
    assert not ObjectiveProgress.objects.exists()

    resource = module.resources.get(title="Deep Learning with PyTorch")
    with page.expect_response(re.compile(r"/done/$")):
        page.locator(f"#resource-{resource.pk}-done").check()
    page.locator(f"#resource-{resource.pk}.is-done").wait_for()
    page.locator("#progress .count", has_text="1 of 4").wait_for()
    assert page.locator(f"#resource-{resource.pk}-done").is_checked()
