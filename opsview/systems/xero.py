"""Connecting a Xero system with OAuth 2.0, and keeping its tokens: what the Connect button and callback do.

The admin fills in the Xero app's client id and secret, presses "Connect to Xero" and consents at Xero;
Xero sends the browser back to the callback with a code and the ``state`` this module bound to the
admin's session and to the system. The code becomes tokens, the tokens show which organisations
(tenants) were connected, and the system is connected to one of them. The tokens are credentials
(encrypted); the tenant is a connector setting.

``token_custodian`` is what every connector built for a Xero system refreshes through: under a lock on
the system's row it takes the stored tokens, uses newer ones another worker stored if there are any,
else refreshes and stores the rotated ones, so no worker ever writes an older refresh token over a
newer one. A refused refresh marks the system failing, which the "A connection fails" alert rule reports.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors import xero_oauth
from connectors.errors import AuthenticationFailed, ConnectorError
from opsview.audit.trail import record
from opsview.systems import credentials as vault
from opsview.systems.models import System
from opsview.systems.schedules import sync_schedule
from opsview.workspaces.permissions import ADMINISTER, require

SESSION_KEY = "xero_oauth"
TENANTS_KEY = "xero_tenants"
# A consent page left open longer than this starts over: the state it carries is forgotten.
STATE_LIFETIME = timedelta(minutes=30)
# How many flows one session may have open at once (several tabs, several systems).
MAX_OPEN_STATES = 5
TOKEN_NAMES = ("access_token", "expires_at", "refresh_token")
RECONNECT = "reconnect Xero on the system page"


class XeroConnectError(Exception):
    """Why connecting Xero did not work, in words for the admin who pressed the button."""


def is_xero(system):
    return (system.vendor or "") == "xero"


def app_credentials(system):
    """The Xero app's ``(client_id, client_secret)`` the admin entered for ``system``, or say what is missing."""
    client_id = str((system.connector_settings or {}).get("client_id") or "").strip()
    try:
        client_secret = system.credentials.get("client_secret") or ""
    except vault.CredentialsUnreadable as problem:
        raise XeroConnectError(str(problem)) from None
    missing = [name for name, value in (("client id", client_id), ("client secret", client_secret)) if not value]
    if missing:
        raise XeroConnectError(
            f"Enter the Xero app's {' and '.join(missing)} (from developer.xero.com) and save, then connect."
        )
    return client_id, client_secret


def start(actor, system, session, redirect_uri):
    """Begin connecting ``system``: remember a fresh state in the admin's session, return Xero's consent URL."""
    require(actor, system.workspace, ADMINISTER)
    if not is_xero(system):
        raise XeroConnectError(f"{system.name} is not a Xero system.")
    client_id, _secret = app_credentials(system)
    state = secrets.token_urlsafe(32)
    now = timezone.now()
    pending = {
        key: entry
        for key, entry in (session.get(SESSION_KEY) or {}).items()
        if now.timestamp() - entry.get("at", 0) < STATE_LIFETIME.total_seconds()
    }
    pending = dict(sorted(pending.items(), key=lambda item: item[1]["at"])[-(MAX_OPEN_STATES - 1) :])
    pending[state] = {"system": system.pk, "user": actor.pk, "at": now.timestamp()}
    session[SESSION_KEY] = pending
    return xero_oauth.authorize_url(client_id, redirect_uri, state, url=settings.XERO_AUTHORIZE_URL)


def take_state(session, state, user):
    """The system id ``state`` was issued for in this session to ``user``, forgetting it (one use); None if
    the state is missing, unknown, expired or someone else's."""
    pending = dict(session.get(SESSION_KEY) or {})
    entry = pending.pop(state, None) if state else None
    session[SESSION_KEY] = pending
    if entry is None or entry.get("user") != user.pk:
        return None
    if timezone.now().timestamp() - entry.get("at", 0) >= STATE_LIFETIME.total_seconds():
        return None
    return entry["system"]


