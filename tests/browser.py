"""What every browser test shares: Debian's Chromium driven by Playwright, or a skip that says why.

A test module sets ``pytestmark = BROWSER`` and uses the ``browser`` fixture.
"""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

try:
    import playwright.sync_api as sync_api
except ImportError:  # make test installs it; say so rather than fail where it is missing
    sync_api = None

BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed: apt-get install chromium"),
    pytest.mark.skipif(sync_api is None, reason="playwright is not installed: pip install playwright"),
]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop on this thread while it runs; the tests' own ORM calls
    # (and the test database's flush) stay synchronous, so Django's async guard is lifted for that time only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
