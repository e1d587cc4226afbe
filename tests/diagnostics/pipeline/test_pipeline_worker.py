"""End to end with real components: the live server, a real Redis broker (or the
filesystem broker of the embedded default) and a worker started with the CLI,
which runs the real quick check on this CPU-only machine."""

import json
import re
import signal
import sys
import textwrap

import pytest

from diagnostics import selectors, services
from diagnostics.agent.worker import runner
from diagnostics.models import CheckRun, Report
from learning.models import ObjectiveProgress
from tests.diagnostics.pipeline.processes import Proxy, wait_for
from tests.diagnostics.reports import judged_with_an_nvidia_gpu

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ONLINE_S = 60  # a cold start imports Celery and fetches the config
RUN_S = 90  # the quick check imports torch, which takes seconds on a busy machine


def click_run(client, student) -> CheckRun:
    client.force_login(student)
    response = client.post("/gpu/runs", {"mode": "quick"})
    assert response.status_code == 302
    return CheckRun.objects.filter(student=student).latest("created_at")


def wait_online(student, worker):
    def online():
        assert worker.proc.poll() is None, worker.output()
        return selectors.worker_online(token=selectors.token_current(student=student))

    wait_for(online, ONLINE_S, "the worker's first heartbeat")


def wait_final(run: CheckRun, worker=None, timeout: float = RUN_S) -> CheckRun:
    def final():
        run.refresh_from_db()
        return not run.is_active

    try:
        wait_for(final, timeout, f"run {run.pk} to end")
    except AssertionError:
        raise AssertionError(
            f"run stuck in {run.state}\n{worker.output() if worker else ''}"
        ) from None
    return run


def test_a_click_runs_the_check_on_the_worker_and_marks_needs_work(
    client, student, token, module, redis_broker, start_worker, tmp_path
):
    worker = start_worker(token)
    wait_online(student, worker)
    run = wait_final(click_run(client, student), worker)
    assert run.state == CheckRun.State.POSTED, (run.reason, run.detail, worker.output())
    report = Report.objects.get(run=run)
    # This test machine has no NVIDIA GPU: that is the verdict's next step, and the
    # CPU-only torch is what the rules find below it.
    assert report.verdict["next_step"] == "gpu-present"
    cuda_build = judged_with_an_nvidia_gpu(report.facts)["torch-cuda-build"]
    assert cuda_build["status"] == "fail" and "CPU-only" in cuda_build["summary"]
    assert cuda_build["hint"]
    progress = wait_for(
        lambda: ObjectiveProgress.objects.filter(
            student=student, objective__verifier="gpu-env"
        ).first(),
        10,
        "the evidence",
    )
    assert progress.evidence == ObjectiveProgress.Evidence.NEEDS_WORK
    # Nothing is left in the spool once the server has the report: the worker
    # removes its copy after the server's answer, which can come after the evidence.
    spool = tmp_path / "spool"
    wait_for(lambda: not list(spool.glob("*.json")), 10, "the worker to empty its spool")
    assert worker.proc.poll() is None


def test_a_report_posted_while_the_server_is_down_arrives_when_it_is_back(
    client, student, token, module, redis_broker, start_worker, live_server, tmp_path
):
    host, port = live_server.thread.host, live_server.thread.port
    proxy = Proxy((host, port))
    proxy.up()
    worker = start_worker(token, server=proxy.url)
    wait_online(student, worker)
    run = click_run(client, student)
    wait_for(lambda: CheckRun.objects.get(pk=run.pk).state == "running", RUN_S, "the claim")
    proxy.down()
    spool = tmp_path / "spool"
    wait_for(lambda: list(spool.glob("*.json")), RUN_S, "the report in the spool", interval=0.2)
    assert "not delivered" in wait_for(
        lambda: "not delivered" in worker.output() and worker.output(), 30, "a failed post"
    )
    run.refresh_from_db()
    assert run.state == CheckRun.State.RUNNING and not Report.objects.exists()
    proxy.up()
    run = wait_final(run, worker)
    assert run.state == CheckRun.State.POSTED
    assert Report.objects.filter(run=run).count() == 1
    wait_for(lambda: not list(spool.glob("*.json")), 30, "the spool to empty")
    proxy.down()


def test_a_worker_killed_mid_run_never_leaves_the_run_stuck(
    client, student, token, module, redis_broker, start_worker, settings
):
    settings.DIAGNOSTICS_CHECK_TIMEOUT = 30
    settings.DIAGNOSTICS_RUN_GRACE = 0
    worker = start_worker(token)
    wait_online(student, worker)
    run = click_run(client, student)
    wait_for(lambda: CheckRun.objects.get(pk=run.pk).state == "running", RUN_S, "the claim")
    worker.kill(signal.SIGKILL)
    run.refresh_from_db()
    assert run.state == CheckRun.State.RUNNING
    # Past its deadline beat's sweep fails it as lost (pages show it over, never write).
    CheckRun.objects.filter(pk=run.pk).update(deadline=run.claimed_at)
    assert services.runs_sweep_stale() == 1
    run.refresh_from_db()
    assert (run.state, run.reason) == (CheckRun.State.FAILED, CheckRun.Reason.WORKER_LOST)
    # A new worker takes the next click; the lost run's redelivery would find it taken.
    worker = start_worker(token)
    wait_online(student, worker)
    assert wait_final(click_run(client, student), worker).state == CheckRun.State.POSTED


