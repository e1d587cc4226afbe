"""Browser-test helpers: axe-core's accessibility check and the phone-width check.

axe.min.js comes from the axe-playwright-python package (a dev dependency), never
from a CDN, and never reaches the pages: it is added as a Playwright init script,
which the browser runs outside the page's Content-Security-Policy, so the policy
stays enforced while axe runs.
"""

from __future__ import annotations

from importlib.resources import files

PHONE = 390
DESKTOP = 1280


def axe_source() -> str:
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def with_axe(page) -> None:
    """Make axe available on every page this one loads from now on."""
    page.add_init_script(script=axe_source())


def serious_violations(page) -> list[str]:
    """axe's serious and critical violations on the current page, one line each."""
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def audit(page) -> list[str]:
    """What is wrong with this page: axe at desktop and phone width, and sideways scroll."""
    problems = serious_violations(page)
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE, "height": 844})
    problems += serious_violations(page)
    overflow = page.evaluate("document.documentElement.scrollWidth") - PHONE
    if overflow > 0:
        problems.append(f"{page.url}: {overflow} px wider than a {PHONE} px phone")
    page.set_viewport_size(size)
    return problems
