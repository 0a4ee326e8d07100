"""Connecting Xero with OAuth 2.0 from the system page, and keeping its tokens fresh in every pull and check.

Xero's identity service, /connections and /Organisation are a real local HTTP server playing Xero's
published contracts (tests/xero_identity_support.py); the browser is Django's test client.
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connectors import xero_oauth
from connectors.errors import AuthenticationFailed
from opsview.alerts.models import Alert, RuleKind
from opsview.audit.models import AuditEntry
from opsview.systems import credentials as vault
from opsview.systems.connection import build_connector
from opsview.systems.models import ConnectionStatus, System
from opsview.systems.services import check_connection, save_system
from opsview.systems.xero import token_custodian
from tests.alerts_support import check, only_rule, tasks_at_once  # noqa: F401 - tasks_at_once is autouse
from tests.conftest import signed_in
from tests.xero_identity_support import CLIENT_ID, CLIENT_SECRET, REFUSED, XeroIdentity

CALLBACK = "http://testserver/settings/xero/callback/"
TENANT = "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"


@pytest.fixture
def xero(server, settings):
    double = XeroIdentity(server)
    settings.XERO_AUTHORIZE_URL = f"{server.url}/identity/connect/authorize"
    settings.XERO_TOKEN_URL = double.token_url
    settings.XERO_CONNECTIONS_URL = double.connections_url
    return double


@pytest.fixture
def system(northwind, ada, xero):
    """Northwind's Xero with the app's client id and secret entered, not connected yet."""
    xero_system = System(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing", vendor="xero")
    xero_system.connector_settings = {"client_id": CLIENT_ID, "accounting_url": xero.accounting_url}
    return save_system(ada, xero_system, {"client_secret": CLIENT_SECRET})


def connected(system, xero, expires_in):
    """``system`` as the OAuth flow leaves it, its access token expiring in ``expires_in``; the granted tokens."""
    granted = xero.grant()
    expires_at = timezone.now() + expires_in
    tokens = xero_oauth.Tokens(granted["access_token"], granted["refresh_token"], expires_at)
    system.credentials = {**system.credentials, **tokens.as_credentials()}
    system.connector_settings = {**system.connector_settings, "tenant_id": TENANT, "tenant_name": "Northwind Ltd"}
    system.save()
    return granted


def press_connect(client, system):
    """Press Connect to Xero; the consent URL's query."""
    response = client.post(reverse("xero-connect", args=[system.pk]))
    assert response.status_code == 302
    parts = urlsplit(response.url)
    assert parts.path == "/identity/connect/authorize"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def secrets_of(system, xero):
    stored = system.credentials
    return [CLIENT_SECRET, stored.get("access_token"), stored.get("refresh_token"), *xero.live_refresh]


def test_connecting_xero_from_the_system_page(client, system, ada, xero):
    signed_in(client, ada)
    page = client.get(reverse("system-edit", args=[system.pk])).content.decode()
    assert f'value="{CALLBACK}"' in page and "Connect to Xero" in page  # the redirect URL to paste into the app

    query = press_connect(client, system)
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == CALLBACK
    assert {"offline_access", "accounting.transactions", "projects"} <= set(query["scope"].split())

    # Xero's consent page sends the browser back with a code and the state it was given.
    code = xero.issue_code(CALLBACK)
    response = client.get(reverse("xero-callback"), {"code": code, "state": query["state"]})
    assert response.status_code == 302 and response.url == reverse("system-edit", args=[system.pk])

    system.refresh_from_db()
    stored = system.credentials
    assert stored["access_token"] in xero.live_access and stored["refresh_token"] in xero.live_refresh
    assert stored["client_secret"] == CLIENT_SECRET
    for secret in (stored["access_token"], stored["refresh_token"], CLIENT_SECRET):
        assert secret not in system.credentials_encrypted  # encrypted at rest
    assert system.connector_settings["tenant_id"] == TENANT
    assert system.connection_status == ConnectionStatus.OK

    [entry] = AuditEntry.objects.filter(action="system.connected")
    assert entry.actor == ada and entry.after["tenant_name"] == "Northwind Ltd"
    audit_text = str(entry.before) + str(entry.after)

    listing = client.get(reverse("systems")).content.decode()
    edit = client.get(reverse("system-edit", args=[system.pk])).content.decode()
    audit_page = client.get(reverse("audit")).content.decode()
    assert "Northwind Ltd" in edit and "Connected" in edit
    for secret in secrets_of(system, xero):
        assert secret not in listing and secret not in edit and secret not in audit_text and secret not in audit_page

    # The state worked once: Xero's answer replayed is refused and changes nothing.
    again = client.get(reverse("xero-callback"), {"code": xero.issue_code(CALLBACK), "state": query["state"]})
    assert again.status_code == 400
    assert System.objects.get(pk=system.pk).credentials_encrypted == system.credentials_encrypted


