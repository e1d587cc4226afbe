"""In Debian's Chromium: the instructor workspace end to end, and every page it adds
or changes at phone and desktop width (no sideways scrolling on a phone).

Set SCREENSHOT_DIR to keep a screenshot of each page at 1280 and 390 px.
"""

import os
import re
from pathlib import Path

import pytest

from learning.models import CoInstructorInvite, Klass, Module
from learning.services.progress import objective_self_assess
from learning.services.review import objective_review
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = """---
sort: 1
parent: Setup
---
# Drivers and CUDA

After this module, you will be able to:

- Check the driver version with nvidia-smi
- Explain what the CUDA runtime is

## Drivers

Run `nvidia-smi`.
"""


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.VERIFIERS_FILE = tmp_path / "none.yaml"


def log_in(page, live_server, username, landing):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=landing).wait_for()


def log_out(page):
    page.get_by_role("button", name=re.compile("Log out")).click()


def test_an_instructor_creates_a_class_a_student_joins_and_is_removed(
    page, live_server, instructor, module
):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "ines", "Your classes")
    page.get_by_label("Name").fill("Spring GPU cohort")
    page.get_by_role("button", name="Create class").click()
    page.get_by_role("heading", name="Manage Spring GPU cohort").wait_for()
    old = Klass.objects.get().invite_code
    page.get_by_role("button", name="New invite code").click()
    page.get_by_text("The old one no longer works").wait_for()
    code = Klass.objects.get().invite_code
    assert code != old and page.locator(".invite-code code").inner_text() == code
    log_out(page)

    # A new student signs up with the code typed in lower case, without dashes.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Join a class").click()
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Display name").fill("Carol Shaw")
    page.locator("#id_password1").fill("tensor-cores-and-coffee")
    page.locator("#id_password2").fill("tensor-cores-and-coffee")
    page.get_by_label("Invite code").fill(code.replace("-", "").lower())
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="My modules").wait_for()
    page.get_by_text("Welcome, Carol Shaw! You have joined Spring GPU cohort.").wait_for()
    log_out(page)

    log_in(page, live_server, "ines", "Your classes")
    page.get_by_role("link", name="Manage class Spring GPU cohort").click()
    row = page.get_by_role("row", name=re.compile("Carol Shaw"))
    row.get_by_role("button", name="Remove carol").click()
    page.get_by_text("Removed Carol Shaw from the class. Their progress is kept.").wait_for()
    assert not Klass.objects.get().students.exists()
    assert errors == []


def test_a_co_instructor_is_invited_and_accepts(page, live_server, klass, make_user):
    make_user("olga", role="instructor")
    log_in(page, live_server, "ines", "Your classes")
    page.goto(f"{live_server.url}/teach/{klass.pk}/class/")
    page.get_by_label("Instructor's user name").fill("olga")
    page.get_by_role("button", name="Invite a co-instructor").click()
    page.get_by_text("(invited, not yet accepted)").wait_for()
    log_out(page)
    log_in(page, live_server, "olga", "Your classes")
    page.get_by_role("button", name="Accept").click()
    page.get_by_text(f"You now teach {klass.name}.").wait_for()
    assert klass.instructors.filter(username="olga").exists()
    assert not CoInstructorInvite.objects.exists()


def test_an_instructor_uploads_a_page_previews_it_and_imports_it(
    page, live_server, instructor, tmp_path
):
    source = tmp_path / "drivers.md"
    source.write_text(PAGE)
    log_in(page, live_server, "ines", "Your classes")
    page.get_by_role("link", name="Course content").first.click()
    page.get_by_label("Markdown page or .zip of a course folder").set_input_files(str(source))
    page.get_by_role("button", name="Preview the upload").click()
    page.get_by_role("heading", name="Preview: drivers.md").wait_for()
    assert page.get_by_text("Check the driver version with nvidia-smi").is_visible()
    assert not Module.objects.exists()
    page.get_by_role("button", name="Import").click()
    page.get_by_text(re.compile(r"Imported: 1 new")).wait_for()
    assert page.get_by_role("heading", name="Setup").is_visible()  # its chapter
    assert page.get_by_role("link", name="Drivers and CUDA").is_visible()

    source.write_text("# Not a course\n")
    (tmp_path / "notes.txt").write_text("hello")
    page.get_by_label("Markdown page or .zip of a course folder").set_input_files(
        str(tmp_path / "notes.txt")
    )
    page.get_by_role("button", name="Preview the upload").click()
    page.get_by_text("Upload a Markdown page (.md) or a .zip of a course folder.").wait_for()


# --- Every page added or changed, at desktop and phone width ---------------------------


def _pages(klass, student, token):
    anonymous = [("landing", "/"), ("signup", "/accounts/signup/"), ("login", "/accounts/login/")]
    as_student = [("my-modules", "/modules/"), ("join", "/join/")]
    as_instructor = [
        ("teach", "/teach/"),
        ("class-manage", f"/teach/{klass.pk}/class/"),
        ("dashboard", f"/teach/{klass.pk}/"),
        ("drill-down", f"/teach/{klass.pk}/students/{student.pk}/"),
        ("content", "/teach/content/"),
        ("content-preview", f"/teach/content/preview/{token}/"),
    ]
    return anonymous, as_student, as_instructor


def test_every_workspace_page_fits_a_phone_and_a_desktop(
    browser, live_server, klass, module, student, instructor, make_user, settings, tmp_path
):
    from learning.services import uploads

    student.first_name = "Alice Liddell"
    student.save()
    objective = module.objectives.get(order=1)
    progress = objective_self_assess(student=student, objective=objective, confidence=3)
    objective_review(reviewer=instructor, progress=progress, decision="returned", comment="Redo")
    failing = objective_self_assess(
        student=student, objective=module.objectives.get(order=0), confidence=5
    )
    failing.evidence = "needs_work"
    failing.save()
    olga = make_user("olga", role="instructor")
    CoInstructorInvite.objects.create(klass=klass, invitee=olga, invited_by=instructor)
    olgas = Klass.objects.create(name="Olga's evening class")
    olgas.instructors.add(olga)
    CoInstructorInvite.objects.create(klass=olgas, invitee=instructor, invited_by=olga)
    Klass.objects.create(name="Last year's class", archived_at=module.imported_at).instructors.add(
        instructor
    )
    settings.COURSE_DIR = tmp_path / "course"
    (settings.COURSE_DIR / "part-1").mkdir(parents=True)
    (settings.COURSE_DIR / "part-1" / "drivers.md").write_text(PAGE)
    (settings.COURSE_DIR / "empty.md").write_text("")
    token = uploads.stage_course_folder(user=instructor).token

    shots = os.environ.get("SCREENSHOT_DIR")
    too_wide = []
    for width in (1280, 390):
        for who, pages in zip((None, "alice", "ines"), _pages(klass, student, token), strict=True):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            if who:
                log_in(page, live_server, who, re.compile("^(My modules|Your classes)$"))
            for name, path in pages:
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == 200, (name, response.status)
                wide = page.evaluate(
                    "document.documentElement.scrollWidth > document.documentElement.clientWidth"
                )
                if wide:
                    too_wide.append(f"{name} at {width}px")
                if shots:
                    Path(shots).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=f"{shots}/{name}-{width}.png", full_page=True)
            context.close()
    assert too_wide == []
