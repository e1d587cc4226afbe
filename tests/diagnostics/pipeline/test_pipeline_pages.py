"""The student's GPU page, the panel's poll, the report page and the worker wheel."""

import hashlib
import html
import io
import json
import os
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from diagnostics import packaging, services
from diagnostics.agent.report import Report as AgentReport
from diagnostics.models import CheckRun, WorkerToken
from diagnostics.tasks import sweep_stale_runs
from tests.diagnostics.pipeline.helpers import fixture_dict, post_json, report_dict, submission

pytestmark = pytest.mark.django_db
H100 = Path(__file__).resolve().parents[1] / "fixtures" / "h100_ok.json"


def test_the_gpu_page_needs_a_login(client):
    response = client.get("/gpu/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_new_token_is_shown_once_and_stored_only_hashed(student_client, student):
    response = student_client.post("/gpu/token", {"action": "create"}, follow=True)
    raw = response.context["new_token"]
    assert raw and raw in response.content.decode()
    stored = WorkerToken.objects.get(student=student)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(list(WorkerToken.objects.values()), default=str)
    again = student_client.get("/gpu/")
    assert raw not in again.content.decode()
    assert stored.prefix in again.content.decode()


def test_rotating_revokes_the_old_token(student_client, student):
    student_client.post("/gpu/token", {"action": "create"})
    student_client.post("/gpu/token", {"action": "rotate"})
    assert WorkerToken.objects.filter(student=student).count() == 2
    assert WorkerToken.objects.filter(student=student, revoked_at__isnull=True).count() == 1


def test_revoking_leaves_no_active_token(student_client, student):
    student_client.post("/gpu/token", {"action": "create"})
    student_client.post("/gpu/token", {"action": "revoke"})
    assert not WorkerToken.objects.filter(student=student, revoked_at__isnull=True).exists()


def test_the_page_shows_the_exact_install_and_start_commands(student_client, student):
    response = student_client.post("/gpu/token", {"action": "create"}, follow=True)
    page = html.unescape(response.content.decode())
    raw = response.context["new_token"]
    wheel = f"http://testserver/worker/{packaging.wheel_filename()}"
    assert f'python -m pip install "{wheel}"' in page
    assert f"python -m diagnostics worker --server http://testserver --token {raw}" in page
    assert f"python -m diagnostics check --post http://testserver --token {raw}" in page


def test_the_panel_answers_204_while_nothing_changed_and_the_page_when_it_did(
    student_client, student, settings
):
    services.token_create(student=student)
    page = student_client.get("/gpu/")
    version = page.context["version"]
    poll = student_client.get("/gpu/panel", {"v": version}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204
    run = CheckRun.objects.create(
        student=student, state="failed", reason="timeout", deadline=timezone.now()
    )
    poll = student_client.get("/gpu/panel", {"v": version}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 302 and poll["Location"] == "/gpu/"  # htmx picks the panel
    assert "ran past its time limit" in student_client.get(poll["Location"]).content.decode()
    moved = student_client.get(
        "/gpu/panel", {"v": version, "next": "/modules/x/"}, HTTP_HX_REQUEST="true"
    )
    assert moved.status_code == 302 and moved["Location"] == "/modules/x/"
    offsite = student_client.get("/gpu/panel", {"v": "", "next": "https://evil.example/"})
    assert offsite["Location"] == "/gpu/"
    assert run.pk


def test_a_run_past_its_deadline_shows_as_over_but_only_beats_sweep_records_it(
    student_client, student
):
    run = CheckRun.objects.create(
        student=student, state="queued", deadline=timezone.now() - timedelta(seconds=1)
    )
    page = student_client.get("/gpu/").content.decode()
    student_client.get("/gpu/panel", HTTP_HX_REQUEST="true")
    assert "did not finish in time" in page and "no worker picked it up" in page
    run.refresh_from_db()
    assert run.state == "queued"  # a GET never writes
    assert sweep_stale_runs() == 1
    run.refresh_from_db()
    assert (run.state, run.reason) == ("expired", "no_worker")


def test_the_module_page_shows_the_gpu_panel_in_the_verifier_objective(
    student_client, student, module
):
    services.token_create(student=student)
    page = student_client.get(f"/modules/{module.slug}/").content.decode()
    objective = module.objectives.get(verifier="gpu-env")
    assert f'id="gpu-panel-objective-{objective.pk}"' in page
    assert f'hx-select="#objective-{objective.pk}"' in page
    assert page.count("Run GPU check") == 1


def test_the_report_page_shows_checks_facts_bench_and_what_changed(
    client, student_client, student, token
):
    post_json(client, "/reports", submission(), token)
    h100 = fixture_dict("h100_ok")
    post_json(client, "/reports", submission(h100), token)
    page = student_client.get(f"/gpu/reports/{h100['report_id']}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Verified: PyTorch runs on your GPU" in text
    assert "torch is now a CUDA" in text
    assert "NVIDIA H100" in text
    assert '<meter min="0" max="100" value="76"' in text and "75.9 % of peak" in text
    assert '<table class="facts">' in text


def test_the_report_page_and_the_panel_show_the_verdicts_next_step(
    client, student_client, student, token
):
    from diagnostics.agent.verdict import judge
    from diagnostics.models import Report

    # A venv on a machine whose driver is missing: the driver comes first, the venv after.
    h100 = fixture_dict("h100_ok")
    h100["report_id"] = "5a2b3c4d-0000-4000-8000-000000000013"
    h100["env"] = {**h100["env"], "kind": "venv", "conda_env_name": None}
    h100["nvml"] = {"available": False, "error": "NVMLError_LibraryNotFound", "devices": []}
    h100["torch"] = {**h100["torch"], "cuda_available": False, "device_count": 0, "devices": []}
    h100["correctness"], h100["bench"] = [], None
    post_json(client, "/reports", submission(h100), token)
    stored = Report.objects.get(report_id=h100["report_id"])
    assert stored.verdict["next_step"] == "driver-present"
    expected = judge(AgentReport.model_validate(h100)).next_check()
    page = html.unescape(student_client.get(f"/gpu/reports/{h100['report_id']}").content.decode())
    headline = page[page.index('id="verdict"') : page.index('id="checks-heading"')]
    assert f"Needs work: {expected.summary}" in headline and "Do this next:" in headline
    failed = page[page.index('id="checks-heading"') :]
    assert failed.index(expected.summary) < failed.index("a venv is active")
    assert "Not checked because NVIDIA driver failed: " + expected.summary in page
    panel = student_client.get("/gpu/").content.decode()
    first = panel[panel.index("next-step--next") :]
    assert 'data-check="driver-present"' in first[:200]
    assert panel.index("Do this next:") < panel.index(expected.summary) < panel.index("a venv is")


def test_another_students_report_is_404(client, student_client, other_token):
    report = report_dict()
    post_json(client, "/reports", submission(report), other_token)
    assert student_client.get(f"/gpu/reports/{report['report_id']}").status_code == 404


def test_the_worker_wheel_ships_the_agent_package_and_nothing_else(client):
    response = client.get(f"/worker/{packaging.wheel_filename()}")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "diagnostics/agent/worker/app.py" in names and "diagnostics/agent/report.py" in names
    assert "diagnostics/agent/cli.py" in names and "diagnostics/agent/verdict/__init__.py" in names
    code = [n for n in names if ".dist-info/" not in n]
    stray = [
        n
        for n in code
        if not n.startswith("diagnostics/agent/")
        and n not in ("diagnostics/__init__.py", "diagnostics/__main__.py")
    ]
    assert stray == []
    assert client.get("/worker/other.whl").status_code == 404


# Imports every module of the installed wheel by walking its package, so a module
# added to the agent is covered without naming it here.
IMPORT_ALL = """
import importlib, pkgutil, sys
import diagnostics.agent as agent
names = [m.name for m in pkgutil.walk_packages(agent.__path__, "diagnostics.agent.")]
for name in names:
    importlib.import_module(name)
assert "django" not in sys.modules and "learning" not in sys.modules
print(sys.version_info[:2] == (3, 10), len(names), agent.__file__)
"""


@pytest.mark.slow
def test_the_served_wheel_installs_on_python_310_and_every_module_imports_without_django(
    client, tmp_path
):
    python = os.environ.get("TORCHREADY_WORKER_PYTHON")
    if not python:
        pytest.skip("bin/test provides the Python 3.10 worker-only venv (TORCHREADY_WORKER_PYTHON)")
    wheel = tmp_path / packaging.wheel_filename()
    wheel.write_bytes(client.get(f"/worker/{packaging.wheel_filename()}").content)
    target = tmp_path / "site"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=120,
    )
    no_django = subprocess.run(
        [python, "-c", "import django"], capture_output=True, text=True, cwd=tmp_path
    )
    assert no_django.returncode != 0  # the worker venv really has no Django
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [python, "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    is_310, count, location = done.stdout.split(maxsplit=2)
    assert is_310 == "True"
    assert int(count) >= 20  # probe, bench, verdict, worker and their modules
    assert location.strip() == str(target / "diagnostics" / "agent" / "__init__.py")
    usage = subprocess.run(
        [python, "-m", "diagnostics", "worker", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert usage.returncode == 0 and "--server" in usage.stdout
