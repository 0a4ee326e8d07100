"""In real Chromium: an operator makes a personal token on its page, a script claims with it, she revokes it.

Drives Debian's chromium through Playwright against the live test server; the script is an HTTP client
of that same server. Skipped, saying why, where Chromium or Playwright is not installed.
"""

import httpx
import pytest

from opsview.queues.models import ExceptionItem
from tests.browser import BROWSER, sign_in
from tests.queue_support import failure, send

pytestmark = BROWSER


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def test_a_token_made_on_the_page_works_for_a_script_until_revoked(
    page, live_server, transactional_db, api, northwind, olivia
):
    send(api, failure("TE-1"))
    item = ExceptionItem.objects.get()
    sign_in(page, "olivia")
    page.locator("header summary", has_text="olivia").click()  # the user menu
    page.click("text=Personal tokens")
    page.fill("input[name=name]", "month-end script")
    page.click("button:has-text('Create token')")
    raw = page.locator("#new-token").inner_text().strip()
    assert raw.startswith("opp_")

    script = httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {raw}"})
    claimed = script.post("/api/v1/exceptions/actions/", json={"action": "claim", "ids": [item.pk]})
    assert claimed.status_code == 200 and claimed.json()["changed"] == 1
    assert ExceptionItem.objects.get().assignee == olivia

    page.goto("/account/tokens/")
    assert raw not in page.content()
    row = page.locator("tr", has_text="month-end script")
    assert "active" in row.inner_text() and "never" not in row.locator("td").nth(4).inner_text()
    page.once("dialog", lambda dialog: dialog.dismiss())  # "no": nothing is revoked
    row.locator("button:has-text('Revoke')").click()
    assert script.get("/api/v1/exceptions/").status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('Revoke')").click()
    assert "revoked; requests using it now get 401" in page.locator(".message").inner_text()
    assert script.get("/api/v1/exceptions/").status_code == 401
