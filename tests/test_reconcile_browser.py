"""In real Chromium: an operator reads November's reconciliation, mismatches first, and opens a gap's
exception to see both sides. Skipped, saying why, where Chromium or Playwright is not installed."""

import os

import pytest

from opsview.reconcile.models import Trigger
from opsview.reconcile.services import run_reconciliation
from tests.browser import BROWSER, sign_in
from tests.reconcile_support import NOVEMBER, NOW, three_systems

pytestmark = BROWSER


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 1400})
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def reconciled(transactional_db, northwind):
    three_systems(northwind)
    return run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)


def test_an_operator_reads_the_period_and_opens_a_gap(page, reconciled, olivia):
    sign_in(page, "olivia")
    page.click("nav >> text=Reconciliation")
    page.goto("/reconciliation/?period=2026-11")

    projects = page.locator("[data-table=projects] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.project)")
    assert projects == ["NW2", "NW1", "NW3"]
    assert page.locator("[data-total=gaps]").inner_text() == "6"
    if os.environ.get("RECONCILE_SCREENSHOT"):
        page.screenshot(path=os.environ["RECONCILE_SCREENSHOT"], full_page=True)

    page.click("text=Hours differ in the ERP")
    both = page.locator("section[aria-label='Both sides']")
    assert "5.75" in both.inner_text() and "B1" in both.inner_text()
    if os.environ.get("RECONCILE_SCREENSHOT"):
        page.screenshot(path=os.environ["RECONCILE_SCREENSHOT"] + ".gap.png", full_page=True)
