"""Admins add and change the workspace's connected systems."""

from opsview.audit.models import AuditEntry
from opsview.workspaces.models import System

NEW = {"name": "Xero", "slug": "xero", "kind": "billing", "vendor": "xero", "is_active": "on"}


def test_an_admin_adds_a_system_and_it_is_audited(client, ada, northwind):
    client.force_login(ada)
    response = client.post("/settings/systems/", NEW, follow=True)

    assert b"System &#x27;Xero&#x27; saved." in response.content
    system = System.objects.for_workspace(northwind.workspace).get(slug="xero")
    entry = AuditEntry.objects.get(action="system.create")
    assert (entry.actor, entry.target_id, entry.after["kind"]) == (ada, str(system.pk), "billing")


def test_a_slug_is_unique_within_the_workspace_and_the_error_says_so(client, ada, northwind):
    client.force_login(ada)
    response = client.post("/settings/systems/", NEW | {"slug": "harvest"})

    assert "Another system of this workspace already uses &#x27;harvest&#x27;." in response.content.decode()
    assert System.objects.for_workspace(northwind.workspace).count() == 2


def test_an_admin_deactivates_a_system_with_the_change_audited(client, ada, northwind):
    client.force_login(ada)
    client.post(f"/settings/systems/{northwind.erp.pk}/", {"name": "Tryton", "slug": "tryton", "kind": "erp"})

    assert System.objects.get(pk=northwind.erp.pk).is_active is False
    entry = AuditEntry.objects.get(action="system.change")
    assert (entry.before["is_active"], entry.after["is_active"]) == (True, False)


def test_a_deactivated_systems_token_is_refused(client, ada, northwind, api):
    northwind.harvest.is_active = False
    northwind.harvest.save()

    response = api.get("/api/v1/whoami/")
    assert response.status_code == 401
    assert response.json()["detail"] == "System 'harvest' is deactivated."


def test_only_admins_manage_systems(client, olivia, erin, max_manager, northwind):
    for user in (olivia, erin, max_manager):
        client.force_login(user)
        assert client.get("/settings/systems/").status_code == 403
        assert client.post("/settings/systems/", NEW).status_code == 403
        assert client.post(f"/settings/systems/{northwind.erp.pk}/", NEW).status_code == 403
    assert not System.objects.filter(slug="xero").exists()
    assert not AuditEntry.objects.exists()
