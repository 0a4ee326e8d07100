"""In real Chromium: the executive dashboard draws every chart, a click on an aging bar opens exactly its entries,
the manager view shows only the manager's projects, and nothing is fetched from outside the app.

Drives Debian's chromium through Playwright against the live test server.
Skipped, saying why, where Chromium or Playwright is not installed.
"""

import re
from urllib.parse import urlsplit

import pytest

from opsview.kpis.rollups import rollup_day
from opsview.workspaces.roles import Role
from tests.browser import BROWSER, sign_in
from tests.conftest import make_user
from tests.kpi_books import Books, at, day

PERIOD = "start=2026-11-01&end=2026-11-20"
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
    books = Books()
    books.entry("2026-11-18", 3, "draft")
    books.entry("2026-11-12", 4, "submitted")
    books.entry("2026-10-21", "1.5", "submitted", project=books.b1)
    books.invoice("INV-10", 300, "issued", issued="2026-11-10")
    books.entry("2026-11-02", 1, approved_at="2026-11-03 08:00", invoice="INV-10")
    books.entry("2026-11-03", 2, approved_at="2026-11-04 08:00", invoice="INV-10")
    books.entry("2026-11-06", 5, approved_at="2026-11-09 10:00")
    books.entry("2026-11-06", 2, approved_at="2026-11-09 10:00", project=books.b1)
    books.entry("2026-11-06", 1, approved_at="2026-11-10 10:00", project=books.g1, rate="200")
    books.events(3, "succeeded", "2026-11-01 09:00")
    books.events(1, "failed", "2026-11-01 09:00")
    books.events(4, "succeeded", "2026-11-02 09:00")
    for n in range(5, 20):
        rollup_day(books.workspace, day(f"2026-11-{n:02}"), now=at("2026-11-20 12:00"))
    return books


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


def test_the_manager_view_shows_only_the_managers_projects(page, books):
    mara = make_user("mara", books.workspace, Role.MANAGER)
    books.mara.user = mara
    books.mara.save()
    sign_in(page, "mara")
    page.goto(f"/dashboards/projects/?{PERIOD}")
    assert page.locator("h1").inner_text() == "My projects"
    names = page.locator("tr[data-project] td:first-child a").all_inner_texts()
    assert names == ["A1 Acme rollout"]
    page.goto(f"/dashboards/executive/?{PERIOD}")
    page.locator('#chart-worst-projects .chart[data-rendered="1"]').wait_for()
    labels = page.locator("#chart-worst-projects .ytick text").all_text_contents()
    assert labels == ["Acme rollout (EUR)"]
