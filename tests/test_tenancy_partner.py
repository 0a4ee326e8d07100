"""Tenancy of the partner pages: the portfolio, the onboarding checklist and the partner's branding."""

import pytest
from django.contrib.auth import get_user_model

from opsview.workspaces.models import Partner, PartnerMembership, PartnerRole
from opsview.workspaces.partners import sync_partner_access
from tests.conftest import PASSWORD, signed_in


@pytest.fixture
def two_partners(northwind, contoso):
    ledgerline = Partner.objects.create(name="Ledgerline Partners", slug="ledgerline")
    bluepeak = Partner.objects.create(name="Bluepeak IT", slug="bluepeak")
    for firm, partner in ((northwind, ledgerline), (contoso, bluepeak)):
        firm.workspace.partner = partner
        firm.workspace.save()
    users = {}
    for partner in (ledgerline, bluepeak):
        user = get_user_model().objects.create_user(f"admin-{partner.slug}", f"{partner.slug}@example.com", PASSWORD)
        PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.ADMIN)
        sync_partner_access(partner)
        users[partner.slug] = user
    return ledgerline, bluepeak, users


def test_a_partner_sees_only_its_own_firms_in_the_portfolio(client, two_partners):
    _, _, users = two_partners
    page = signed_in(client, users["bluepeak"]).get("/dashboards/portfolio/")
    assert 'data-workspace="contoso"' in page.text and "Northwind" not in page.text


def test_a_partner_admin_cannot_brand_another_partner(client, two_partners):
    ledgerline, bluepeak, users = two_partners
    signed_in(client, users["bluepeak"])
    page = client.get(f"/partner/branding/?partner={ledgerline.pk}")
    assert page.status_code == 200 and 'value="Bluepeak IT"' in page.text and "Ledgerline" not in page.text
    client.post(f"/partner/branding/?partner={ledgerline.pk}", {"name": "Taken", "accent_color": "#000000"})
    ledgerline.refresh_from_db()
    bluepeak.refresh_from_db()
    assert ledgerline.name == "Ledgerline Partners" and bluepeak.name == "Taken"


def test_a_firm_admin_an_operator_and_an_executive_cannot_brand_the_partner(client, two_partners, ada, olivia, erin):
    for user in (ada, olivia, erin):
        signed_in(client, user)
        assert client.get("/partner/branding/").status_code == 403
        assert client.post("/partner/branding/", {"name": "X", "accent_color": "#000000"}).status_code == 403
    assert Partner.objects.filter(name="X").count() == 0


def test_only_the_firms_admins_see_its_checklist_and_mark_its_review(client, northwind, olivia, erin, max_manager):
    for user in (olivia, erin, max_manager):
        signed_in(client, user)
        assert client.get("/onboarding/").status_code == 403
        assert client.post("/queues/settings/", {"kind": "reviewed"}).status_code == 403
        assert "Set up Northwind" not in client.get("/").text
    northwind.workspace.refresh_from_db()
    assert northwind.workspace.queue_settings_reviewed_at is None


def test_the_checklist_is_of_the_current_firm_only(client, northwind, contoso, oscar):
    page = signed_in(client, oscar).get("/onboarding/")
    assert page.status_code == 200 and "Northwind" not in page.text
