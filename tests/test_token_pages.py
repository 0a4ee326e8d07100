"""Admins create and revoke API tokens in the UI; nobody else can."""

from opsview.audit.models import AuditEntry
from opsview.systems.models import ApiToken, hash_token


def test_an_admin_creates_a_token_and_sees_it_exactly_once(client, ada, northwind):
    client.force_login(ada)
    response = client.post("/settings/tokens/", {"system": northwind.erp.pk, "name": "ERP poller"})

    raw = response.context["new_token"]
    token = ApiToken.objects.get(key_hash=hash_token(raw))
    assert (token.system, token.created_by) == (northwind.erp, ada)
    assert raw.encode() in response.content
    assert b"it will not be shown again" in response.content
    assert raw.encode() not in client.get("/settings/tokens/").content
    entry = AuditEntry.objects.get(action="token.issue")
    assert (entry.actor, entry.after) == (ada, {"name": "ERP poller", "system": "tryton"})


def test_a_token_needs_a_name_and_a_system_of_this_workspace(client, ada, northwind, contoso):
    client.force_login(ada)
    response = client.post("/settings/tokens/", {"system": contoso.erp.pk, "name": ""})

    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert b"This field is required" in response.content
    assert ApiToken.objects.count() == 2  # the two fixtures' tokens only


def test_an_admin_revokes_a_token(client, ada, northwind):
    client.force_login(ada)
    response = client.post(f"/settings/tokens/{northwind.token.pk}/revoke/", follow=True)

    assert b"revoked; jobs using it now get 401" in response.content
    assert ApiToken.objects.get(pk=northwind.token.pk).revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoke", actor=ada).count() == 1


def test_the_token_list_shows_hints_never_secrets(client, ada, northwind):
    client.force_login(ada)
    page = client.get("/settings/tokens/").content

    assert northwind.token.hint.encode() in page
    assert northwind.raw_token.encode() not in page
    assert northwind.token.key_hash.encode() not in page


def test_other_roles_cannot_manage_tokens(client, olivia, erin, max_manager, northwind):
    for user in (olivia, erin, max_manager):
        client.force_login(user)
        assert client.get("/settings/tokens/").status_code == 403
        assert client.post("/settings/tokens/", {"system": northwind.erp.pk, "name": "x"}).status_code == 403
        assert client.post(f"/settings/tokens/{northwind.token.pk}/revoke/").status_code == 403
        assert b"API tokens</a>" not in client.get("/").content
    assert ApiToken.objects.get(pk=northwind.token.pk).revoked_at is None
    assert not AuditEntry.objects.exists()
