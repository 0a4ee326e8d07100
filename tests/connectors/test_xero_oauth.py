"""Xero's OAuth 2.0 in the connector: the consent URL, the code exchange, tenants, and a token kept fresh.

The token endpoint, /connections and /Organisation are a real local HTTP server playing Xero's published
contracts (tests/xero_identity_support.py).
"""

import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors import xero_oauth
from connectors.errors import AuthenticationFailed
from connectors.xero import XeroConnector
from tests.xero_identity_support import CLIENT_ID, CLIENT_SECRET, REFUSED, XeroIdentity

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
REDIRECT = "https://opsview.example.com/settings/xero/callback/"
TENANT = "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"


@pytest.fixture
def xero(server):
    return XeroIdentity(server)


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def connector(xero, tokens, expires_at, clock, on_tokens=None):
    return XeroConnector(
        access_token=tokens["access_token"],
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=tokens["refresh_token"],
        expires_at=expires_at.isoformat(),
        on_tokens=on_tokens,
        token_url=xero.token_url,
        accounting_url=xero.accounting_url,
        clock=clock,
    )


def test_the_consent_url_asks_for_a_code_offline_access_and_the_apis_the_connector_reads():
    url = xero_oauth.authorize_url(CLIENT_ID, REDIRECT, "state-123")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://login.xero.com/identity/connect/authorize"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT and query["state"] == "state-123"
    scopes = query["scope"].split(" ")
    assert {"offline_access", "accounting.transactions", "accounting.contacts", "projects"} <= set(scopes)


def test_a_code_becomes_tokens_once_and_lists_the_tenants(xero):
    code = xero.issue_code(REDIRECT)
    tokens = xero_oauth.exchange_code(CLIENT_ID, CLIENT_SECRET, code, REDIRECT, url=xero.token_url, clock=Clock())
    assert tokens.expires_at == NOW + timedelta(minutes=30)
    assert tokens.access_token in xero.live_access and tokens.refresh_token in xero.live_refresh
    [tenant] = xero_oauth.connections(tokens.access_token, url=xero.connections_url)
    assert (tenant.tenant_id, tenant.name) == (TENANT, "Northwind Ltd")
    with pytest.raises(AuthenticationFailed, match="Xero refused the authorization code: invalid_grant"):
        xero_oauth.exchange_code(CLIENT_ID, CLIENT_SECRET, code, REDIRECT, url=xero.token_url)


def test_wrong_client_credentials_are_named(xero):
    with pytest.raises(AuthenticationFailed, match="Xero refused the client id or secret: invalid_client"):
        xero_oauth.refresh(CLIENT_ID, "not-the-secret", xero.grant()["refresh_token"], url=xero.token_url)


def test_a_refresh_rotates_and_the_old_refresh_token_is_refused_in_xeros_words(xero):
    first = xero.grant()
    second = xero_oauth.refresh(CLIENT_ID, CLIENT_SECRET, first["refresh_token"], url=xero.token_url)
    assert second.refresh_token != first["refresh_token"]
    with pytest.raises(AuthenticationFailed) as refused:
        xero_oauth.refresh(CLIENT_ID, CLIENT_SECRET, first["refresh_token"], url=xero.token_url)
    assert refused.value.message == f"Xero refused the refresh token: invalid_grant ({REFUSED})"
    assert refused.value.status == 400


def test_the_connector_refreshes_two_minutes_before_expiry_and_hands_over_the_rotated_tokens(xero):
    granted, clock, handed = xero.grant(), Clock(), []

    def on_tokens(held, refresh):
        tokens = refresh(held.refresh_token)
        handed.append(tokens)
        return tokens

    # 3 minutes left: used as it is.
    with connector(xero, granted, NOW + timedelta(minutes=3), clock, on_tokens) as xc:
        assert xc.check().startswith("Xero organisation")
        assert xero.refreshes == [] and xero.organisation_tokens == [granted["access_token"]]
        clock.now += timedelta(seconds=61)  # under 2 minutes left: refreshed before the call
        xc.check()
        [rotated] = handed
        assert xero.refreshes == [granted["refresh_token"]]
        assert xero.organisation_tokens[-1] == rotated.access_token
        assert rotated.expires_at == clock.now + timedelta(minutes=30)
        xc.check()  # fresh now: no second refresh
        assert len(xero.refreshes) == 1
        clock.now = rotated.expires_at - timedelta(minutes=1)
        xc.check()  # the next refresh uses the rotated refresh token, never the old one
        assert xero.refreshes == [granted["refresh_token"], rotated.refresh_token]
    assert xero.problems == []


def test_threads_sharing_a_connector_spend_one_rotation(xero):
    granted = xero.grant()
    xero.refresh_delay = 0.2  # keeps the first refresh open while the others ask
    xc = connector(xero, granted, NOW - timedelta(minutes=1), Clock())
    start, answers = threading.Barrier(4), []

    def ask():
        start.wait()
        answers.append(xc.check())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    xc.close()
    assert len(answers) == 4 and xero.refreshes == [granted["refresh_token"]]


def test_a_refused_refresh_fails_the_call_with_xeros_words(xero):
    granted = xero.grant()
    xero.revoke_all()
    refused = pytest.raises(AuthenticationFailed, match="Xero refused the refresh token: invalid_grant")
    with connector(xero, granted, NOW - timedelta(minutes=1), Clock()) as xc, refused:
        xc.check()
    assert xero.organisation_tokens == []  # nothing was sent with a stale token


def test_a_fixed_access_token_still_works_and_nothing_at_all_says_to_connect(xero):
    granted = xero.grant()
    with XeroConnector(granted["access_token"], TENANT, accounting_url=xero.accounting_url) as xc:
        assert xc.check().startswith("Xero organisation")
    with pytest.raises(ValueError, match="press Connect to Xero"):
        XeroConnector(tenant_id=TENANT)
    with pytest.raises(ValueError, match="tenant_id"):
        XeroConnector(access_token="x")


def test_xero_declares_what_a_person_fills_in_and_no_tokens():
    names = {s.name: s for s in XeroConnector.SETTINGS}
    assert set(names) == {"client_id", "client_secret", "tenant_id"}
    assert names["client_secret"].secret and not names["client_id"].secret
