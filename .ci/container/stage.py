"""CI's container stage: the compose deployment, run by a real Docker Engine, used
as a class would use it.

1. A private dockerd (host networking only), stand-in base images for every image
   the Dockerfile and docker-compose.yml name, and the project image from the
   real Dockerfile. Every compose service runs from docker-compose.yml itself
   (compose.py).
2. Upgrade: the previous commit's deployment (its own compose file, .env and
   image) gets an operator, the course, a class and a student; then this commit's
   starts on the same volumes: migrations apply, no row is lost.
3. On it, a class: the operator re-imports the course (nothing changes) and makes
   an instructor, who creates a class; a student signs up with its invite code,
   installs the worker wheel the container serves into a fresh venv on this host,
   runs a check over amqps and sees the verdict; the instructor sees it on the
   dashboard. Memory of each service idle and under a load burst. A pg_dump.
4. A fresh deployment: cold start to healthy is timed, the first start imports
   the course; every app container runs as non-root on a read-only root; static
   files come hashed, gzipped and cached for a year. The dump is restored into it
   with pg_restore: every table identical, and the student sees the verdict.
5. Any ERROR or traceback in any container's log of this commit's deployments
   fails the stage. dockerd stops, and every container and volume goes, at the end.

    .venv/bin/python .ci/container/stage.py [--upgrade-from REV] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from compose import Stack, read_env_file
from engine import ROOT, Engine, log, standin_images

WORK = ROOT / "var" / "ci-container"
PASSWORD = "a-long-container-password-1"
OPERATOR, INSTRUCTOR, STUDENT = "operator", "ci-instructor", "ci-student"
figures: dict[str, object] = {}


# --- set-up ------------------------------------------------------------------------


def write_env(folder: Path, name: str, keep: dict[str, str] | None = None) -> Path:
    """The operator's .env: .env.example with every change-me replaced (or kept
    from the deployment being upgraded), and the class server's public name set to
    where this host reaches it."""
    import secrets

    values = read_env_file(folder / ".env.example")
    for key, value in values.items():
        if value == "change-me":
            values[key] = secrets.token_hex(16)
    values.update(
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # No TLS proxy in front here: plain HTTP, as a reverse proxy's upstream sees it.
        BEHIND_TLS_PROXY="0",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        SECURE_HSTS_SECONDS="0",
        # The broker's TLS certificate for this host (made once, below).
        TLS_DIR=str(tls_folder()),
        TLS_CERT_FILE="/tls/fullchain.pem",
        TLS_KEY_FILE="/tls/privkey.pem",
        # Versions before RabbitMQ: Redis without TLS.
        REDIS_TLS_DIR="./deploy",
        REDIS_TLS_CERT_FILE="",
        REDIS_TLS_KEY_FILE="",
    )
    values.update({k: v for k, v in (keep or {}).items() if k in values})
    path = WORK / f"{name}.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def tls_folder() -> Path:
    """A self-signed certificate for localhost and 127.0.0.1, as certbot's files are named."""
    folder = WORK / "tls"
    if not (folder / "fullchain.pem").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                "privkey.pem",
                "-out",
                "fullchain.pem",
            ],
            cwd=folder,
            check=True,
            capture_output=True,
        )
    return folder


def new_stack(
    engine: Engine,
    name: str,
    source: Path = ROOT,
    image: str = "torchready:latest",
    upgrading: Stack | None = None,
) -> Stack:
    keep = read_env_file(upgrading.env_file) if upgrading else None
    env_file = write_env(source, name, keep)
    ports = dict(upgrading.ports) if upgrading else {}
    stack = Stack(engine, f"trci-{name}", source, env_file, image=image, ports=ports)
    # What the app tells students' workers and browsers: this host's ports.
    env = read_env_file(env_file)
    url = stack.url()
    env.update(CSRF_TRUSTED_ORIGINS=url, TORCHREADY_PUBLIC_URL=url)
    if "rabbitmq" in stack.services:
        amqps = stack.port("rabbitmq", 5671)
        env["TORCHREADY_WORKER_BROKER_URL"] = f"amqps://localhost:{amqps}/students"
    elif "REDIS_WORKER_PASSWORD" in env:
        redis = stack.port("redis", 6379)
        env["TORCHREADY_WORKER_BROKER_URL"] = (
            f"redis://worker:{env['REDIS_WORKER_PASSWORD']}@127.0.0.1:{redis}/0"
        )
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return stack