def finish(actor, system, code, redirect_uri, session):
    """Exchange Xero's ``code`` for tokens, store them and read the organisations they open.

    One organisation: the system is connected to it. Several: they wait in the session for the admin to
    choose (``choose_tenant``). Returns the tenants.
    """
    require(actor, system.workspace, ADMINISTER)
    client_id, client_secret = app_credentials(system)
    try:
        tokens = xero_oauth.exchange_code(
            client_id, client_secret, code, redirect_uri, url=settings.XERO_TOKEN_URL, clock=timezone.now
        )
        tenants = xero_oauth.connections(tokens.access_token, url=settings.XERO_CONNECTIONS_URL)
    except ConnectorError as error:
        raise XeroConnectError(f"Xero did not connect: {error.message}") from None
    tenants = [t for t in tenants if t.kind in ("", "ORGANISATION")]
    if not tenants:
        raise XeroConnectError("Xero connected no organisation: choose one on Xero's consent page and try again.")
    with transaction.atomic():
        locked = System.objects.select_for_update().get(pk=system.pk)
        locked.credentials = {**locked.credentials, **tokens.as_credentials()}
        locked.save(update_fields=["credentials_encrypted"])
    system.credentials_encrypted = locked.credentials_encrypted
    if len(tenants) == 1:
        choose_tenant(actor, system, tenants[0].tenant_id, tenants)
    else:
        waiting = dict(session.get(TENANTS_KEY) or {})
        waiting[str(system.pk)] = [[t.tenant_id, t.name] for t in tenants]
        session[TENANTS_KEY] = waiting
    return tenants


def tenants_waiting(session, system):
    """The organisations connected by the last consent for ``system``, waiting for the admin's choice."""
    rows = (session.get(TENANTS_KEY) or {}).get(str(system.pk)) or []
    return [xero_oauth.Tenant(tenant_id, name) for tenant_id, name in rows]


def choose_tenant(actor, system, tenant_id, tenants, session=None):
    """Connect ``system`` to the organisation ``tenant_id`` (one of ``tenants``); audited as system.connected."""
    require(actor, system.workspace, ADMINISTER)
    chosen = next((t for t in tenants if t.tenant_id == tenant_id), None)
    if chosen is None:
        raise XeroConnectError("Choose one of the organisations Xero connected.")
    before = {
        "tenant_id": (system.connector_settings or {}).get("tenant_id", ""),
        "connection_status": system.connection_status,
    }
    system.connector_settings = {
        **(system.connector_settings or {}),
        "tenant_id": chosen.tenant_id,
        "tenant_name": chosen.name,
    }
    system.save(update_fields=["connector_settings"])
    sync_schedule(system)
    system.record_connection(True, f"Connected to Xero organisation {chosen.name}")
    if session is not None:
        waiting = dict(session.get(TENANTS_KEY) or {})
        waiting.pop(str(system.pk), None)
        session[TENANTS_KEY] = waiting
    after = {
        "tenant_id": chosen.tenant_id,
        "tenant_name": chosen.name,
        "connection_status": system.connection_status,
        "credentials_changed": list(TOKEN_NAMES),
    }
    record(system.workspace, actor, "system.connected", system, before=before, after=after)
    return system


def token_custodian(system_id, *, clock=timezone.now):
    """The ``on_tokens`` a Xero connector of system ``system_id`` refreshes through (see the module's notes).

    Called outside any transaction of the caller's (pulls and replays call connectors between their
    own transactions): the rotated tokens must be committed even when the caller's work fails.
    """

    def on_tokens(held, refresh):
        used = held.refresh_token
        try:
            with transaction.atomic():
                row = System.objects.select_for_update().get(pk=system_id)
                read = row.credentials_encrypted
                stored = row.credentials
                current = xero_oauth.Tokens.from_credentials(stored)
                if current.refresh_token != held.refresh_token and current.fresh(clock()):
                    return current  # another worker rotated them first
                used = current.refresh_token
                tokens = refresh(used)
                # Compare-and-set as well as the row lock: SQLite has no row locks.
                written = System.objects.filter(pk=system_id, credentials_encrypted=read).update(
                    credentials_encrypted=vault.encrypt({**stored, **tokens.as_credentials()})
                )
            if written:
                return tokens
            return xero_oauth.Tokens.from_credentials(System.objects.get(pk=system_id).credentials)
        except AuthenticationFailed as refused:
            system = System.objects.get(pk=system_id)
            newer = xero_oauth.Tokens.from_credentials(system.credentials)
            if newer.refresh_token != used and newer.fresh(clock()):
                return newer  # ours was spent by another worker's refresh, which stored its answer
            detail = f"{refused.message}; {RECONNECT}"
            system.record_connection(False, detail)
            raise AuthenticationFailed(detail, status=refused.status) from None

    return on_tokens
