"""Admins add and change the workspace's connected systems."""

from opsview.audit.models import AuditEntry
from opsview.systems.models import System

NEW = {
    "name": "Xero",
    "slug": "xero",
    "kind": "billing",
    "vendor": "xero",
    "is_active": "on",
    "setting_client_id": "7F1C2D",
    "setting_client_secret": "xero-app-PLANTED-secret",
}


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


def test_credentials_are_stored_encrypted_and_shown_masked(client, ada, northwind):
    client.force_login(ada)
    secret = "hv-3f9a1c77d2e04b8e9aa1"
    client.post(
        f"/settings/systems/{northwind.harvest.pk}/",
        {
            "name": "Harvest",
            "slug": "harvest",
            "kind": "time_tracking",
            "is_active": "on",
            "connector_settings": '{"account_id": "123456"}',
            "credentials": f"api_token={secret}\naccount=acme",
        },
    )

    system = System.objects.get(pk=northwind.harvest.pk)
    assert secret not in system.credentials_encrypted
    assert system.credentials == {"api_token": secret, "account": "acme"}
    assert system.connector_settings == {"account_id": "123456"}
    page = client.get("/settings/systems/").content.decode()
    assert secret not in page and "••••9aa1" in page
    entry = AuditEntry.objects.get(action="system.change")
    assert entry.after["encrypted_settings"] == "account changed, api_token changed"
    assert secret not in str(entry.after)


def test_credentials_left_empty_are_kept_and_name_equals_removes(client, ada, northwind):
    northwind.harvest.credentials = {"api_token": "keep-me-please", "old": "x"}
    northwind.harvest.save()
    client.force_login(ada)
    form = {"name": "Harvest", "slug": "harvest", "kind": "time_tracking", "connector_settings": "{}"}
    client.post(f"/settings/systems/{northwind.harvest.pk}/", form | {"credentials": "old="})

    assert System.objects.get(pk=northwind.harvest.pk).credentials == {"api_token": "keep-me-please"}


def test_a_malformed_credentials_line_is_refused_with_its_number(client, ada, northwind):
    client.force_login(ada)
    form = {"name": "Harvest", "slug": "harvest", "kind": "time_tracking", "connector_settings": "{}"}
    response = client.post(f"/settings/systems/{northwind.harvest.pk}/", form | {"credentials": "a=1\nnot a pair"})

    assert "Line 2 is not &#x27;name=value&#x27;." in response.content.decode()
    assert System.objects.get(pk=northwind.harvest.pk).credentials_encrypted == ""


def test_credentials_encrypted_with_another_key_say_so(northwind, settings):
    from cryptography.fernet import Fernet

    northwind.harvest.credentials = {"api_token": "x" * 20}
    settings.OPSVIEW_CREDENTIALS_KEY = Fernet.generate_key().decode()

    assert "cannot be decrypted" in northwind.harvest.masked_credentials()["error"]


def test_production_refuses_to_start_without_a_credentials_key(tmp_path):
    import os
    import subprocess
    import sys

    env = os.environ | {"OPSVIEW_DEBUG": "0", "SECRET_KEY": "s" * 50, "OPSVIEW_CREDENTIALS_KEY": ""}
    env["OPSVIEW_VAR_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True)

    assert result.returncode != 0
    assert "OPSVIEW_CREDENTIALS_KEY must be set when OPSVIEW_DEBUG=0" in result.stderr
