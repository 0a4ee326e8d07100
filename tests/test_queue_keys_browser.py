"""In real Chromium: an operator triages the queue from the keyboard (static/js/queue-keys.js).

The keys only move a focus, tick boxes and fill the forms the page already has; what they may do is
what the server renders and checks (tests/test_queue_actions.py).
"""

import re

import pytest

from tests.browser import BROWSER, sign_in
from tests.queue_support import twenty_posting_failures

pytestmark = BROWSER


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def failures(transactional_db, api, northwind):
    return twenty_posting_failures(api, northwind)


def current_record(page):
    return page.locator("table.items tbody tr.current").get_attribute("data-record")


def ticked(page):
    return page.locator("table.items tbody tr:has(input[name=ids]:checked)").evaluate_all(
        "rows => rows.map(row => row.dataset.record)"
    )


def test_j_j_x_e_opens_the_resolve_form_for_the_second_row(page, failures, olivia):
    sign_in(page, "olivia")
    page.goto("/queues/")
    rows = page.locator("table.items tbody tr")
    second = rows.nth(1).get_attribute("data-record")

    page.keyboard.press("j")
    page.keyboard.press("j")
    assert current_record(page) == second
    page.keyboard.press("x")
    assert ticked(page) == [second]

    page.keyboard.press("e")
    toolbar = page.locator("#bulk .toolbar")
    assert toolbar.locator("select[name=action]").input_value() == "resolve"
    # The resolution is the person's to choose and write: the form waits, focused, and nothing was sent.
    assert page.evaluate("document.activeElement.name") == "resolution"
    assert toolbar.locator("select[name=resolution]").is_visible()
    assert toolbar.locator("input[name=note]").is_visible()
    assert not toolbar.locator("select[name=assignee]").is_visible()
    assert ticked(page) == [second]
    assert failures.filter(status="resolved").count() == 0


def test_e_without_a_selection_acts_on_the_current_row_and_k_goes_back(page, failures, olivia):
    sign_in(page, "olivia")
    page.goto("/queues/")
    rows = page.locator("table.items tbody tr")
    first, second = rows.nth(0).get_attribute("data-record"), rows.nth(1).get_attribute("data-record")

    for key in "jjk":
        page.keyboard.press(key)
    assert current_record(page) == first
    page.keyboard.press("j")
    page.keyboard.press("a")
    assert ticked(page) == [second]
    assert page.locator("#bulk select[name=action]").input_value() == "assign"
    assert page.evaluate("document.activeElement.name") == "assignee"


def test_slash_searches_question_mark_helps_and_typing_moves_nothing(page, failures, olivia):
    sign_in(page, "olivia")
    page.goto("/queues/")
    page.keyboard.press("j")
    first = current_record(page)

    page.keyboard.press("/")
    search = page.locator("form.filters input[name=q]")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("jjx")
    assert search.input_value() == "jjx"  # the slash itself was not typed
    assert current_record(page) == first
    assert ticked(page) == []

    page.locator("h1").click()  # out of the field: the keys work again
    page.keyboard.press("?")
    help_dialog = page.locator("dialog#keys-help")
    assert help_dialog.is_visible()
    assert "resolve" in help_dialog.inner_text()
    page.keyboard.press("j")  # the list does not move under the open help
    page.keyboard.press("Escape")
    assert not help_dialog.is_visible()


def test_r_asks_for_the_current_rows_replay_with_a_dry_run_first(page, failures, olivia):
    sign_in(page, "olivia")
    page.goto("/queues/")
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.get_by_role("heading", name=re.compile(r"^Dry run: 1 record")).wait_for()
    assert failures.filter(status="resolved").count() == 0


def test_who_may_only_read_moves_through_the_list_but_gets_no_action(page, failures, erin):
    sign_in(page, "erin")
    page.goto("/queues/")
    assert page.locator("#bulk").count() == 0  # the server renders no action form for an executive
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert current_record(page) == page.locator("table.items tbody tr").nth(1).get_attribute("data-record")
    for key in "xear":
        page.keyboard.press(key)
    assert page.url.endswith("/queues/")
    assert ticked(page) == []
