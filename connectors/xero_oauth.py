"""Xero's OAuth 2.0 (authorization code flow): the authorize URL, the token endpoint, the connected tenants.

A person is sent to ``authorize_url`` and comes back to the app's redirect URL with a ``code`` and
the ``state`` the app chose; ``exchange_code`` turns the code into tokens; ``connections`` lists the
organisations (tenants) the person let the app into. An access token lives 30 minutes; ``refresh``
swaps the refresh token for a new pair, and Xero rotates the refresh token each time (the old one
then stops working), so the new one must be stored before it is needed again.

``TokenKeeper`` keeps one connection's access token fresh: it refreshes shortly before expiry, once
per rotation in a process even when threads ask at the same moment, and hands the refresh to the
app's ``on_tokens`` custodian, which stores the rotated tokens (and may find another worker already did).

Every URL can be pointed elsewhere (tests run a local token endpoint).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from connectors.errors import AuthenticationFailed, ConnectorError
from connectors.http import HttpClient, error_for_status

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"
CONNECTIONS_URL = "https://api.xero.com/connections"
# offline_access brings the refresh token; the rest are what XeroConnector reads and sends:
# the organisation (check), invoices, contacts, projects and their time.
SCOPES = (
    "offline_access",
    "accounting.settings.read",
    "accounting.transactions",
    "accounting.contacts",
    "projects",
)
# Refresh this long before the access token expires, so no call goes out with one about to lapse.
REFRESH_MARGIN = timedelta(minutes=2)
SYSTEM = "xero identity"


@dataclass(frozen=True)
class Tokens:
    """One answer of Xero's token endpoint: the access token, its expiry, and the refresh token to use next."""

    access_token: str
    refresh_token: str
    expires_at: datetime

    def fresh(self, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
        """Whether the access token may still be used at ``now`` (more than ``margin`` before it expires)."""
        return bool(self.access_token) and now < self.expires_at - margin

    def as_credentials(self) -> dict:
        """The tokens as credential values to store (encrypted) beside the client secret."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_credentials(cls, values: dict) -> "Tokens":
        """The tokens stored by ``as_credentials`` (an unknown expiry counts as expired)."""
        return cls(values.get("access_token") or "", values.get("refresh_token") or "", parse_expiry(values))


def parse_expiry(values: dict) -> datetime:
    """``expires_at`` of stored credentials as an aware datetime; the epoch when absent or unreadable."""
    value = values.get("expires_at")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Tenant:
    """One organisation (or other tenant) the person connected the app to."""

    tenant_id: str
    name: str
    kind: str = "ORGANISATION"


def authorize_url(client_id: str, redirect_uri: str, state: str, *, scopes=SCOPES, url: str = AUTHORIZE_URL) -> str:
    """Where to send the person: Xero's consent page for ``client_id``, coming back to ``redirect_uri`` with
    ``state`` (the app checks it is the one it gave) and a code for ``exchange_code``."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
    }
    return f"{url}?{urlencode(query)}"


def _token_call(client_id, client_secret, form, *, url, clock, what, idempotent, http_options):
    with HttpClient(system=SYSTEM, **(http_options or {})) as http:
        response = http.request(
            "POST",
            url,
            data=form,
            auth=(client_id, client_secret),  # HTTP Basic, as Xero's token endpoint takes the client
            headers={"Accept": "application/json"},
            idempotent=idempotent,
        )
    body = _json(response)
    if response.status_code in (400, 401):
        words = _oauth_words(body) or f"HTTP {response.status_code}"
        if body.get("error") == "invalid_client" or response.status_code == 401:
            raise AuthenticationFailed(f"Xero refused the client id or secret: {words}", status=response.status_code)
        raise AuthenticationFailed(f"Xero refused the {what}: {words}", status=response.status_code)
    if response.status_code != 200:
        raise error_for_status(SYSTEM, response)
    try:
        expires_in = int(body.get("expires_in") or 1800)
        return Tokens(body["access_token"], body.get("refresh_token") or "", clock() + timedelta(seconds=expires_in))
    except (KeyError, TypeError, ValueError):
        raise ConnectorError("unexpected_answer", "Xero's token endpoint answered without an access token") from None