def named_images(stack: Stack) -> set[str]:
    """The images a deployment pulls: the services' own and the Dockerfile's base."""
    named = {s["image"] for s in stack.services.values() if "image" in s and "build" not in s}
    base = re.search(r"^FROM\s+(\S+)", (stack.source / "Dockerfile").read_text(), re.M)
    return named | {base.group(1)}


def build_images(engine: Engine, stack: Stack) -> None:
    standin_images(engine, named_images(stack))
    started = time.monotonic()
    engine.build("torchready:latest", ROOT)
    size = engine("image", "inspect", "-f", "{{.Size}}", "torchready:latest").stdout
    figures["image build (s)"] = round(time.monotonic() - started, 1)
    figures["image size (MB)"] = round(int(size) / 1e6)
    log(f"torchready:latest: {figures['image size (MB)']} MB")


# --- what a class does ---------------------------------------------------------------


def session_for(url: str, username: str, password: str = PASSWORD, path="/accounts/login/"):
    s = requests.Session()
    page = s.get(url + path)
    response = s.post(
        url + path,
        data={"username": username, "password": password, **form_token(page.text)},
        headers={"Referer": url + path},
        allow_redirects=False,
    )
    assert response.status_code == 302, f"{username} could not log in: {response.status_code}"
    return s


def form_token(html: str) -> dict[str, str]:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return {"csrfmiddlewaretoken": match.group(1)}


def post_form(s: requests.Session, url: str, data: dict) -> requests.Response:
    page = s.get(url)
    assert page.status_code == 200, f"GET {url}: {page.status_code}"
    response = s.post(url, data={**form_token(page.text), **data}, headers={"Referer": url})
    assert response.status_code in (200, 302), f"POST {url}: {response.status_code}"
    return response


def operator_account(stack: Stack) -> None:
    """README step: the first operator account (a superuser), from the command line."""
    stack.run(
        "web",
        [
            "python",
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            OPERATOR,
            "--email",
            "operator@example.org",
        ],
        env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )


def operator_imports_course(stack: Stack) -> str:
    """The first start imported the course; the operator's re-import changes nothing."""
    output = stack.run("web", ["python", "manage.py", "import_course", "content/modules"])
    summary = output.strip().splitlines()[-1]
    assert re.search(r"imported 0, .*failed 0", summary), output
    return summary


def operator_makes_instructor(stack: Stack, username: str) -> None:
    """README step: the account in the admin (Users, Add user), then make_instructor."""
    url = stack.url()
    admin = session_for(url, OPERATOR, path="/admin/login/?next=/admin/")
    added = post_form(
        admin,
        f"{url}/admin/auth/user/add/",
        {
            "username": username,
            "display_name": username,  # older versions ignore it
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
            "_save": "Save",
        },
    )
    assert re.search(r"/admin/auth/user/\d+/change/", added.url), added.text[:300]
    stack.run("web", ["python", "manage.py", "make_instructor", username])


def instructor_creates_class(url: str, instructor: requests.Session, name: str) -> tuple[int, str]:
    """The instructor's new class (every module, as none is picked); its id and invite code.

    This is the one place that knows how an instructor creates a class."""
    teach = instructor.get(f"{url}/teach/")
    assert teach.status_code == 200, teach.status_code
    page = instructor.post(
        f"{url}/teach/new/",
        data={"name": name, **form_token(teach.text)},
        headers={"Referer": f"{url}/teach/"},
    )
    assert page.status_code == 200, page.status_code
    klass = re.search(r"/teach/(\d+)/class/", page.url).group(1)
    code = re.search(r'class="invite-code"><code>([A-Z0-9-]+)</code>', page.text).group(1)
    return int(klass), code


def student_signs_up(url: str, invite_code: str, username: str = STUDENT) -> requests.Session:
    s = requests.Session()
    post_form(
        s,
        f"{url}/accounts/signup/",
        {
            "username": username,
            "display_name": username,  # older versions ignore it
            "password1": PASSWORD,
            "password2": PASSWORD,
            "invite_code": invite_code,
        },
    )
    return session_for(url, username)


