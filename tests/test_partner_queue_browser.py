"""In real Chromium: a partner operator switches the queue to all their firms, resolves a selection that spans
two firms in one action, and opens another firm's exception, whose page shows that firm's header."""

import re

import pytest
from django.contrib.auth import get_user_model

from opsview.queues.models import ExceptionItem, Status
from opsview.workspaces.models import Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from tests.browser import BROWSER, sign_in
from tests.conftest import PASSWORD
from tests.queue_support import failure, send
from tests.test_partner_queue import api_of

pytestmark = BROWSER


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def partner_desk(transactional_db, api, northwind, contoso):
    send(api, *[failure(f"NW-{n}", payload={"amount": "500", "currency": "EUR"}) for n in range(2)])
    send(api_of(contoso), *[failure(f"CX-{n}", payload={"amount": "300", "currency": "GBP"}) for n in range(2)])
    partner = Partner.objects.create(name="Ledgerline Partners", slug="ledgerline")
    Workspace.objects.filter(pk__in=[northwind.workspace.pk, contoso.workspace.pk]).update(partner=partner)
    user = get_user_model().objects.create_user("partnerops", "ops@ledgerline.example", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.OPERATOR)
    sync_partner_access(partner)
    return user


def test_a_partner_operator_works_two_firms_from_one_queue(page, partner_desk):
    sign_in(page, "partnerops")
    page.goto("/queues/")
    page.get_by_role("link", name="All my firms").click()
    page.wait_for_url(re.compile(r"firm=all"))
    page.get_by_text("4 exceptions match.").wait_for()
    assert page.locator("table.items .firm").all_inner_texts() == ["Northwind", "Northwind", "Contoso", "Contoso"]
    assert page.locator("[data-currency]").all_inner_texts() == [
        "EUR 1,000.00 at stake in 2 records, 2 exceptions",
        "GBP 600.00 at stake in 2 records, 2 exceptions",
    ]

    page.locator('tr[data-record="NW-0"] input[name=ids]').check()
    page.locator('tr[data-record="CX-0"] input[name=ids]').check()
    page.select_option("#bulk select[name=action]", "resolve")
    page.select_option("#bulk select[name=resolution]", "fixed_at_source")
    page.get_by_role("button", name="Apply to selected").click()

    page.get_by_text("2 exceptions resolved (1 in Contoso, 1 in Northwind).").wait_for()
    page.get_by_text("2 exceptions match.").wait_for(state="visible")  # back on the list across firms, open ones
    resolved = ExceptionItem.objects.filter(status=Status.RESOLVED)
    assert sorted(resolved.values_list("external_id", flat=True)) == ["CX-0", "NW-0"]

    # Contoso is the current firm (the first by name): Northwind's exception opens in Northwind.
    page.locator('tr[data-record="NW-1"] a', has_text="NW-1").first.click()
    page.wait_for_url(re.compile(r"/queues/\d+/\?firm=all"))
    # Someone with several firms sees the current one where the firm's name stands: the switcher's choice.
    assert page.locator("#workspace-switch option:checked").inner_text() == "Northwind"
    page.get_by_text("Switched to Northwind, the firm of this exception.").wait_for()
    page.get_by_role("link", name="← Queues: all my firms").click()
    page.wait_for_url(re.compile(r"/queues/\?firm=all$"))
    page.get_by_text("This firm (Northwind)").wait_for(state="visible")