def exchange_code(
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    *,
    url: str = TOKEN_URL,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    http_options: dict | None = None,
) -> Tokens:
    """The tokens for the ``code`` Xero sent back to ``redirect_uri`` (the same URL the person was sent with).

    ``AuthenticationFailed`` carries Xero's words when it refuses the code (used, expired, another
    redirect URL) or the client credentials.
    """
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    # A code works once: a retry after Xero may have acted would only be refused.
    return _token_call(
        client_id,
        client_secret,
        form,
        url=url,
        clock=clock,
        what="authorization code",
        idempotent=False,
        http_options=http_options,
    )


def refresh(
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    url: str = TOKEN_URL,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    http_options: dict | None = None,
) -> Tokens:
    """New tokens for ``refresh_token``; the answer's refresh token replaces it (the old one stops working).

    A refused refresh (400 ``invalid_grant``: expired, revoked, already used) raises
    ``AuthenticationFailed`` with Xero's words; only connecting again from the browser mends it.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    # Xero keeps honouring a refresh token for a grace period when its answer was lost, so a retry is safe.
    return _token_call(
        client_id,
        client_secret,
        form,
        url=url,
        clock=clock,
        what="refresh token",
        idempotent=True,
        http_options=http_options,
    )


def connections(access_token: str, *, url: str = CONNECTIONS_URL, http_options: dict | None = None) -> list[Tenant]:
    """The tenants the access token opens (``GET /connections``), in Xero's order."""
    with HttpClient(system="xero", **(http_options or {})) as http:
        response = http.request(
            "GET", url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        )
    if response.status_code in (401, 403):
        status = response.status_code
        raise AuthenticationFailed(f"Xero refused the access token ({status})", status=status)
    if response.status_code != 200:
        raise error_for_status("xero", response)
    try:
        rows = response.json()
    except ValueError:
        rows = None
    if not isinstance(rows, list):
        raise ConnectorError("unexpected_answer", "Xero's connections answer is not a list")
    return [
        Tenant(str(row["tenantId"]), row.get("tenantName") or str(row["tenantId"]), row.get("tenantType") or "")
        for row in rows
        if isinstance(row, dict) and row.get("tenantId")
    ]


class TokenKeeper:
    """A fresh access token on each call, refreshed before it expires.

    ``on_tokens(held, refresh)`` is the app's custodian of the stored tokens: called when ``held``
    is due, it returns the tokens to use from now. It may find newer ones another worker stored and
    return those, or call ``refresh(refresh_token)`` (Xero's token endpoint) and store the answer.
    Without it the keeper refreshes by itself and keeps the rotated tokens in memory only.
    A lock makes threads sharing the keeper wait for one refresh instead of each spending a rotation.
    """

    def __init__(
        self,
        tokens: Tokens,
        client_id: str,
        client_secret: str,
        *,
        on_tokens: Callable[[Tokens, Callable[[str], Tokens]], Tokens] | None = None,
        token_url: str = TOKEN_URL,
        margin: timedelta = REFRESH_MARGIN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        http_options: dict | None = None,
    ):
        self.tokens = tokens
        self.client_id, self.client_secret = client_id, client_secret
        self.on_tokens, self.token_url, self.margin, self.clock = on_tokens, token_url, margin, clock
        self.http_options = http_options
        self._lock = threading.Lock()

    def _refresh(self, refresh_token: str) -> Tokens:
        return refresh(
            self.client_id,
            self.client_secret,
            refresh_token,
            url=self.token_url,
            clock=self.clock,
            http_options=self.http_options,
        )

    def __call__(self) -> str:
        """The access token to send now, refreshed first when it is within ``margin`` of expiring."""
        with self._lock:
            if not self.tokens.fresh(self.clock(), self.margin):
                if self.on_tokens is not None:
                    self.tokens = self.on_tokens(self.tokens, self._refresh)
                else:
                    self.tokens = self._refresh(self.tokens.refresh_token)
            return self.tokens.access_token


def _json(response):
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _oauth_words(body):
    """Xero's own words in an OAuth error answer: the error code and its description."""
    error, description = body.get("error") or "", body.get("error_description") or ""
    return f"{error} ({description})" if error and description else error or description
