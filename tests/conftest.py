"""Shared fixtures: users in their roles, a class, and a module built through the ORM.

Also a session-wide headless Chromium (Debian's, through Playwright) for the
browser tests: `browser` and a fresh `page` per test.
"""

import os
import uuid

import pytest
from django.utils import timezone

from learning.models import Klass, Module, Objective, Resource, Section
from learning.services.accounts import ensure_roles, make_instructor

PASSWORD = "a-long-test-password-1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Browser and RabbitMQ tests are slow, also where a module forgets to say so."""
    for item in items:
        heavy = item.get_closest_marker("browser") or item.get_closest_marker("rabbitmq")
        if heavy and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests use a file, as the embedded default does, not Django's in-memory
    database: the live server's threads would share one connection with the test,
    and two requests at once (a heartbeat and a report) fail with "database table
    is locked" where the real app waits for the other writer."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("database") / "test.sqlite3"
        )


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """As healthchecks does: the default hasher costs more than half the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Each test its own cache key prefix: counters (log-in throttling, API rate
    limits) never carry over from another test or another run of the suite."""
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *, role: str = "student"):
        user = django_user_model.objects.create_user(username=username, password=PASSWORD)
        _, students = ensure_roles()
        if role == "instructor":
            make_instructor(user=user)
        else:
            user.groups.add(students)
        return user

    return make


@pytest.fixture
def student(make_user):
    return make_user("alice")


@pytest.fixture
def other_student(make_user):
    return make_user("bob")


@pytest.fixture
def instructor(make_user):
    return make_user("ines", role="instructor")


@pytest.fixture
def klass(instructor, student, other_student):
    klass = Klass.objects.create(name="GPU course 2025")
    klass.instructors.add(instructor)
    klass.students.add(student, other_student)
    return klass


@pytest.fixture
def module(db):
    """A module like the seed: objectives (one with a verifier), sections, resources.

    Also one archived objective and one archived resource, which must never show.
    """
    module = Module.objects.create(
        slug="virtual-environments-pytorch",
        source_path="virtual-environments-pytorch.md",
        title="Virtual environments & PyTorch",
        sort=3,
        intro_html="<p>Create a conda environment with PyTorch and GPU support.</p>",
    )
    texts = [
        ("Create a virtual conda environment with GPU support", "gpu-env"),
        ("Describe the trends in paper implementations", ""),
        ("Explain why PyTorch is most prevalent in academia", ""),
    ]
    for order, (text, verifier) in enumerate(texts):
        Objective.objects.create(
            module=module, order=order, text=text, key=text.lower(), verifier=verifier
        )
    Objective.objects.create(
        module=module,
        order=9,
        text="An objective that was removed",
        key="removed",
        archived_at=timezone.now(),
    )
    env = Section.objects.create(
        module=module,
        order=0,
        title="1. Virtual environment",
        anchor="1-virtual-environment",
        html="<p>To enable GPU computing we need a conda environment.</p>",
    )
    torch = Section.objects.create(
        module=module,
        order=1,
        title="2. PyTorch",
        anchor="2-pytorch",
        html="<p>PyTorch is popular.</p>",
    )
    rows = [
        (env, Resource.Kind.VIDEO, "PyTorch & CUDA Setup - Windows 10", "", "", None),
        (torch, Resource.Kind.TABLE, "Deep Learning with PyTorch", "Course", "3 hours", 180),
        (torch, Resource.Kind.TABLE, "A 60 Minute Blitz", "Tutorial", "1 hours", 60),
        (torch, Resource.Kind.TABLE, "Zero to Mastery book", "Online book", "... hours", None),
    ]
    for order, (section, kind, title, material, time_text, minutes) in enumerate(rows):
        Resource.objects.create(
            module=module,
            section=section,
            order=order,
            kind=kind,
            title=title,
            url=f"https://example.org/{order}",
            material_type=material,
            developer="Someone",
            time_text=time_text,
            minutes=minutes,
            level="Beginner",
            key=title.lower(),
        )
    Resource.objects.create(
        module=module,
        order=9,
        kind=Resource.Kind.LINK,
        title="Old link",
        url="https://example.org/old",
        key="old",
        archived_at=timezone.now(),
    )
    return module


@pytest.fixture
def student_client(client, student):
    client.force_login(student)
    return client


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (bin/test installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django would then
    # refuse ORM calls from the test itself.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
