"""What a person does with their own API tokens: create one (shown once), revoke one. Each is audited.

A personal token belongs to a person, not to a firm, and the audit trail keeps entries per firm: an entry
is written in every firm the person is a member of when they act, since the token reaches each of them
and each firm's admins should see it on their trail. A person who is a member of no firm gets no entry:
such a token reaches nothing.
"""

from datetime import timedelta

from django.utils import timezone

from opsview.accounts.models import PersonalToken
from opsview.audit.trail import record
from opsview.workspaces.models import Membership

MAX_NAME = 120


class TokenRefused(ValueError):
    """The token cannot be made or changed as asked; the message says why."""


def _workspaces_of(user):
    return [m.workspace for m in Membership.objects.filter(user=user).select_related("workspace")]


def _audit(user, action, token, before=None, after=None):
    for workspace in _workspaces_of(user):
        record(workspace, user, action, token, before=before, after=after)


def issue_personal_token(user, name, days=None):
    """Create a token for ``user`` that lasts ``days`` (None: until revoked); returns ``(token, raw)``."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise TokenRefused("Only a signed-in, active person has personal tokens.")
    name = (name or "").strip()
    if not name:
        raise TokenRefused("A token needs a name saying what uses it.")
    if len(name) > MAX_NAME:
        raise TokenRefused(f"A token's name has at most {MAX_NAME} characters; this one has {len(name)}.")
    expires_at = timezone.now() + timedelta(days=days) if days else None
    token, raw = PersonalToken.issue(user, name, expires_at=expires_at)
    after = {"name": name, "kind": "personal", "expires_at": expires_at.isoformat() if expires_at else None}
    _audit(user, "token.issue", token, after=after)
    return token, raw


def revoke_personal_token(user, token):
    """Revoke one of ``user``'s own tokens at once: requests using it get 401 from now on."""
    if token.user_id != getattr(user, "pk", None):
        raise PermissionError("Only its owner revokes a personal token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _audit(user, "token.revoke", token, before={"revoked": False}, after={"revoked": True})
    return token
