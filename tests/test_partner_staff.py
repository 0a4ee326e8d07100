"""A partner admin manages the partner's staff; their roles in every firm of the partner follow at once."""

import pytest
from django.contrib.auth import get_user_model

from opsview.audit.models import AuditEntry
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.conftest import PASSWORD


@pytest.fixture
def partner(northwind, contoso):
    partner = Partner.objects.create(name="Ledgerline Partners")
    Workspace.objects.filter(pk__in=[northwind.workspace.pk, contoso.workspace.pk]).update(partner=partner)
    return partner


@pytest.fixture
def paula(partner):
    user = get_user_model().objects.create_user("paula", "paula@ledgerline.example", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.ADMIN)
    sync_partner_access(partner)
    return user


@pytest.fixture
def sam(db):
    return get_user_model().objects.create_user("sam", "sam@ledgerline.example", PASSWORD)


def roles_of(user):
    return dict(Membership.objects.filter(user=user).values_list("workspace__slug", "role"))


def test_a_partner_admin_adds_changes_and_removes_staff_and_their_firm_roles_follow(client, partner, paula, sam):
    client.force_login(paula)
    assert "Add to staff" in client.get("/partner/staff/").content.decode()

    assert client.post("/partner/staff/", {"email": "SAM@ledgerline.example", "role": "operator"}).status_code == 302
    assert roles_of(sam) == {"northwind": Role.OPERATOR, "contoso": Role.OPERATOR}
    staff = PartnerMembership.objects.get(user=sam)

    client.post(f"/partner/staff/{staff.pk}/role/", {"role": "admin"})
    assert roles_of(sam) == {"northwind": Role.ADMIN, "contoso": Role.ADMIN}

    client.post(f"/partner/staff/{staff.pk}/remove/")
    assert roles_of(sam) == {}
    # Each change is on the record of every firm it gave access to.
    for firm in Workspace.objects.filter(partner=partner):
        actions = list(AuditEntry.objects.for_workspace(firm).order_by("pk").values_list("action", flat=True))
        assert actions == ["partner_staff.added", "partner_staff.role_changed", "partner_staff.removed"]


def test_the_last_partner_admin_cannot_leave_or_be_demoted(client, partner, paula):
    client.force_login(paula)
    staff = PartnerMembership.objects.get(user=paula)
    demoted = client.post(f"/partner/staff/{staff.pk}/role/", {"role": "operator"}, follow=True)
    assert "last partner admin" in demoted.content.decode()
    removed = client.post(f"/partner/staff/{staff.pk}/remove/", follow=True)
    assert "last partner admin" in removed.content.decode()
    assert PartnerMembership.objects.get(user=paula).role == PartnerRole.ADMIN


def test_adding_an_address_without_an_account_is_a_form_error(client, partner, paula):
    client.force_login(paula)
    response = client.post("/partner/staff/", {"email": "nobody@example.com", "role": "operator"})
    assert response.status_code == 400 and "No active account" in response.content.decode()
    assert PartnerMembership.objects.count() == 1


def test_only_partner_admins_manage_staff(client, partner, paula, sam, ada):
    operator = PartnerMembership.objects.create(user=sam, partner=partner, role=PartnerRole.OPERATOR)
    sync_partner_access(partner)
    staff = PartnerMembership.objects.get(user=paula)
    for user in (sam, ada):  # a partner operator; a firm's own admin
        client.force_login(user)
        assert client.get("/partner/staff/").status_code == 403
        assert client.post("/partner/staff/", {"email": "ada@example.com", "role": "admin"}).status_code == 403
        assert client.post(f"/partner/staff/{staff.pk}/remove/").status_code == 404
        assert client.post(f"/partner/staff/{operator.pk}/role/", {"role": "admin"}).status_code == 404
    assert PartnerMembership.objects.get(pk=operator.pk).role == PartnerRole.OPERATOR
    assert PartnerMembership.objects.filter(pk=staff.pk).exists()


def test_a_partner_admin_sees_the_link_to_the_staff_page(client, partner, paula, ada):
    client.force_login(paula)
    assert 'href="/partner/staff/"' in client.get("/").content.decode()
    client.force_login(ada)
    assert 'href="/partner/staff/"' not in client.get("/").content.decode()
