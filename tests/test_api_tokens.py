"""A token reaches only its own workspace and system, and is stored hashed."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from opsview.audit.models import AuditEntry
from opsview.systems.models import ApiToken, hash_token
from opsview.systems.services import revoke_token


def client_with(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.parametrize(
    "header, message",
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer opv_not-a-real-token", "Unknown token."),
        ("Bearer", "The Authorization header must be 'Bearer <token>'."),
    ],
)
def test_missing_or_wrong_tokens_get_401(northwind, header, message):
    response = client_with(header).post("/api/v1/sync-events/", {"items": []}, format="json")

    assert response.status_code == 401
    assert response.json()["detail"] == message
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_gets_401_at_once(api, northwind):
    assert api.get("/api/v1/whoami/").status_code == 200
    revoke_token(None, northwind.token)
    response = api.get("/api/v1/whoami/")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_whoami_names_the_tokens_workspace_and_system(api):
    assert api.get("/api/v1/whoami/").json() == {"workspace": "northwind", "system": "harvest", "token": "nightly sync"}


def test_tokens_are_stored_hashed(northwind):
    stored = ApiToken.objects.get(pk=northwind.token.pk)

    assert northwind.raw_token not in (stored.key_hash, stored.hint)
    assert stored.key_hash == hash_token(northwind.raw_token)
    assert northwind.raw_token.startswith(stored.hint)


def test_a_signed_in_user_cannot_use_the_ingest_api(client, ada):
    client.force_login(ada)
    response = client.post("/api/v1/sync-events/", {"items": []}, content_type="application/json")

    assert response.status_code == 403
    assert "integration token" in response.json()["detail"]


def test_create_token_command_prints_it_once_and_audits(northwind, capsys):
    call_command("create_token", "--workspace", "northwind", "--system", "tryton", "--name", "ERP poller")

    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(key_hash=hash_token(raw))
    assert (token.system, token.name) == (northwind.erp, "ERP poller")
    entry = AuditEntry.objects.get(action="token.issue", target_id=str(token.pk))
    assert entry.actor_label == "manage.py create_token"
    assert client_with(f"Bearer {raw}").get("/api/v1/whoami/").json()["system"] == "tryton"


def test_create_token_command_says_what_systems_exist(northwind):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"No system 'sap' in workspace 'northwind' \(it has: harvest, tryton\)"):
        call_command("create_token", "--workspace", "northwind", "--system", "sap", "--name", "x")


def test_revoke_token_command_by_hint(api, northwind, capsys):
    call_command("revoke_token", northwind.token.hint)

    assert "Revoked token 'nightly sync'" in capsys.readouterr().out
    assert api.get("/api/v1/whoami/").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", target_id=str(northwind.token.pk)).exists()
