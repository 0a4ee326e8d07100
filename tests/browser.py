"""What every browser test shares: Debian's Chromium driven by Playwright, or a skip that says why.

A test module sets ``pytestmark = BROWSER`` and uses the ``browser`` fixture. Every context it opens
reports Content-Security-Policy violations (the page's ``securitypolicyviolation`` events and console
errors naming the policy), and a test during which any was reported fails at teardown: a template or
script that needs an inline style or handler breaks the test that shows it. ``csp_violations`` is the
list, for a test that provokes one on purpose.
"""

import os
import re

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

try:
    import playwright.sync_api as sync_api
except ImportError:  # make test installs it; say so rather than fail where it is missing
    sync_api = None

BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed: apt-get install chromium"),
    pytest.mark.skipif(sync_api is None, reason="playwright is not installed: pip install playwright"),
]

# Runs in every document before its own scripts: the event carries what was blocked and where.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolation(e.effectiveDirective + " refused " + (e.blockedURI || "inline") + " on " +
    e.documentURI + " (" + (e.sourceFile || "") + ":" + e.lineNumber + ") " + (e.sample || ""));
});
"""


class GuardedBrowser:
    """The Playwright browser, whose contexts report CSP violations into ``violations``."""

    def __init__(self, browser):
        self._browser = browser
        self.violations = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.expose_function("__cspViolation", self._report)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", self._console)
        return context

    def new_page(self, **kwargs):
        return self.new_context(**kwargs).new_page()

    def _report(self, violation):
        self.violations.append(violation)

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop on this thread while it runs; the tests' own ORM calls
    # (and the test database's flush) stay synchronous, so Django's async guard is lifted for that time only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield GuardedBrowser(chromium)
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def csp_violations(browser):
    """The violations reported during this test; a test that provokes one clears it when it has looked."""
    return browser.violations


@pytest.fixture(autouse=True)
def _no_csp_violation(request):
    # Set up before the test's own fixtures, so torn down after its pages are closed and their events in.
    if "browser" not in request.fixturenames:
        yield
        return
    violations = request.getfixturevalue("browser").violations
    violations.clear()
    yield
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def sign_in(page, username, password=None):
    """Sign ``username`` in through the login form (the cast's password unless given) and land on home."""
    from tests.conftest import PASSWORD

    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