def student_runs_check(url: str, student: requests.Session) -> str:
    """Token, install command and start command from the GPU page, into a fresh venv."""
    page = student.get(f"{url}/gpu/").text
    # The token is shown once, on the page the POST redirects to.
    page = student.post(f"{url}/gpu/token", data={"action": "create", **form_token(page)}).text
    install = _code(page, "cmd-worker-")  # the set-up step "Install the worker"
    start = _code(page, "start-command")
    assert "YOUR_TOKEN" not in start, "the new token is not shown"

    venv = WORK / "student-venv"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    started = time.monotonic()
    subprocess.run([python, *install.split()[1:]], check=True, capture_output=True)
    figures["worker wheel install (s)"] = round(time.monotonic() - started, 1)
    worker_log = WORK / "student-worker.log"
    spool = WORK / "student-spool"
    shutil.rmtree(spool, ignore_errors=True)
    argv = [python, *start.split()[1:], "--spool", str(spool)]
    worker = subprocess.Popen(
        argv,
        cwd=WORK,
        stdout=worker_log.open("wb"),
        stderr=subprocess.STDOUT,
        # The broker's certificate is self-signed here; a class's comes from certbot.
        env={
            **_clean_env(),
            "PYTHONUNBUFFERED": "1",
            "SSL_CERT_FILE": str(tls_folder() / "fullchain.pem"),
        },
        start_new_session=True,
    )
    try:
        _wait(lambda: "ready" in worker_log.read_text(), 60, "the student's worker", worker_log)
        page = student.get(f"{url}/gpu/").text
        student.post(
            f"{url}/gpu/runs", data={"mode": "quick", **form_token(page)}, allow_redirects=False
        )
        verdict = _wait(
            lambda: _verdict(student.get(f"{url}/gpu/").text), 120, "the verdict", worker_log
        )
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
    return verdict


def _clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "VIRTUAL_ENV", "PYTHON"))
    }


def _code(html: str, element: str) -> str:
    import html as html_lib

    text = re.search(rf'<code id="{element}[^"]*">(.*?)</code>', html, re.S).group(1)
    return html_lib.unescape(text).replace('"', "")


def _verdict(html: str) -> str | None:
    match = re.search(r'id="gpu-verdict[^"]*".*?badge--[\w-]+">([^<]+)<', html, re.S)
    return match.group(1) if match else None