def test_with_several_organisations_the_admin_chooses_one(client, system, ada, xero):
    xero.tenants.append(("6f1c4a0e-1111-4a00-9b6e-000000000002", "Northwind Consulting GmbH"))
    signed_in(client, ada)
    query = press_connect(client, system)
    response = client.get(reverse("xero-callback"), {"code": xero.issue_code(CALLBACK), "state": query["state"]})
    assert response.url == reverse("xero-tenant", args=[system.pk])
    page = client.get(response.url).content.decode()
    assert "Northwind Ltd" in page and "Northwind Consulting GmbH" in page
    system.refresh_from_db()
    assert "tenant_id" not in system.connector_settings and system.connection_status == ConnectionStatus.UNTESTED

    refused = client.post(response.url, {"tenant": "not-one-of-them"})
    assert refused.status_code == 400 and "Choose one of the organisations" in refused.content.decode()
    client.post(response.url, {"tenant": "6f1c4a0e-1111-4a00-9b6e-000000000002"})
    system.refresh_from_db()
    assert system.connector_settings["tenant_name"] == "Northwind Consulting GmbH"
    assert system.connection_status == ConnectionStatus.OK


@pytest.mark.parametrize("state", [None, "", "forged-state"])
def test_an_answer_without_the_sessions_state_is_refused(client, system, ada, xero, state):
    signed_in(client, ada)
    press_connect(client, system)
    params = {"code": xero.issue_code(CALLBACK)} | ({} if state is None else {"state": state})
    response = client.get(reverse("xero-callback"), params)
    assert response.status_code == 400 and "Press Connect to Xero again" in response.content.decode()
    system.refresh_from_db()
    assert "refresh_token" not in system.credentials and xero.codes  # the code was never exchanged


def test_a_state_from_another_session_is_refused(client, system, ada, xero):
    signed_in(client, ada)
    query = press_connect(client, system)
    other = signed_in(Client(), ada)  # another browser, e.g. lured to a link carrying someone else's state
    response = other.get(reverse("xero-callback"), {"code": xero.issue_code(CALLBACK), "state": query["state"]})
    assert response.status_code == 400


def test_connect_needs_the_app_credentials_and_an_admin(client, system, ada, olivia, oscar, xero):
    signed_in(client, olivia)
    assert client.post(reverse("xero-connect", args=[system.pk])).status_code == 403
    signed_in(client, oscar)
    assert client.post(reverse("xero-connect", args=[system.pk])).status_code == 404
    save_system(ada, system, {"client_secret": ""})
    signed_in(client, ada)
    response = client.post(reverse("xero-connect", args=[system.pk]), follow=True)
    assert "Enter the Xero app&#x27;s client secret" in response.content.decode()


def test_xero_refusing_consent_says_so(client, system, ada, xero):
    signed_in(client, ada)
    query = press_connect(client, system)
    response = client.get(reverse("xero-callback"), {"error": "access_denied", "state": query["state"]}, follow=True)
    assert "Xero did not connect Xero: access_denied" in response.content.decode()


