"""Actions on workspaces, systems and tokens. Each checks the actor's role and is audited."""

from django.utils import timezone

from opsview.audit.trail import record
from opsview.workspaces.models import ApiToken
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
