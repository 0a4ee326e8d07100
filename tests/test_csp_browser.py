"""In real Chromium, under the app's Content-Security-Policy (no inline script or style): every page each role
can open shows no violation, the charts draw, the workspace colours apply, and a violation fails a test.

tests/browser.py fails any browser test during which a violation was reported; this file visits every page.
"""

from urllib.parse import urlsplit

import pytest

from opsview.queues import sync_failures
from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Membership
from opsview.workspaces.roles import Role
from tests.browser import BROWSER, sign_in
from tests.conftest import make_user

pytestmark = BROWSER

ACCENT = "#aa3366"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    ours = urlsplit(live_server.url).netloc
    context.route(
        "**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc == ours else route.abort()
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def firm(transactional_db, northwind, contoso):
    northwind.workspace.accent_color = ACCENT
    northwind.workspace.save()
    sync_failures.on_sync_events(northwind.workspace, list(SyncEvent.objects.for_workspace(northwind.workspace)))
    return northwind


def every_page(firm):
    item = ExceptionItem.objects.for_workspace(firm.workspace).get()
    run = SyncRun.objects.for_workspace(firm.workspace).get()
    return [
        "/",
        "/queues/",
        f"/queues/groups/{item.group_id}/",
        f"/queues/{item.pk}/",
        "/queues/settings/",
        "/replays/",
        "/dashboards/executive/",
        "/dashboards/projects/",
        f"/dashboards/projects/{firm.managed_project.pk}/",
        "/dashboards/portfolio/",
        "/records/time-entries/",
        "/records/sync-events/",
        "/runs/",
        f"/runs/{run.pk}/",
        "/settings/systems/",
        f"/settings/systems/{firm.erp.pk}/",
        "/settings/tokens/",
        "/settings/branding/",
        "/audit/",
        "/api/docs/",
    ]


def charts_drawn(page):
    charts = page.locator(".chart[data-figure]")
    for n in range(charts.count()):
        chart = charts.nth(n)
        page.wait_for_function("el => el.dataset.rendered === '1'", arg=chart.element_handle())
        assert chart.locator("svg.main-svg").count() >= 1, f"{page.url}: chart {n} drew nothing"
    return charts.count()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.MANAGER, Role.EXECUTIVE])
def test_every_page_a_role_can_open_shows_no_csp_violation(page, firm, contoso, role, csp_violations):
    user = make_user(f"user-{role}", firm.workspace, role)
    Membership.objects.create(user=user, workspace=contoso.workspace, role=Role.EXECUTIVE)  # for the portfolio
    if role == Role.MANAGER:
        firm.manager_person.user = user
        firm.manager_person.save()
    sign_in(page, user.username)
    page.goto("/")
    if page.locator("h1").inner_text() != "Northwind":  # workspaces come in name order: Contoso first
        page.select_option("#workspace-switch", str(firm.workspace.pk))  # the script-driven switcher
        page.wait_for_function("document.querySelector('h1').textContent === 'Northwind'")

    opened, charts = [], 0
    for url in every_page(firm):
        response = page.goto(url)
        assert response.status < 500, f"{url} answered {response.status}"
        if response.status == 200:
            opened.append(url)
            page.wait_for_load_state("load")
            charts += charts_drawn(page)
        assert csp_violations == [], f"{url}: {csp_violations}"
    assert "/queues/" in opened and "/dashboards/executive/" in opened
    assert charts > 0  # every chart a page holds drew (charts_drawn waits for each)


def test_the_workspace_colours_apply_without_inline_style(page, firm, contoso):
    user = make_user("pat", firm.workspace, Role.ADMIN)
    Membership.objects.create(user=user, workspace=contoso.workspace, role=Role.ADMIN)
    sign_in(page, "pat")
    page.goto("/")
    if page.locator("h1").inner_text() != "Northwind":
        page.select_option("#workspace-switch", str(firm.workspace.pk))
        page.wait_for_function("document.querySelector('h1').textContent === 'Northwind'")
    page.wait_for_load_state("load")  # the workspace's theme.css too, which a busy machine serves last
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    assert accent == ACCENT
    page.goto("/dashboards/portfolio/")
    tile = page.locator('.workspace-tile[data-workspace="northwind"]')
    assert tile.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(170, 51, 102)"
    other = page.locator('.workspace-tile[data-workspace="contoso"]')
    assert other.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(36, 86, 166)"  # opsview's blue


def test_an_inline_style_is_refused_and_reported(page, firm, csp_violations):
    make_user("olga", firm.workspace, Role.OPERATOR)
    sign_in(page, "olga")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<p id=x style=\"color: red\">x</p>')"
    )
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.ran=1\">')"
    )
    page.wait_for_function("document.getElementById('x') !== null")
    page.wait_for_timeout(200)  # the violation events are queued, not dispatched at once

    assert page.locator("#x").evaluate("el => getComputedStyle(el).color") != "rgb(255, 0, 0)"
    assert page.evaluate("window.ran") is None
    refused = " ".join(csp_violations)
    assert "style-src-attr" in refused and "script-src-attr" in refused
    csp_violations.clear()  # seen: this test provoked them on purpose
