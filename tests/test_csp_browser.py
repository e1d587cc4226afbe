"""In Debian's Chromium, with the Content-Security-Policy enforced: the pages and
their htmx interactions cause no CSP violation (no inline script or style, no eval)."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__csp = [];
window.__htmx = 0;
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sample);
});
document.addEventListener("htmx:afterRequest", () => { window.__htmx += 1; });
"""
POLLS = "document.querySelector('[hx-trigger^=\"every \"]') !== null"
# Generous: a poll comes every few seconds; this only bounds a page that never polls.
HTMX_WAIT_MS = 60_000


def wait_for_htmx(page, after: int = 0) -> None:
    """Until htmx has finished a request beyond the `after` it had done before."""
    # A function, not an expression: Playwright would eval() a string, which the CSP forbids.
    page.wait_for_function("after => window.__htmx > after", arg=after, timeout=HTMX_WAIT_MS)


def violations(page, console: list[str]) -> list[str]:
    return page.evaluate("window.__csp || []") + [m for m in console if "Content Security" in m]


def visit(page, live_server, username: str, paths: list[str], console: list[str]) -> list[str]:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    found = []
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if page.evaluate(POLLS):
            wait_for_htmx(page)  # a poll and its swap, which load what they load
        found += [f"{path}: {v}" for v in violations(page, console)]
    return found


@pytest.fixture
def watched_page(page):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)
    return page, console


def test_student_pages_and_their_htmx_keep_to_the_policy(watched_page, live_server, klass, module):
    page, console = watched_page
    paths = ["/", "/modules/", "/join/", f"/modules/{module.slug}/", "/gpu/"]
    found = visit(page, live_server, "alice", paths, console)
    page.goto(f"{live_server.url}/modules/{module.slug}/")
    before = page.evaluate("window.__htmx")
    page.get_by_role("checkbox").first.check()  # an htmx POST and swap
    wait_for_htmx(page, before)
    found += violations(page, console)
    assert not found, "\n".join(found)


def test_the_instructors_dashboard_keeps_to_the_policy(watched_page, live_server, klass, module):
    klass.modules.add(module)
    page, console = watched_page
    paths = ["/teach/", f"/teach/{klass.pk}/", f"/teach/{klass.pk}/class/", "/teach/content/"]
    found = visit(page, live_server, "ines", paths, console)
    assert not found, "\n".join(found)


def test_the_seed_modules_youtube_embed_is_allowed_by_the_policy(watched_page, live_server, klass):
    # The course's own video: the importer keeps youtube(-nocookie) iframes, so the
    # policy must let exactly those frame in (their loading fails offline; CSP comes first).
    from django.conf import settings

    from learning.services.importing import import_course

    import_course(directory=settings.BASE_DIR / "content" / "modules")
    page, console = watched_page
    found = visit(page, live_server, "alice", ["/modules/virtual-environments-pytorch/"], console)
    assert page.locator("iframe[src*='youtube-nocookie.com/embed/']").count() == 1
    assert not found, "\n".join(found)
