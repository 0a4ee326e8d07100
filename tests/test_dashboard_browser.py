"""In real Chromium: the executive dashboard draws every chart, a click on an aging bar opens exactly its entries,
and nothing is fetched from outside the app. (The manager's view: tests/test_dashboard_manager_view.py.)

Drives Debian's chromium through Playwright against the live test server.
Skipped, saying why, where Chromium or Playwright is not installed.
"""

import re
from urllib.parse import urlsplit

import pytest

from opsview.workspaces.roles import Role
from tests.browser import BROWSER, sign_in
from tests.conftest import make_user
from tests.dashboard_support import PERIOD, dashboard_books

CHARTS = ["aging", "wip-trend", "billing-lag", "sync", "worst-clients", "worst-projects"]

pytestmark = BROWSER


@pytest.fixture
def outside_requests():
    return []


@pytest.fixture
def page(browser, live_server, outside_requests):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    ours = urlsplit(live_server.url).netloc

    def only_ours(route):
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:  # the page must work with no network: note and refuse anything else
            outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    yield context.new_page()
    context.close()


@pytest.fixture
def books(transactional_db):
    return dashboard_books()


def test_the_executive_dashboard_draws_every_chart(page, books, outside_requests):
    make_user("exec", books.workspace, Role.EXECUTIVE)
    sign_in(page, "exec")
    page.goto(f"/dashboards/executive/?{PERIOD}")
    for key in CHARTS:
        chart = page.locator(f'#chart-{key} .chart[data-rendered="1"]')
        chart.wait_for()
        assert chart.locator("svg.main-svg").count() >= 1, key
        marks = chart.locator(".barlayer .point path, .scatterlayer .trace path")
        assert marks.count() > 0, f"{key} has an empty plot"
    assert outside_requests == []


def test_a_click_on_an_aging_bar_opens_its_entries(page, books):
    make_user("exec", books.workspace, Role.EXECUTIVE)
    sign_in(page, "exec")
    page.goto(f"/dashboards/executive/?{PERIOD}")
    page.locator('#chart-aging .chart[data-rendered="1"]').wait_for()
    # The submitted trace's bar over "8–14 days": the 4 h worked on 12 November.
    submitted = page.evaluate(
        "document.querySelector('#chart-aging .chart').data.findIndex(t => t.name === 'Submitted')"
    )
    bar = page.locator("#chart-aging .barlayer .trace").nth(submitted).locator(".point").nth(1)
    box = bar.bounding_box()
    assert box["height"] > 10
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"/records/time-entries/"))
    assert "status=unapproved" in page.url and "age=8-14" in page.url and "state=submitted" in page.url
    caption = page.locator("h2.caption").inner_text()
    assert caption == "Time waiting for approval (unapproved time aging) · 8–14 days since the work date · submitted"
    assert page.locator("p.totals").inner_text() == "1 entry · 4.00 h · EUR 400.00"
    assert page.locator("tbody tr").count() == 1
