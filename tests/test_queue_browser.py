"""In real Chromium: an operator works a group of posting failures, the page swapped in place by htmx.

(That an executive can only read is what the server renders: tests/test_queue_executive.py.)

Drives Debian's chromium through Playwright against the live test server.
Skipped, saying why, where Chromium or Playwright is not installed.
"""

import re

import pytest

from opsview.queues.models import Kind, Status
from tests.browser import BROWSER, sign_in
from tests.queue_support import twenty_posting_failures

pytestmark = BROWSER


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def failures(transactional_db, api, northwind):
    return twenty_posting_failures(api, northwind)


def open_count(page, kind):
    return page.locator(f'tr[data-kind="{kind}"] [data-count="open"]').inner_text()


def test_an_operator_filters_opens_a_group_of_20_and_resolves_it_in_one_action(page, failures, olivia):
    sign_in(page, "olivia")
    page.goto("/queues/")
    assert open_count(page, Kind.POSTING_FAILURE) == "20"

    page.select_option("select[name=kind]", Kind.POSTING_FAILURE)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"kind=posting_failure"))
    assert page.get_by_text("20 exceptions match.").is_visible()
    assert page.locator("table.items tbody tr").count() == 20
    assert "TE-t" not in page.locator("table.items").inner_text()

    page.locator("table.items details.more summary").first.click()  # a row's details: the error, its group
    page.locator("table.items a", has_text="its group").first.click()
    page.wait_for_url(re.compile(r"/queues/groups/\d+/"))
    assert page.locator('[data-status="open"] .value').inner_text() == "20"
    page.evaluate("window.stillTheSamePage = true")  # gone if the browser loads a whole new page

    resolve = page.locator("section.actions form").first
    resolve.locator("select[name=resolution]").select_option("fixed_at_source")
    resolve.locator("input[name=note]").fill("October reopened in the ERP")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    resolve.get_by_role("button", name="Resolve all").click()

    page.get_by_text("20 exceptions resolved.").wait_for()
    assert asked == ["Resolve every exception of this group? They leave the open totals."]  # asked before it acted
    assert page.locator('[data-status="open"] .value').inner_text() == "0"
    assert page.locator('[data-status="resolved"] .value').inner_text() == "20"
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped the page in place
    assert failures.filter(kind=Kind.POSTING_FAILURE, status=Status.RESOLVED).count() == 20

    page.goto("/queues/")
    assert open_count(page, Kind.POSTING_FAILURE) == "0"
    assert page.locator(f'tr[data-kind="{Kind.POSTING_FAILURE}"] [data-count="resolved"]').inner_text() == "20"
