"""What admins do with connected systems and their tokens. Each action checks the actor's role and is audited."""

from django.utils import timezone

from connectors.errors import ConnectorError
from opsview.audit.trail import record
from opsview.systems.connection import build_connector, not_connected
from opsview.systems.models import ApiToken, System
from opsview.systems.schedules import sync_schedule
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


def save_system(actor, system, credential_changes=None):
    """Create or change a connected system (admins only), audited with its diff.

    ``credential_changes`` maps credential names to new values; an empty value
    removes that credential. The audit names the credentials changed, never
    their values.
    """
    require(actor, system.workspace, ADMINISTER)
    before = None
    if system.pk is not None:
        stored = System.objects.get(pk=system.pk)
        before = {f: getattr(stored, f) for f in SYSTEM_FIELDS}
    after = {f: getattr(system, f) for f in SYSTEM_FIELDS}
    if credential_changes:
        current = system.credentials if system.credentials_encrypted else {}
        for name, value in credential_changes.items():
            if value:
                current[name] = value
            else:
                current.pop(name, None)
        system.credentials = current
        after["credentials_changed"] = sorted(credential_changes)
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
