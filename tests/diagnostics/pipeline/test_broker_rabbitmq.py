"""Students' queues on a real RabbitMQ node (a private one, tests/rabbitmq.py): a
worker logs in with its own worker token and reads only its own queue."""

import pytest

from diagnostics.models import CheckRun
from tests.diagnostics.pipeline.test_pipeline_worker import click_run, wait_final, wait_online

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.rabbitmq]


def test_a_click_runs_the_check_on_a_worker_logged_in_with_its_token(
    client, student, token, module, rabbitmq_broker, start_worker
):
    worker = start_worker(token)
    wait_online(student, worker)
    run = wait_final(click_run(client, student), worker)
    assert run.state == CheckRun.State.POSTED, (run.reason, run.detail, worker.output())
    assert run.attempts == 1
