"""Errors under /api/ are JSON, 500s included; a database outage is a 503 with Retry-After,
and the worker honours it."""

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from diagnostics.agent.worker import poster
from diagnostics.agent.worker.client import ApiClient, TransientError
from diagnostics.agent.worker.spool import Spool
from diagnostics.api import permission_denied, server_error

ROOT = Path(__file__).resolve().parents[3]

# One request through Django's full handler, in a fresh process whose database is
# really unreachable: PostgreSQL on a port where nothing listens, or an SQLite file
# that is a folder.
OUTAGE = """
import json, django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
for path, kwargs in [
    ("/api/v1/reports", {"data": b"{}", "content_type": "application/json",
                         "HTTP_AUTHORIZATION": "Bearer trw_x"}),
    ("/api/v1/config", {"HTTP_AUTHORIZATION": "Bearer trw_x"}),
    ("/accounts/login/", {"data": {"username": "ann", "password": "x"}}),
]:
    method = client.get if path.endswith("config") else client.post
    r = method(path, **kwargs)
    print(json.dumps({"path": path, "status": r.status_code, "type": r["Content-Type"],
                      "retry": r.get("Retry-After"), "body": r.content.decode()[:300]}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_database_outage_is_a_503_with_retry_after(tmp_path, engine):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0"}
    env["ALLOWED_HOSTS"] = "testserver"
    env["TORCHREADY_VAR_DIR"] = str(tmp_path)
    if engine == "postgresql":
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    else:
        env.pop("DATABASE_URL", None)
        (tmp_path / "torchready.sqlite3").mkdir()  # can't be opened as a database
    done = subprocess.run(
        [sys.executable, "-c", OUTAGE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    api = [a for a in answers if a["path"].startswith("/api/")]
    assert len(api) == 2
    for answer in api:
        assert answer["status"] == 503, answer
        assert answer["type"] == "application/json"
        assert answer["retry"] == "30"
        assert "database is unavailable" in json.loads(answer["body"])["error"]
    page = next(a for a in answers if a["path"] == "/accounts/login/")
    assert page["status"] == 503 and page["retry"] == "30"


def test_a_bad_host_under_api_is_a_json_400(client):
    response = client.get("/api/v1/config", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_any_other_error_under_api_is_a_json_500():
    request = RequestFactory().post("/api/v1/reports")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"].startswith("internal server error")
    assert "a bug" not in response.content.decode()


def test_a_permission_error_under_api_is_a_json_403_with_its_reason():
    request = RequestFactory().get("/api/v1/config")
    response = permission_denied(request, PermissionDenied("not your run"))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"] == "not your run"


class Answers(BaseHTTPRequestHandler):
    """A real HTTP server that answers what the test queued, and counts the requests."""

    queue: list = []
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Answers.seen.append(self.path)
        status, headers, body = Answers.queue.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Answers.queue, Answers.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_the_worker_waits_out_a_503s_retry_after(server, tmp_path):
    Answers.queue = [(503, {"Retry-After": "120"}, {"error": "the database is unavailable"})]
    client = ApiClient(server, "trw_x")
    spool = Spool(tmp_path)
    path = spool.put("r1", b'{"report": {}}')
    assert poster.deliver(client, spool, path, deadline_s=1) == "pending"
    assert path.exists()
    # Within the 120 s nothing is sent: the next flush keeps the report without a request.
    with pytest.raises(TransientError) as caught:
        client.post_report(b"{}")
    assert 100 < caught.value.retry_after <= 120
    assert poster.flush(client, spool) == {"accepted": 0, "rejected": 0, "pending": 1}
    assert len(Answers.seen) == 1


def test_the_worker_retries_after_a_short_retry_after(server, tmp_path):
    Answers.queue = [
        (503, {"Retry-After": "1"}, {"error": "the database is unavailable"}),
        (201, {}, {"objective_met": True}),
    ]
    client = ApiClient(server, "trw_x")
    spool = Spool(tmp_path)
    path = spool.put("r1", b'{"report": {}}')
    assert poster.deliver(client, spool, path, deadline_s=10) == "accepted"
    assert len(Answers.seen) == 2 and not path.exists()


def test_a_rejected_report_is_kept_with_the_servers_reason(server, tmp_path):
    error = {
        "error": "created_at is 3 days ahead",
        "errors": [{"field": "report.created_at", "message": "created_at is 3 days ahead"}],
    }
    Answers.queue = [(400, {}, error)]
    spool = Spool(tmp_path)
    path = spool.put("r1", b'{"report": {}}')
    assert poster.deliver(ApiClient(server, "trw_x"), spool, path, deadline_s=5) == "rejected"
    reason = (spool.rejected / "r1.reason.txt").read_text()
    assert "HTTP 400" in reason and "report.created_at: created_at is 3 days ahead" in reason
    assert (spool.rejected / "r1.json").exists() and not spool.pending()
