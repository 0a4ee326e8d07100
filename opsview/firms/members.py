"""A firm's people: who is a member in which role, and what its admins change about them.

Every change is checked against the actor's role in the firm and audited with the state before and after.
Roles are read on every request (CurrentWorkspaceMiddleware), so a change holds from the member's next click.
Roles held by partner staff come from the partner and are changed on the partner staff page, not here.
"""

from django.db import transaction

from opsview.audit.trail import record
from opsview.workspaces.models import Membership
from opsview.workspaces.permissions import ADMINISTER, can, require
from opsview.workspaces.roles import Role


class MemberChangeRefused(ValueError):
    """The change cannot be made as asked; the message tells the admin why."""


def members_of(workspace):
    """The firm's memberships with their users and the partner that granted them, by name."""
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user", "granted_by_partner")
        .order_by("user__username")
    )


def member_of(workspace, pk):
    """One membership of ``workspace``; raises Membership.DoesNotExist for another firm's (the view answers 404)."""
    return members_of(workspace).get(pk=pk)


def _refuse_partner_granted(membership):
    if membership.granted_by_partner_id:
        raise MemberChangeRefused(
            f"{membership.user.get_username()} is partner staff of {membership.granted_by_partner}: their role "
            "comes from the partner and is changed on the partner staff page."
        )


def _refuse_last_admin(membership, verb):
    if membership.role != Role.ADMIN:
        return
    others = Membership.objects.filter(workspace=membership.workspace_id, role=Role.ADMIN, user__is_active=True)
    if not others.exclude(pk=membership.pk).exists():
        raise MemberChangeRefused(
            f"{membership.user.get_username()} is the last admin of {membership.workspace}: they cannot be {verb}. "
            "Make someone else an admin first."
        )


def _state(membership):
    return {"user": membership.user.get_username(), "role": membership.role}


@transaction.atomic
def change_role(actor, membership, role):
    """Give ``membership``'s user ``role`` in its firm, from their next request on."""
    require(actor, membership.workspace, ADMINISTER)
    Role(role)
    _refuse_partner_granted(membership)
    if membership.role == role:
        return membership
    if role != Role.ADMIN:
        _refuse_last_admin(membership, "given another role")
    before = _state(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    record(membership.workspace, actor, "member.role_changed", membership, before=before, after=_state(membership))
    return membership


@transaction.atomic
def remove_member(actor, membership):
    """Take ``membership``'s user out of its firm; their account and their other firms stay."""
    require(actor, membership.workspace, ADMINISTER)
    _refuse_partner_granted(membership)
    _refuse_last_admin(membership, "removed")
    before = _state(membership)
    record(membership.workspace, actor, "member.removed", membership, before=before, after=None)
    membership.delete()


@transaction.atomic
def deactivate_user(actor, membership):
    """Turn off ``membership``'s user's account: they cannot sign in, and their open sessions end.

    Only an admin of every firm the user belongs to may: an account is not one firm's to turn off.
    """
    workspace = membership.workspace
    require(actor, workspace, ADMINISTER)
    user = membership.user
    if user.pk == actor.pk:
        raise MemberChangeRefused("You cannot deactivate your own account.")
    _refuse_partner_granted(membership)
    if user.partner_memberships.exists():
        raise MemberChangeRefused(f"{user.get_username()} is partner staff: their partner's admins manage them.")
    memberships = list(Membership.objects.filter(user=user).select_related("workspace"))
    elsewhere = [m.workspace.name for m in memberships if not can(actor, m.workspace, ADMINISTER)]
    if elsewhere:
        raise MemberChangeRefused(
            f"{user.get_username()} also belongs to {len(elsewhere)} firm(s) you do not administer: "
            "only their admins can turn the account off. You can remove them from this firm instead."
        )
    for m in memberships:
        _refuse_last_admin(m, "deactivated")
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    # ModelBackend refuses inactive users on every request, so their sessions end with this save.
    for m in memberships:
        record(m.workspace, actor, "member.deactivated", m, before={"active": True}, after={"active": False})
    return user
