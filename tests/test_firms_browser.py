"""In real Chromium: a partner admin creates a firm, invites an operator, and the operator's link signs them in."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.browser import BROWSER, sign_in
from tests.conftest import PASSWORD

pytestmark = BROWSER


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    yield context
    context.close()


@pytest.fixture
def paula(transactional_db, northwind):
    partner = Partner.objects.create(name="Ledgerline Partners")
    Workspace.objects.filter(pk=northwind.workspace.pk).update(partner=partner)
    user = get_user_model().objects.create_user("paula", "paula@ledgerline.example", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.ADMIN)
    sync_partner_access(partner)
    return user


def test_new_firm_then_invite_an_operator_who_signs_in_from_the_mail(browser, context, live_server, paula):
    page = context.new_page()
    sign_in(page, "paula")
    page.goto("/firms/new/")
    page.fill("input[name=name]", "Fjord Consulting")
    page.fill("input[name=time_zone]", "Europe/Oslo")
    page.fill("input[name=currency]", "NOK")
    page.click("button:has-text('Create firm')")
    page.wait_for_url(re.compile(r"/$"))
    assert "Fjord Consulting" in page.locator("header").inner_text()

    page.click("nav summary:has-text('Settings')")
    page.click("nav >> text=Members")
    page.fill("input[name=email]", "nina@fjord.example")
    page.select_option("select[name=role]", "operator")
    page.click("button:has-text('Send invitation')")
    page.wait_for_selector("text=Invitation sent to nina@fjord.example")

    [message] = mail.outbox
    link = re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)
    assert urlsplit(link).netloc == urlsplit(live_server.url).netloc  # the address the admin uses
    newcomer = browser.new_context(base_url=live_server.url)
    try:
        theirs = newcomer.new_page()
        theirs.goto(link)
        theirs.fill("input[name=first_name]", "Nina")
        theirs.fill("input[name=password1]", "quiet-harbour-2917")
        theirs.fill("input[name=password2]", "quiet-harbour-2917")
        theirs.click("button:has-text('Accept invitation')")
        theirs.wait_for_url(re.compile(r"/$"))
        header = theirs.locator("header").inner_text()
        assert "Fjord Consulting" in header and "nina" in header and "Operator" in header
    finally:
        newcomer.close()
    firm = Workspace.objects.get(slug="fjord-consulting")
    assert Membership.objects.get(user__username="nina", workspace=firm).role == Role.OPERATOR
