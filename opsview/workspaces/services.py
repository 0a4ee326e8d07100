"""Actions on workspaces, systems and tokens. Each checks the actor's role and is audited."""

from django.utils import timezone

from opsview.audit.trail import record
from opsview.pulls.schedules import sync_schedule
from opsview.workspaces.models import ApiToken, System
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