def _wait(predicate, timeout: float, what: str, logfile: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    tail = logfile.read_text()[-3000:] if logfile else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def instructor_sees_dashboard(url: str, instructor: requests.Session, class_id: int) -> None:
    page = instructor.get(f"{url}/teach/{class_id}/")
    assert page.status_code == 200, page.status_code
    assert STUDENT in page.text, "the student is not on the dashboard"
    assert re.search(r"needs work|verified", page.text, re.I), "no GPU verdict on the dashboard"


# --- what the image promises -------------------------------------------------------------


def check_static(url: str) -> None:
    """Hashed names in pages; gzip and a one-year immutable cache from whitenoise."""
    page = requests.get(f"{url}/accounts/login/").text
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "pages do not name content-hashed static files"
    response = requests.get(url + css.group(1), headers={"Accept-Encoding": "gzip"}, stream=True)
    headers = response.headers
    assert response.status_code == 200, response.status_code
    assert headers.get("Content-Encoding") == "gzip", headers
    assert (
        "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    ), headers
    assert "Accept-Encoding" in headers.get("Vary", ""), headers
    figures["static headers"] = "; ".join(
        f"{name}: {headers[name]}" for name in ("Content-Encoding", "Cache-Control")
    )


def check_hardened(stack: Stack) -> None:
    """Every app container: a non-root user and a read-only root filesystem."""
    for name, spec in stack.services.items():
        if "build" not in spec or name == "migrate":
            continue
        container = stack.container(name)
        uid = stack.exec(name, "id", "-u").stdout.strip()
        assert uid != "0", f"{name} runs as root"
        assert (
            stack.engine(
                "inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", container
            ).stdout.strip()
            == "true"
        )
        probe = stack.exec(
            name, "sh", "-c", "touch /app/x 2>&1; touch /app/var/x && rm /app/var/x", check=False
        )
        assert "Read-only file system" in probe.stdout + probe.stderr, f"{name}: /app is writable"
        assert probe.returncode == 0, f"{name}: /app/var is not writable: {probe.stderr}"


def memory(stack: Stack) -> dict[str, str]:
    out = stack.engine("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}").stdout
    prefix = stack.project + "-"
    return {
        line.split()[0].removeprefix(prefix): line.split()[1]
        for line in out.splitlines()
        if line.startswith(prefix)
    }


def load_burst(stack: Stack, class_id: int, seconds: float = 15, workers: int = 100) -> dict:
    """perf/load_test.py's simulated workers against the container, for `seconds`."""
    sys.path.insert(0, str(ROOT / "perf"))
    import load_test

    tokens = json.loads(
        stack.exec("web", "python", "manage.py", "shell", "-c", LOAD_SETUP % (class_id, workers))
        .stdout.strip()
        .splitlines()[-1]
    )
    stats = load_test.Stats()
    stop = threading.Event()
    address = ("127.0.0.1", stack.port("web", 8000))
    # The deployment's own rate limit (DIAGNOSTICS_RATE_LIMIT a minute a token) holds:
    # a loop each 5 s is 24 requests a minute.
    threads = [
        threading.Thread(
            target=load_test.student_worker, args=(address, t, stop, 10, stats, 5.0), daemon=True
        )
        for t in tokens
    ]
    for t in threads:
        t.start()
    time.sleep(seconds * 0.75)
    under_load = memory(stack)
    time.sleep(seconds * 0.25)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    requests_ = sum(len(v) for v in stats.latency.values())
    errors = sum(stats.errors.values())
    assert not errors, dict(stats.errors)
    figures["load burst"] = f"{workers} workers, {seconds:.0f} s, {requests_} requests, 0 errors"
    return under_load


LOAD_SETUP = """
import json
from django.contrib.auth import get_user_model
from learning.models import Klass
from learning.services.accounts import ensure_roles
from diagnostics.services import token_create
_, students = ensure_roles()
klass = Klass.objects.get(pk=%d)
users = get_user_model().objects.bulk_create(
    [get_user_model()(username=f"load-{n:04d}") for n in range(%d)])
students.user_set.add(*users)
klass.students.add(*users)
print(json.dumps([token_create(student=u)[1] for u in users]))
"""


# --- backup, restore, upgrade ----------------------------------------------------------


def snapshot(stack: Stack) -> dict[str, str]:
    """Per table: its row count and a hash of all its rows, read in the db container."""
    sql = (
        "SELECT string_agg(format('SELECT %L AS t, count(*) AS n, md5(coalesce(string_agg(x::text, "
        "''|'' ORDER BY x::text), '''')) FROM %I x', tablename, tablename), ' UNION ALL ') "
        "FROM pg_tables WHERE schemaname = 'public'"
    )
    query = psql(stack, sql)
    rows = psql(stack, query)
    return {t: f"{n} {h}" for t, n, h in (line.split("|") for line in rows.splitlines())}


def psql(stack: Stack, sql: str) -> str:
    result = stack.exec("db", "psql", "-U", "torchready", "-d", "torchready", "-At", "-c", sql)
    return result.stdout.strip()


def backup(stack: Stack) -> Path:
    """README: docker compose exec -T db pg_dump -U torchready -Fc torchready > FILE"""
    dump = WORK / "torchready.dump"
    command = ["exec", stack.container("db"), "pg_dump", "-U", "torchready", "-Fc", "torchready"]
    with dump.open("wb") as out:
        stack.engine(*command, stdout=out, capture_output=False, text=False)
    figures["backup size (KB)"] = dump.stat().st_size // 1024
    return dump


def restore(fresh: Stack, dump: Path, before: dict[str, str]) -> None:
    """README: stop what writes, pg_restore --clean, start again; every row as dumped."""
    fresh.stop("web", "worker", "beat")
    command = ["exec", "-i", fresh.container("db"), "pg_restore", "-U", "torchready"]
    with dump.open("rb") as source:
        fresh.engine(*command, "-d", "torchready", "--clean", "--if-exists", stdin=source)
    fresh.up()
    after = snapshot(fresh)
    lost = {t: (before.get(t), after.get(t)) for t in before if before[t] != after.get(t)}
    assert not lost, f"restore changed tables: {lost}"
    student = session_for(fresh.url(), STUDENT)
    assert _verdict(student.get(f"{fresh.url()}/gpu/").text), "the restored verdict is missing"
    log(f"restore: {len(after)} tables identical, the student sees the verdict")


EARLY_STUDENT = "ci-early-student"
EARLY_CLASS = (
    "from learning.models import Klass; print(Klass.objects.create(name='Early').invite_code)"
)


def previous_deployment(engine: Engine, rev: str) -> Stack:
    """The previous commit's deployment (its own compose file, .env and image),
    with a class and a student in it, made the way that version allows."""
    previous = WORK / "previous"
    shutil.rmtree(previous, ignore_errors=True)
    previous.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(previous)], input=archive.stdout, check=True)
    old = new_stack(engine, "class", source=previous, image="torchready:previous")
    standin_images(engine, named_images(old))
    engine.build("torchready:previous", previous)
    old.up()
    operator_account(old)
    old.run("web", ["python", "manage.py", "import_course", "content/modules"])
    # A class made the way every version can, and a student who signed up to it.
    made = old.run("web", ["python", "manage.py", "shell", "-c", EARLY_CLASS])
    student_signs_up(old.url(), made.strip().splitlines()[-1], EARLY_STUDENT)
    return old