def test_a_check_that_hangs_in_torch_reports_it_within_the_time_limit_and_the_worker_lives_on(
    client, student, token, module, redis_broker, start_worker, settings, tmp_path
):
    """The run's limit reaches the check (runner.BUDGET_SHARE of it), which kills its
    hung torch child in time to post a report that names the stage."""
    settings.DIAGNOSTICS_CHECK_TIMEOUT = 20
    fake = tmp_path / "hang" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("import time\ntime.sleep(600)\n")
    worker = start_worker(token, env={"PYTHONPATH": f"{tmp_path / 'hang'}:{worker_root()}"})
    wait_online(student, worker)
    run = wait_final(click_run(client, student), worker)
    assert run.state == CheckRun.State.POSTED, (run.reason, run.detail, worker.output())
    report = Report.objects.get(run=run)
    findings = json.dumps(report.facts["findings"])
    # Killed within the check's share of the limit (less what starting it took).
    hung = re.search(r"torch: hung for (\d+) s and was killed", findings)
    assert hung and 1 <= int(hung[1]) <= 20 * runner.BUDGET_SHARE, findings
    assert worker.proc.poll() is None
    assert selectors.worker_online(token=selectors.token_current(student=student))


def test_a_segfault_in_torch_becomes_a_finding_in_a_posted_report(
    client, student, token, module, redis_broker, start_worker, tmp_path
):
    fake = tmp_path / "crash" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            sys.stderr.write("CUDA error: an illegal memory access was encountered\\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGSEGV)
            """
        )
    )
    worker = start_worker(token, env={"PYTHONPATH": f"{tmp_path / 'crash'}:{worker_root()}"})
    wait_online(student, worker)
    run = wait_final(click_run(client, student), worker)
    # The check survives its own torch's crash (issue 13): the run posts a full report
    # whose torch section names the signal and torch's last words.
    assert run.state == CheckRun.State.POSTED, (run.reason, run.detail, worker.output())
    report = Report.objects.get(run=run)
    error = report.facts["torch"]["import_error"]
    assert "killed by SIGSEGV" in error and "illegal memory access" in error
    assert report.outcome == "completed"
    assert worker.proc.poll() is None


def test_redis_down_when_the_student_clicks_gives_a_clear_message_not_a_500(
    client, student, token, module, redis_broker, settings
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    client.force_login(student)
    response = client.post("/gpu/runs", {"mode": "quick"}, follow=True)
    assert response.status_code == 200
    run = CheckRun.objects.get(student=student)
    assert (run.state, run.reason) == (CheckRun.State.FAILED, CheckRun.Reason.BROKER_DOWN)
    assert "job queue could not be reached" in response.content.decode()
    htmx = client.post("/gpu/runs", {"mode": "quick"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 302  # htmx follows it and picks the panel from the page
    panel = client.get(htmx["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "job queue could not be reached" in panel


def test_the_embedded_default_filesystem_broker_verifies_end_to_end(
    client, student, token, module, filesystem_broker, start_worker
):
    worker = start_worker(token)
    wait_online(student, worker)
    run = wait_final(click_run(client, student), worker)
    assert run.state == CheckRun.State.POSTED, (run.reason, run.detail, worker.output())
    assert wait_for(
        lambda: ObjectiveProgress.objects.filter(student=student, evidence__gt="").exists(),
        10,
        "evidence",
    )


def test_a_spooled_report_from_a_failed_one_shot_post_is_resent_when_the_worker_starts(
    student, token, module, live_server, redis_broker, start_worker, tmp_path
):
    import subprocess

    from tests.diagnostics.pipeline.processes import ROOT, free_port

    spool = tmp_path / "spool"
    dead = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "diagnostics",
            "check",
            "--quick",
            "--no-bench",
            "--post",
            dead,
            "--token",
            token,
            "--spool",
            str(spool),
            "--post-deadline",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert len(list(spool.glob("*.json"))) == 1
    start_worker(token, spool=spool)
    wait_for(lambda: Report.objects.filter(student=student).exists(), ONLINE_S, "the resent report")
    # The file goes only after the 2xx has come back to the worker.
    wait_for(lambda: not list(spool.glob("*.json")), 10, "the spool to empty")


def worker_root() -> str:
    from tests.diagnostics.pipeline.processes import ROOT

    return str(ROOT)


def test_the_enqueued_task_carries_only_the_run_id_and_mode(
    client, student, token, module, redis_broker, settings
):
    import base64
    import json

    import redis

    run = click_run(client, student)
    queue = f"{settings.DIAGNOSTICS_QUEUE_PREFIX}{student.pk}"
    raw = redis.Redis.from_url(redis_broker).lrange(queue, 0, -1)
    assert len(raw) == 1
    message = json.loads(raw[0])
    assert message["headers"]["task"] == "torchready.run_check"
    assert message["content-type"] == "application/json"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([], {"run_id": run.pk, "mode": "quick"})
    redis.Redis.from_url(redis_broker).delete(queue)


def test_the_worker_consumes_only_its_queue_with_the_solo_pool(
    student, token, module, redis_broker, start_worker, settings
):
    worker = start_worker(token)
    wait_online(student, worker)
    banner = wait_for(lambda: "ready." in worker.output() and worker.output(), 30, "the banner")
    assert "(solo)" in banner  # no fork: CUDA is only ever initialised in the check's own process
    queue = f"{settings.DIAGNOSTICS_QUEUE_PREFIX}{student.pk}"
    assert f".> {queue}" in banner
    assert ".> celery " not in banner
