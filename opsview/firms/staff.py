"""A partner's staff, managed by its partner admins: who works across the partner's firms, and as what.

After each change ``sync_partner_access`` gives or takes back the roles in every firm of the partner. The
audit trail belongs to firms, so each change is recorded in every firm of the partner, where those firms'
admins see who was given access to their data.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from opsview.audit.trail import record
from opsview.workspaces.models import PartnerMembership, PartnerRole
from opsview.workspaces.partners import partners_administered_by, sync_partner_access


class StaffChangeRefused(ValueError):
    """The change to the partner's staff cannot be made as asked; the message says why."""


def require_partner_admin(actor, partner):
    if not partners_administered_by(actor).filter(pk=partner.pk).exists():
        raise PermissionDenied("Only the partner's admins manage its staff.")


def staff_of(partner):
    return partner.members.select_related("user").order_by("user__username")


def _record_everywhere(partner, actor, action, staff, before, after):
    for firm in partner.firms.all():
        record(firm, actor, action, staff, before=before, after=after, note=f"Partner staff of {partner.name}")


def _state(staff):
    return {"user": staff.user.get_username(), "partner_role": staff.role}


def _refuse_last_admin(staff, verb):
    if staff.role != PartnerRole.ADMIN:
        return
    if not staff.partner.members.filter(role=PartnerRole.ADMIN).exclude(pk=staff.pk).exists():
        raise StaffChangeRefused(
            f"{staff.user.get_username()} is the last partner admin of {staff.partner}: they cannot be {verb}. "
            "Make someone else a partner admin first."
        )


@transaction.atomic
def add_staff(actor, partner, email, role):
    """Make the existing account with ``email`` partner staff in ``role``; returns the PartnerMembership."""
    require_partner_admin(actor, partner)
    PartnerRole(role)
    users = list(get_user_model().objects.filter(email__iexact=email.strip(), is_active=True)[:2])
    if not users:
        raise StaffChangeRefused(f"No active account has the address {email}: they need an account first.")
    if len(users) > 1:
        raise StaffChangeRefused(f"More than one account has the address {email}; ask an operator of opsview.")
    if partner.members.filter(user=users[0]).exists():
        raise StaffChangeRefused(f"{email} is partner staff already: change their role instead.")
    staff = PartnerMembership.objects.create(user=users[0], partner=partner, role=role)
    sync_partner_access(partner)
    _record_everywhere(partner, actor, "partner_staff.added", staff, None, _state(staff))
    return staff


@transaction.atomic
def change_staff_role(actor, staff, role):
    """Make ``staff`` a partner admin or operator; their role in each firm follows."""
    require_partner_admin(actor, staff.partner)
    PartnerRole(role)
    if staff.role == role:
        return staff
    _refuse_last_admin(staff, "given another role")
    before = _state(staff)
    staff.role = role
    staff.save(update_fields=["role"])
    sync_partner_access(staff.partner)
    _record_everywhere(staff.partner, actor, "partner_staff.role_changed", staff, before, _state(staff))
    return staff


@transaction.atomic
def remove_staff(actor, staff):
    """Take ``staff`` off the partner: they lose the roles the partner gave them in its firms."""
    require_partner_admin(actor, staff.partner)
    _refuse_last_admin(staff, "removed")
    partner, before = staff.partner, _state(staff)
    _record_everywhere(partner, actor, "partner_staff.removed", staff, before, None)
    staff.delete()
    sync_partner_access(partner)
