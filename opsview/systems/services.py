"""What admins do with connected systems and their tokens. Each action checks the actor's role and is audited."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone

from connectors.errors import ConnectorError
from opsview.audit.trail import record
from opsview.systems.connection import build_connector, not_connected
from opsview.systems.credentials import CredentialsUnreadable
from opsview.systems.models import ApiToken, System
from opsview.systems.schedules import sync_schedule
from opsview.telemetry.models import RunStatus, SyncRun
from opsview.workspaces.models import Workspace
from opsview.workspaces.permissions import ADMINISTER, require


def issue_token(actor, system, name, actor_label=None):
    """Create an API token for ``system``; returns ``(token, raw)``. ``actor=None`` is the command line."""
    if actor is not None:
        require(actor, system.workspace, ADMINISTER)
    name = (name or "").strip()
    if not name:
        raise ValueError("A token needs a name saying what uses it.")
    token, raw = ApiToken.issue(system, name, created_by=actor)
    record(
        system.workspace,
        actor,
        "token.issue",
        token,
        after={"name": name, "system": system.slug},
        actor_label=actor_label,
    )
    return token, raw


def revoke_token(actor, token, actor_label=None):
    """Revoke ``token`` at once; requests using it get 401 from now on."""
    if actor is not None:
        require(actor, token.workspace, ADMINISTER)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            token.workspace,
            actor,
            "token.revoke",
            token,
            before={"revoked": False},
            after={"revoked": True},
            actor_label=actor_label,
        )
    return token


SYSTEM_FIELDS = ("slug", "name", "kind", "vendor", "is_active", "connector_settings")
AUDITED_CREDENTIALS = "encrypted_settings"  # "password changed, api_key removed": names, never values


def save_system(actor, system, credential_changes=None):
    """Create or change a connected system (admins only), audited with its diff.

    ``credential_changes`` maps credential names to new values; an empty value
    removes that credential. The audit names the credentials changed or removed
    (``"encrypted_settings": "password changed"``), never their values.
    """
    require(actor, system.workspace, ADMINISTER)
    before = None
    if system.pk is not None:
        stored = System.objects.get(pk=system.pk)
        before = {f: getattr(stored, f) for f in SYSTEM_FIELDS}
    after = {f: getattr(system, f) for f in SYSTEM_FIELDS}
    if credential_changes:
        try:
            current = system.credentials
        except CredentialsUnreadable:
            current = {}  # encrypted with another key: what is entered now replaces them
        changed = {}
        for name, value in sorted(credential_changes.items()):
            if value:
                changed[name] = "changed"
                current[name] = value
            elif name in current:
                changed[name] = "removed"
                current.pop(name)
        system.credentials = current
        if changed:
            # Secrets are audited by name only: the trail says a password changed, never what it is. The key and
            # the names travel in one string, which the audit page shows as it is (a key named like a secret
            # would be masked there, hiding which one changed).
            after[AUDITED_CREDENTIALS] = ", ".join(f"{name} {what}" for name, what in changed.items())
    if before == after:
        return system
    system.save()
    sync_schedule(system)
    record(system.workspace, actor, "system.create" if before is None else "system.change", system, before, after)
    return system


def check_connection(system, actor=None, actor_label=None):
    """Test ``system``'s connection now; returns ``(ok, detail)``. ``actor=None`` is the command line.

    The one check behind the systems page's button and ``check_connections``: it builds the system's
    connector and asks the system who we are (``Connector.check``). The outcome is remembered on the
    system (``System.record_connection``) and audited. The detail is the system's own answer
    ("Tryton 8.2, database northwind, user admin") or what went wrong ("authentication_failed: ..."),
    never a secret.
    """
    if actor is not None:
        require(actor, system.workspace, ADMINISTER)
    problem = not_connected(system)
    if problem:
        ok, detail = False, f"not connected: {problem}"
    else:
        try:
            with build_connector(system) as connector:
                ok, detail = True, connector.check()
        except ConnectorError as error:
            ok, detail = False, str(error)
        except (ValueError, KeyError, TypeError) as error:  # an answer the connector could not read
            ok, detail = False, f"unexpected answer from {system.vendor}: {type(error).__name__}: {error}"[:500]
    before = {"connection_status": system.connection_status, "connection_detail": system.connection_detail}
    system.record_connection(ok, detail)
    after = {"connection_status": system.connection_status, "connection_detail": detail}
    record(
        system.workspace, actor, "system.check_connection", system, before=before, after=after, actor_label=actor_label
    )
    return ok, detail


def first_data_received(system):
    """When opsview first received data from ``system``, or None while it has sent nothing.

    The one rule, for the system's page and the onboarding checklist alike: the earliest of the first write
    the ingest API accepted with one of the system's tokens (``ApiToken.first_batch_at``, revoked tokens
    too) and the start of the first sync run the system reported that did not fail (an integration job's,
    or opsview's own pull of it). A token that was only shown to ``whoami``, or whose batches were all
    refused, is no data.
    """
    from_tokens = (
        ApiToken.objects.for_workspace(system.workspace_id)
        .filter(system=system, first_batch_at__isnull=False)
        .order_by("first_batch_at")
        .values_list("first_batch_at", flat=True)
        .first()
    )
    from_runs = (
        SyncRun.objects.for_workspace(system.workspace_id)
        .filter(reported_by=system)
        .exclude(status=RunStatus.FAILED)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return min((moment for moment in (from_tokens, from_runs) if moment is not None), default=None)


def first_data_received_in(workspace_ids):
    """The workspaces among ``workspace_ids`` where some system has received data by ``first_data_received``'s
    rule (a write accepted with one of its tokens, or a sync run it reported that did not fail). One query."""
    from_tokens = ApiToken.objects.filter(workspace=OuterRef("pk"), first_batch_at__isnull=False)
    from_runs = SyncRun.objects.filter(workspace=OuterRef("pk"), reported_by__isnull=False).exclude(
        status=RunStatus.FAILED
    )
    # One probe per workspace that stops at its first such run: a firm's year holds thousands of runs.
    received = Workspace.objects.filter(pk__in=workspace_ids).filter(Exists(from_tokens) | Exists(from_runs))
    return set(received.values_list("pk", flat=True))


@dataclass(frozen=True)
class ConnectionOutcome:
    """What a connection test found, for a person: what worked, what did not, and the system's own words."""

    ok: bool
    headline: str
    detail: str
    from_system: bool = True  # the detail is the system's answer (or the connector's account of it), not opsview's


# A failed check's code says how far it got: no answer at all, or an answer that refused or failed.
NO_ANSWER = ("timeout", "transport_error")


def connection_outcome(ok, detail):
    """``check_connection``'s ``(ok, detail)`` as a person reads it: e.g. "Reached it, but it refused the login"."""
    if ok:
        return ConnectionOutcome(True, "Connected: it answered and accepted the login", detail)
    if detail.startswith("not connected: "):
        return ConnectionOutcome(False, "Not set up yet: fill in its settings and save", detail, from_system=False)
    code, _, message = detail.partition(": ")
    if code in NO_ANSWER:
        headline = "No answer: the server could not be reached at that address"
    elif code == "authentication_failed":
        headline = "Reached it, but it refused the login"
    elif code == "configuration_error":
        return ConnectionOutcome(False, "Not tried: the settings do not fit its connector", message, from_system=False)
    elif code.startswith("http_5"):
        headline = "Reached it, but it failed to answer"
    else:
        headline = "Reached it, but the check failed"
    return ConnectionOutcome(False, headline, detail)
