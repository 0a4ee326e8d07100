"""A firm's admins manage its members: roles that hold from the next click, removal, deactivation, the last admin."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from opsview.audit.models import AuditEntry
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.conftest import PASSWORD, make_user


def membership(user, firm):
    return Membership.objects.get(user=user, workspace=firm.workspace)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_members_page_lists_roles_last_sign_in_and_a_link_to_what_each_did(client, northwind, ada, olivia):
    Client().post("/login/", {"username": "olivia", "password": PASSWORD})
    client.force_login(ada)
    page = client.get("/settings/members/").content.decode()
    assert "olivia" in page and "Operator" in page
    assert 'href="/audit/?actor=olivia"' in page
    olivia.refresh_from_db()
    assert olivia.last_login is not None and f"{olivia.last_login:%Y-%m-%d}" in page


def test_a_role_change_holds_from_the_members_very_next_request(client, northwind, ada, olivia):
    hers = Client()
    hers.force_login(olivia)
    assert hers.get("/settings/systems/").status_code == 403
    client.force_login(ada)

    response = client.post(f"/settings/members/{membership(olivia, northwind).pk}/role/", {"role": Role.ADMIN})

    assert response.status_code == 302
    assert hers.get("/settings/systems/").status_code == 200
    assert hers.get("/settings/members/").status_code == 200
    entry = AuditEntry.objects.get(action="member.role_changed")
    assert (entry.actor, entry.before["role"], entry.after["role"]) == (ada, "operator", "admin")
    # The members page's "What they did" link: the audit page filtered to ada, and the change is there.
    assert "member.role_changed" in client.get("/audit/?actor=ada").content.decode()
    assert "member.role_changed" not in client.get("/audit/?actor=olivia").content.decode()


def test_nobody_removes_or_demotes_the_last_admin(client, northwind, ada):
    client.force_login(ada)
    mine = membership(ada, northwind).pk
    demoted = client.post(f"/settings/members/{mine}/role/", {"role": Role.OPERATOR}, follow=True)
    assert "last admin of Northwind" in " ".join(messages_of(demoted))
    removed = client.post(f"/settings/members/{mine}/remove/", follow=True)
    assert "last admin of Northwind" in " ".join(messages_of(removed))
    assert membership(ada, northwind).role == Role.ADMIN
    assert not AuditEntry.objects.filter(action__startswith="member.").exists()


def test_an_admin_removes_a_member_from_the_firm_only(client, northwind, contoso, ada, olivia):
    Membership.objects.create(user=olivia, workspace=contoso.workspace, role=Role.OPERATOR)
    client.force_login(ada)
    assert client.post(f"/settings/members/{membership(olivia, northwind).pk}/remove/").status_code == 302
    assert list(Membership.objects.filter(user=olivia).values_list("workspace__slug", flat=True)) == ["contoso"]
    entry = AuditEntry.objects.for_workspace(northwind.workspace).get(action="member.removed")
    assert entry.before == {"user": "olivia", "role": "operator"} and entry.after is None


def test_deactivating_an_account_ends_its_sessions(client, northwind, ada, olivia):
    hers = Client()
    hers.force_login(olivia)
    assert hers.get("/queues/").status_code == 200
    client.force_login(ada)

    assert client.post(f"/settings/members/{membership(olivia, northwind).pk}/deactivate/").status_code == 302

    assert hers.get("/queues/")["Location"].startswith("/login/")
    assert not Client().login(username="olivia", password=PASSWORD)
    assert AuditEntry.objects.get(action="member.deactivated").after == {"active": False}


def test_deactivating_is_refused_when_the_user_belongs_to_a_firm_the_admin_does_not_administer(
    client, northwind, contoso, ada, olivia
):
    Membership.objects.create(user=olivia, workspace=contoso.workspace, role=Role.OPERATOR)
    client.force_login(ada)
    response = client.post(f"/settings/members/{membership(olivia, northwind).pk}/deactivate/", follow=True)
    assert "firm(s) you do not administer" in " ".join(messages_of(response))
    olivia.refresh_from_db()
    assert olivia.is_active
    # An admin of both firms may.
    Membership.objects.create(user=ada, workspace=contoso.workspace, role=Role.ADMIN)
    client.post("/workspace/switch/", {"workspace": northwind.workspace.pk})
    client.post(f"/settings/members/{membership(olivia, northwind).pk}/deactivate/")
    olivia.refresh_from_db()
    assert not olivia.is_active
    assert AuditEntry.objects.filter(action="member.deactivated").count() == 2  # in each of her firms


def test_partner_staff_are_shown_as_such_and_not_changed_here(client, northwind, ada):
    partner = Partner.objects.create(name="Ledgerline Partners")
    Workspace.objects.filter(pk=northwind.workspace.pk).update(partner=partner)
    paula = get_user_model().objects.create_user("paula", "paula@ledgerline.example", PASSWORD)
    PartnerMembership.objects.create(user=paula, partner=partner, role=PartnerRole.OPERATOR)
    sync_partner_access(partner)
    client.force_login(ada)
    assert "partner staff of Ledgerline Partners" in client.get("/settings/members/").content.decode()
    response = client.post(f"/settings/members/{membership(paula, northwind).pk}/role/", {"role": "admin"}, follow=True)
    assert "comes from the partner" in " ".join(messages_of(response))
    assert membership(paula, northwind).role == Role.OPERATOR


@pytest.mark.parametrize("action", ["role", "remove", "deactivate"])
def test_another_firms_admin_cannot_see_or_touch_these_members(client, northwind, oscar, olivia, action):
    client.force_login(oscar)
    assert "olivia" not in client.get("/settings/members/").content.decode()
    response = client.post(f"/settings/members/{membership(olivia, northwind).pk}/{action}/", {"role": "admin"})
    assert response.status_code == 404
    olivia.refresh_from_db()
    assert olivia.is_active and membership(olivia, northwind).role == Role.OPERATOR


def test_operators_and_executives_are_refused_the_members_page(client, northwind, olivia, erin):
    for user in (olivia, erin):
        client.force_login(user)
        assert client.get("/settings/members/").status_code == 403
        url = f"/settings/members/{membership(user, northwind).pk}/role/"
        assert client.post(url, {"role": "admin"}).status_code == 403
    assert membership(olivia, northwind).role == Role.OPERATOR


def test_the_navigation_links_admins_to_the_members_page(client, northwind, ada, olivia):
    client.force_login(ada)
    assert 'href="/settings/members/"' in client.get("/").content.decode()
    client.force_login(olivia)
    assert 'href="/settings/members/"' not in client.get("/").content.decode()


def test_an_invited_role_must_be_a_role(client, northwind, ada):
    client.force_login(ada)
    response = client.post("/settings/members/", {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 400 and "role" in response.context["invite_form"].errors
    make_user("someone", northwind.workspace, Role.EXECUTIVE)