def test_every_check_refreshes_before_expiry_and_stores_the_rotated_token(system, ada, xero):
    granted = connected(system, xero, timedelta(minutes=1))  # under the two minutes' margin
    ok, detail = check_connection(System.objects.get(pk=system.pk), ada)
    assert ok, detail
    stored = System.objects.get(pk=system.pk).credentials
    assert xero.refreshes == [granted["refresh_token"]]
    assert stored["refresh_token"] != granted["refresh_token"] and stored["refresh_token"] in xero.live_refresh
    assert xero.organisation_tokens == [stored["access_token"]]
    assert xero.problems == []  # /Organisation asked as the contract says

    # Fresh now: the next check refreshes nothing; when due again, the rotated refresh token is the one used.
    check_connection(System.objects.get(pk=system.pk), ada)
    assert len(xero.refreshes) == 1
    due = System.objects.get(pk=system.pk)
    due.credentials = {**stored, "expires_at": (timezone.now() + timedelta(seconds=30)).isoformat()}
    due.save()
    assert check_connection(System.objects.get(pk=system.pk), ada)[0]
    assert xero.refreshes == [granted["refresh_token"], stored["refresh_token"]]


def test_two_workers_refreshing_at_once_keep_the_newest_tokens(system, ada, xero):
    granted = connected(system, xero, timedelta(minutes=-1))
    first, second = build_connector(System.objects.get(pk=system.pk)), build_connector(System.objects.get(pk=system.pk))
    with first, second:
        first.check()  # refreshes and stores
        after_first = System.objects.get(pk=system.pk).credentials
        second.check()  # holds the spent refresh token: takes the stored ones instead of refreshing
    assert xero.refreshes == [granted["refresh_token"]]
    assert System.objects.get(pk=system.pk).credentials == after_first
    assert System.objects.get(pk=system.pk).connection_status != ConnectionStatus.FAILING


def test_a_worker_never_stores_its_tokens_over_newer_ones_stored_meanwhile(system, xero):
    granted = connected(system, xero, timedelta(minutes=-1))
    held = xero_oauth.Tokens.from_credentials(System.objects.get(pk=system.pk).credentials)
    newer = xero_oauth.Tokens("access-newer", "refresh-newer", timezone.now() + timedelta(minutes=30))

    def refresh_while_another_worker_stores(refresh_token):
        answer = xero_oauth.refresh(CLIENT_ID, CLIENT_SECRET, refresh_token, url=xero.token_url)
        # Another worker (SQLite takes no row locks) stores its rotation before ours is written.
        meanwhile = System.objects.get(pk=system.pk)
        meanwhile.credentials = {**meanwhile.credentials, **newer.as_credentials()}
        meanwhile.save(update_fields=["credentials_encrypted"])
        return answer

    used = token_custodian(system.pk)(held, refresh_while_another_worker_stores)
    assert used.refresh_token == "refresh-newer"
    assert System.objects.get(pk=system.pk).credentials["refresh_token"] == "refresh-newer"
    assert xero.refreshes == [granted["refresh_token"]]


def test_a_refused_refresh_marks_the_system_failing_and_alerts_the_admins(client, northwind, system, ada, olivia, xero):
    connected(system, xero, timedelta(minutes=-5))
    rule = only_rule(northwind, RuleKind.CONNECTION_FAILING)
    assert rule.is_active and rule.roles == ["admin"]  # on by default, for admins
    xero.revoke_all()  # the organisation's admin disconnected the app in Xero

    with build_connector(System.objects.get(pk=system.pk)) as connector, pytest.raises(AuthenticationFailed):
        connector.fetch_invoices()  # a pull: the refresh comes first, and Xero refuses it
    system.refresh_from_db()
    expected = f"Xero refused the refresh token: invalid_grant ({REFUSED}); reconnect Xero on the system page"
    assert system.connection_status == ConnectionStatus.FAILING and system.connection_detail == expected

    [alert] = check(northwind)
    assert alert.rule == rule and alert.title == "Xero: connection failing" and alert.lines[0] == expected
    assert alert.link == reverse("system-edit", args=[system.pk])
    assert [m.to for m in mail.outbox] == [[ada.email]]
    assert check(northwind) == []  # not again within the throttle
    assert Alert.objects.filter(rule=rule).count() == 1

    signed_in(client, ada)
    page = client.get(reverse("system-edit", args=[system.pk])).content.decode()
    assert "Failing" in page and "reconnect Xero on the system page" in page
    for secret in secrets_of(system, xero):
        assert secret not in page


def test_the_stored_tokens_are_encrypted_with_the_credentials_key(system, xero):
    connected(system, xero, timedelta(minutes=30))
    stored = System.objects.get(pk=system.pk)
    assert vault.decrypt(stored.credentials_encrypted)["refresh_token"].startswith("xero-refresh-")
