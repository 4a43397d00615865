"""Browser tests: Playwright for Python driving the system Chromium.

`browser_page` (a fixture, registered in conftest.py) is a Playwright Page in a fresh
context whose base URL is the live server, so `page.goto("/login/")` works. It fails the test
if the page reports any Content Security Policy violation, and when a test fails it saves a
full-page screenshot and the page's HTML to SCREENSHOT_DIR (default: test-artifacts/);
SCREENSHOTS=always keeps them for passing tests too.
`log_in(page, username, password)` signs in through the login form; `htmx_idle(page)` waits
for htmx to finish swapping. Page-side waits must not evaluate strings (the CSP forbids eval):
use locators with `expect(...)`, or `page.evaluate` with a function.

Without /usr/bin/chromium these tests are skipped, unless REQUIRE_BROWSER=1 (set by CI),
where a missing browser is a failure."""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "test-artifacts"))

# Runs in every page before its own scripts: report each violation to the test at once,
# so none is lost when the page navigates.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber}`);
});
"""


def _unavailable():
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (make install)"
    return None


def artifact_name(nodeid):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:150]


@pytest.fixture
def browser_page(request, live_server, monkeypatch):
    reason = _unavailable()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    violations = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 1000},
                                      accept_downloads=True)
        context.expose_function("reportCspViolation", lambda text: violations.append(text))
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.csp_violations = violations  # what teardown checks; a test may inspect it
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        try:
            yield page
        finally:
            report = getattr(request.node, "rep_call", None)
            failed = report is not None and report.failed
            if (failed or os.environ.get("SCREENSHOTS") == "always") and not page.is_closed():
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                name = artifact_name(request.node.nodeid)
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(page.content())
            context.close()
            browser.close()
    if violations:
        pytest.fail("Content Security Policy violations:\n" + "\n".join(dict.fromkeys(violations)))


def log_in(page, username, password):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/)"))


def htmx_idle(page):
    """Wait until htmx has no request, swap or settle in progress. (Under the CSP, waits
    that evaluate strings in the page are refused: use locators and expect().)"""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