def upgrade(engine: Engine, old: Stack, rev: str) -> Stack:
    """This commit's deployment on the previous one's volumes and .env secrets."""
    before = snapshot(old)
    old.stop()
    old.down()  # the previous commit's own logs were its own CI run's to check
    new = new_stack(engine, "class", upgrading=old)
    new.up()
    applied = len(re.findall(r"Applying \S+", new.logs("migrate")))
    after = snapshot(new)
    grown = {"django_migrations", "django_content_type", "auth_permission"}
    lost = {
        t: (before[t], after.get(t))
        for t in before
        if t not in grown and before[t].split()[0] != (after.get(t) or "0 ").split()[0]
    }
    assert not lost, f"rows lost in the upgrade: {lost}"
    modules = session_for(new.url(), EARLY_STUDENT).get(new.url() + "/")
    assert modules.status_code == 200 and 'href="/modules/' in modules.text, modules.status_code
    figures["upgrade"] = f"from {rev[:10]}: {applied} migrations applied, every row kept"
    log(f"upgrade from {rev[:10]}: {applied} migrations applied, rows kept in {len(before)} tables")
    return new


# --- the stage -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upgrade-from", default=os.environ.get("UPGRADE_FROM", "HEAD~1"))
    parser.add_argument("--keep", action="store_true", help="leave dockerd running (debugging)")
    args = parser.parse_args()
    stage_started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    engine = Engine()
    engine.start()
    try:
        engine.clean()
        build_images(engine, new_stack(engine, "images"))
        rev = subprocess.run(
            ["git", "rev-parse", args.upgrade_from], cwd=ROOT, capture_output=True, text=True
        )
        if rev.returncode == 0:
            log(f"the previous commit's deployment ({args.upgrade_from}), then an upgrade")
            stack = upgrade(engine, previous_deployment(engine, rev.stdout.strip()), rev.stdout)
        else:
            log(f"no {args.upgrade_from} to upgrade from: the class flow on a new deployment")
            stack = new_stack(engine, "class")
            stack.up()
            operator_account(stack)
        class_flow(stack)
        time.sleep(3)
        figures["memory idle"] = memory(stack)
        log("load burst")
        figures["memory under load"] = load_burst(stack, figures.pop("class id"))
        failures = stack.failures()
        assert not failures, "\n".join(failures)
        before = snapshot(stack)
        dump = backup(stack)
        stack.down(volumes=True)

        log("a fresh deployment, then the backup restored into it")
        fresh = new_stack(engine, "fresh", upgrading=stack)
        started = time.monotonic()
        fresh.up()
        figures["cold start to healthy (s)"] = round(time.monotonic() - started, 1)
        log(f"fresh deployment healthy in {figures['cold start to healthy (s)']} s")
        assert "First start: the course from" in fresh.logs("migrate"), fresh.logs("migrate")
        check_hardened(fresh)
        check_static(fresh.url())
        restore(fresh, dump, before)
        failures = fresh.failures()
        fresh.down(volumes=True)
        assert not failures, "\n".join(failures)
    finally:
        if not args.keep:
            engine.stop()
    figures["stage (s)"] = round(time.monotonic() - stage_started)
    print(json.dumps(figures, indent=2))
    (WORK / "figures.json").write_text(json.dumps(figures, indent=2))


def class_flow(stack: Stack) -> None:
    """The operator (re)imports the course and makes an instructor, who creates a
    class; a student signs up, runs a check and sees the verdict, and so does the
    instructor on the dashboard."""
    url = stack.url()
    figures["course re-import"] = operator_imports_course(stack)
    operator_makes_instructor(stack, INSTRUCTOR)
    instructor = session_for(url, INSTRUCTOR)
    class_id, code = instructor_creates_class(url, instructor, "Container class")
    student = student_signs_up(url, code)
    figures["verdict"] = student_runs_check(url, student)
    instructor_sees_dashboard(url, instructor, class_id)
    figures["class id"] = class_id
    log(f"class flow: the student's verdict is '{figures['verdict']}', on the dashboard too")


if __name__ == "__main__":
    main()
