"""A partner onboards a new client firm from the browser, in real Chromium, to its first exceptions.

A partner admin creates the firm from the portfolio, invites an operator (the link from the mail signs
them in), connects the firm's ERP (a real Tryton) and tests it, creates the integration job's token, and
a job sends its first batch with that token over HTTP, as the example on the page shows. The page turns
to "First batch received" by itself, the first exception is in the queue, the queue settings are
reviewed, and the checklist, on the firm's page and in the portfolio, is complete. ``STEPS`` counts
what the person does (a page opened, a field filled, a button pressed) for the issue's note.
"""

import re
import shlex

import httpx
import pytest
from django.core import mail

from opsview.firms.checklist import onboarding
from opsview.queues.models import ExceptionItem
from opsview.systems.models import System
from opsview.workspaces.models import Membership, Workspace
from opsview.workspaces.roles import Role
from tests.browser import BROWSER, sign_in
from tests.test_firms_browser import paula  # noqa: F401  (the fixture: a partner admin of Northwind's partner)

pytestmark = [*BROWSER, pytest.mark.tryton]


class Steps:
    """Counts the person's actions: each page opened, field filled, option chosen or button pressed."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def goto(self, url):
        self.count += 1
        self.page.goto(url)

    def fill(self, selector, value):
        self.count += 1
        self.page.fill(selector, value)

    def choose(self, selector, value):
        self.count += 1
        self.page.select_option(selector, value)

    def press(self, button):
        self.count += 1
        button.click()


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20000)
    yield context
    context.close()


@pytest.mark.usefixtures("paula")
def test_a_partner_onboards_a_firm_from_the_browser_to_its_first_exceptions(
    browser, context, live_server, tryton_server
):
    page = context.new_page()
    sign_in(page, "paula")
    steps = Steps(page)

    # The firm, from the portfolio.
    steps.goto("/dashboards/portfolio/")
    steps.press(page.get_by_role("link", name="New firm"))
    steps.fill("input[name=name]", "Fjord Consulting")
    steps.fill("input[name=time_zone]", "Europe/Oslo")
    steps.fill("input[name=currency]", "NOK")
    steps.fill("input[name=accent_color]", "#0f766e")
    steps.press(page.get_by_role("button", name="Create firm"))
    page.wait_for_url(re.compile(r"/$"))
    firm = Workspace.objects.get(slug="fjord-consulting")
    assert "Fjord Consulting" in page.locator("header").inner_text()
    assert onboarding(firm).done < onboarding(firm).total

    # An operator, invited by mail; the link signs them in.
    steps.press(page.locator("nav summary", has_text="Settings"))
    steps.press(page.locator("nav").get_by_role("link", name="Members"))
    steps.fill("input[name=email]", "nina@fjord.example")
    steps.choose("select[name=role]", "operator")
    steps.press(page.get_by_role("button", name="Send invitation"))
    page.wait_for_selector("text=Invitation sent to nina@fjord.example")
    [message] = mail.outbox
    link = re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)
    newcomer = browser.new_context(base_url=live_server.url)
    try:
        theirs = newcomer.new_page()
        theirs.goto(link)
        theirs.fill("input[name=first_name]", "Nina")
        theirs.fill("input[name=password1]", "quiet-harbour-2917")
        theirs.fill("input[name=password2]", "quiet-harbour-2917")
        theirs.click("button:has-text('Accept invitation')")
        theirs.wait_for_url(re.compile(r"/$"))
        assert "Fjord Consulting" in theirs.locator("header").inner_text()
    finally:
        newcomer.close()
    assert Membership.objects.get(user__username="nina", workspace=firm).role == Role.OPERATOR

    # The ERP: a real Tryton, its settings typed into the form its connector declares, then tested.
    steps.press(page.locator("nav summary", has_text="Settings"))
    steps.press(page.locator("nav").get_by_role("link", name="Systems"))
    page.wait_for_url(re.compile(r"/settings/systems/$"))  # and its htmx is listening
    steps.choose("#id_vendor", "tryton")
    page.get_by_label("Server address").wait_for()
    steps.fill("#id_name", "Tryton ERP")
    steps.fill("#id_slug", "erp")
    steps.choose("#id_kind", "erp")
    steps.fill("#id_setting_url", tryton_server.url)
    steps.fill("#id_setting_database", tryton_server.database)
    steps.fill("#id_setting_username", "admin")
    steps.fill("#id_setting_password", tryton_server.password)
    steps.press(page.get_by_role("button", name="Save system"))
    page.wait_for_selector("text=System 'Tryton ERP' saved.")
    system = System.objects.get(workspace=firm, slug="erp")
    assert tryton_server.password not in page.content()
    steps.press(page.get_by_role("button", name="Test connection"))
    page.wait_for_selector("#connection-outcome")
    assert "Connected: it answered and accepted the login." in page.inner_text("#connection")

    # The job's token and its first batch, sent as the example on the page shows.
    steps.press(page.get_by_role("button", name="Create token"))
    page.wait_for_selector("#example-request")
    page.get_by_text("Waiting for the first data").wait_for(state="visible")
    raw = page.inner_text("#new-token").strip()
    words = shlex.split(page.inner_text("#example-request").replace("\\\n", " "))
    url = next(word for word in words if word.startswith("http"))
    body = words[words.index("-d") + 1]
    answer = httpx.post(
        url, content=body, headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    page.wait_for_selector("text=/First batch received/", timeout=30000)
    assert ExceptionItem.objects.filter(workspace=firm, status="open").exists()
    steps.goto("/queues/")
    assert page.locator("table.items tbody tr").count() >= 1

    # The queue settings, reviewed; then the checklist is complete, here and in the portfolio.
    steps.press(page.locator("nav summary", has_text="Settings"))
    steps.press(page.locator("nav").get_by_role("link", name="Queue settings"))
    steps.press(page.get_by_role("button", name="Mark as reviewed"))
    page.wait_for_load_state()
    steps.goto("/onboarding/")
    checklist = onboarding(firm)
    assert checklist.complete, [step.key for step in checklist.steps if not step.done]
    assert f"{checklist.total}/{checklist.total}" in page.inner_text("main") or "complete" in page.inner_text("main")
    steps.goto("/dashboards/portfolio/")
    row = page.locator("tr", has_text="Fjord Consulting")
    assert f"{checklist.total}/{checklist.total}" in row.inner_text()
    assert system.pk and steps.count <= 40
    print(f"onboarding steps={steps.count}")
