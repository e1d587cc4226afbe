"""The student's journey through the pages, without a browser: the set-up checklist,
the token once inside the start command, the poll's pace, the "do this next" list and
the report page's comparison."""

import html
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from diagnostics import services
from diagnostics.models import CheckRun, WorkerToken
from tests.diagnostics.pipeline.helpers import new_uuid, post_json, submission

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str, **overrides) -> dict:
    report = json.loads((FIXTURES / f"{name}.json").read_text())
    report.update(report_id=new_uuid(), created_at=timezone.now().isoformat(), **overrides)
    return report


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def test_a_new_student_sees_the_checklist_and_a_run_button_that_says_why_it_waits(
    student_client, module
):
    page = text_of(student_client.get(f"/modules/{module.slug}/"))
    assert "Set up your worker" in page and "0 of 5 steps done" in page
    assert "Miniforge3-Windows-x86_64.exe" in page
    assert "Run GPU check" in page and "Set up your worker first" in page
    assert "YOUR_TOKEN" not in page


def test_the_token_made_on_the_module_page_comes_back_there_once_inside_the_start_command(
    student_client, student, module
):
    module_url = f"/modules/{module.slug}/"
    created = student_client.post("/gpu/token", {"action": "create", "next": module_url})
    assert created.status_code == 302 and created["Location"] == module_url
    page = text_of(student_client.get(module_url))
    [raw] = set(re.findall(r"trw_[\w-]{20,}", page))
    assert f"python -m diagnostics worker --server http://testserver --token {raw}" in page
    assert "data-token-once" in page
    stored = WorkerToken.objects.get(student=student)
    assert stored.token_hash == services.hash_token(raw)
    again = text_of(student_client.get(module_url))
    assert raw not in again and "YOUR_TOKEN" not in again and "--token" not in again
    assert "New token and start command" in again  # the offer to rotate
    offsite = student_client.post(
        "/gpu/token", {"action": "rotate", "next": "https://evil.example/"}
    )
    assert offsite["Location"] == "/gpu/"


def test_the_checklist_ticks_from_the_workers_heartbeat(client, student_client, student, token):
    beat = {"state": "idle", "env_kind": "conda", "env_name": "gpu-course", "torch": "2.13.0+cu126"}
    assert post_json(client, "/heartbeat", beat, token).status_code == 200
    page = text_of(student_client.get("/gpu/"))
    assert "5 of 5 steps done" in page
    assert "Seen: your worker runs in the conda env “gpu-course”." in page
    assert "torch 2.13.0+cu126" in page


def test_a_heartbeat_with_a_bad_env_kind_is_400_naming_the_field(client, token):
    response = post_json(client, "/heartbeat", {"env_kind": "docker"}, token)
    assert response.status_code == 400 and "env_kind" in response.content.decode()


@pytest.mark.parametrize(
    ("situation", "every"),
    [
        ("no token", ""),
        ("worker awaited", "3s"),
        ("worker stopped a minute ago", "3s"),
        ("worker stopped an hour ago", "10s"),
        ("token made an hour ago, no worker yet", "10s"),
        ("run pending", "1s"),
        ("idle, needs work", "10s"),
        ("idle, verified", ""),
    ],
)
def test_the_panel_polls_fast_only_while_something_is_pending(
    client, student_client, student, situation, every
):
    if situation != "no token":
        raw = services.token_create(student=student)[1]
    if situation.startswith("idle") or situation == "run pending":
        post_json(client, "/heartbeat", {"state": "idle"}, raw)
    if situation.startswith("worker stopped"):
        post_json(client, "/heartbeat", {"state": "idle"}, raw)
        ago = timedelta(hours=1) if situation.endswith("hour ago") else timedelta(minutes=1)
        WorkerToken.objects.update(last_seen_at=timezone.now() - ago)
    if situation.startswith("token made an hour ago"):
        WorkerToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    if situation == "run pending":
        CheckRun.objects.create(student=student, deadline=timezone.now() + timedelta(minutes=5))
    if situation == "idle, needs work":
        post_json(client, "/reports", submission(fixture("conda_cpuonly")), raw)
    if situation == "idle, verified":
        post_json(client, "/reports", submission(fixture("h100_ok")), raw)
    page = student_client.get("/gpu/")
    assert page.context["poll_every"] == every
    assert (f'hx-trigger="every {every}"' in page.content.decode()) == bool(every)
    poll = student_client.get("/gpu/panel", {"v": page.context["version"]}, HTTP_HX_REQUEST="true")
    assert poll.status_code == (204 if every else 286)  # 286 stops a poller: nothing pending


def test_a_poller_waiting_for_a_worker_that_never_comes_slows_to_the_idle_pace(
    student_client, student
):
    services.token_create(student=student)
    page = student_client.get("/gpu/")
    assert page.context["poll_every"] == "3s"
    WorkerToken.objects.update(created_at=timezone.now() - timedelta(hours=1))
    poll = student_client.get("/gpu/panel", {"v": page.context["version"]}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 302  # the page again, whose poller asks every 10 s
    assert student_client.get(poll["Location"]).context["poll_every"] == "10s"


def test_needs_work_lists_the_next_step_first_with_its_command_and_ends_with_rerun(
    client, student_client, token
):
    post_json(client, "/reports", submission(fixture("conda_cpuonly")), token)
    page = text_of(student_client.get("/gpu/"))
    first = page.index("Do this next:")
    assert page.index("CPU-only conda build", first) < page.index("Restart the worker inside")
    assert page.index("Restart the worker inside") < page.index("Re-run the check from the env")
    assert "conda remove -y --force pytorch cpuonly pytorch-mutex" in page
    assert "`" not in page[first : page.index("Re-run the check")]  # no raw Markdown


def test_the_module_pages_panel_refreshes_the_progress_box_too(student_client, student, module):
    services.token_create(student=student)
    page = student_client.get(f"/modules/{module.slug}/").content.decode()
    assert 'hx-select-oob="#progress:innerHTML"' in page


def test_the_gpu_pages_panel_refreshes_the_run_history_and_the_token_state(student_client):
    page = student_client.get("/gpu/").content.decode()
    assert 'hx-select-oob="#run-history,#worker-token"' in page
    assert 'id="run-history"' in page and 'id="worker-token"' in page


def test_the_report_page_puts_the_next_step_and_failing_checks_first_and_folds_the_skipped(
    client, student_client, token
):
    report = fixture("torch_missing")
    post_json(client, "/reports", submission(report), token)
    page = text_of(student_client.get(f"/gpu/reports/{report['report_id']}"))
    assert "Needs work: torch missing" in page
    headline = page[page.index('id="verdict"') : page.index('id="checks-heading"')]
    assert "Do this next:" in headline and 'python -m pip install "torch==' in headline
    assert page.index("Failed") < page.index("Passed")
    assert "Not checked because torch imports failed: torch missing" in page
    assert "This is your first report" in page


def test_any_two_reports_compare_env_torch_driver_gpu_and_figures(client, student_client, token):
    first, second, third = fixture("h100_ok"), fixture("conda_cpuonly"), fixture("torch_missing")
    for report in (first, second, third):
        post_json(client, "/reports", submission(report), token)
    against_previous = text_of(student_client.get(f"/gpu/reports/{third['report_id']}"))
    assert "conda env “llm”" in against_previous  # the previous one: the CPU-only conda env
    url = f"/gpu/reports/{second['report_id']}"
    against_first = text_of(student_client.get(url, {"compare": first["report_id"]}))
    rows = against_first[against_first.index('class="compare-table"') :]
    for what in ("GPU", "Driver", "torch", "Environment", "matmul-fp32 (cuda)"):
        assert f'<th scope="row">{what}</th>' in rows
    assert "NVIDIA H100 80GB HBM3" in rows and "724.00 TFLOP/s" in rows


def test_comparing_with_a_bad_or_foreign_report_is_a_clear_4xx(
    client, student_client, token, other_token
):
    mine, theirs = fixture("h100_ok"), fixture("conda_cpuonly")
    post_json(client, "/reports", submission(mine), token)
    post_json(client, "/reports", submission(theirs), other_token)
    url = f"/gpu/reports/{mine['report_id']}"
    bad = student_client.get(url, {"compare": "not-a-uuid"})
    assert bad.status_code == 400 and b"compare" in bad.content
    assert student_client.get(url, {"compare": theirs["report_id"]}).status_code == 404


def test_the_tick_square_links_to_the_tick_form(student_client, module):
    page = student_client.get(f"/modules/{module.slug}/").content.decode()
    objective = module.objectives.filter(verifier="").first()
    assert f'<a class="tick" href="#objective-{objective.pk}-scale">' in page
    assert f'id="objective-{objective.pk}-scale"' in page
