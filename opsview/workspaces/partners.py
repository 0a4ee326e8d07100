"""Partner staff's access to the partner's firms: one real ``Membership`` per firm, granted by the partner.

Materialising the roles keeps every other rule where it was: scoping, permissions, teammates and alert
recipients all read ``Membership`` and need not know partners exist.
"""

from django.db import transaction

from opsview.workspaces.models import Membership, Partner, PartnerRole
from opsview.workspaces.roles import Role

ROLE_IN_FIRMS = {PartnerRole.ADMIN: Role.ADMIN, PartnerRole.OPERATOR: Role.OPERATOR}


@transaction.atomic
def sync_partner_access(partner):
    """Give each of ``partner``'s staff their role in each of its firms, and take back what they no longer hold.

    A partner role replaces a firm's own membership of the same person: partner admins manage every firm.
    Returns the number of memberships created, changed or removed.
    """
    wanted = {
        (member.user_id, firm_id): ROLE_IN_FIRMS[member.role]
        for member in partner.members.all()
        for firm_id in partner.firms.values_list("pk", flat=True)
    }
    changed = 0
    held = {(m.user_id, m.workspace_id): m for m in Membership.objects.filter(granted_by_partner=partner)}
    for key, membership in held.items():
        if key not in wanted:
            membership.delete()
            changed += 1
    existing = {
        (m.user_id, m.workspace_id): m
        for m in Membership.objects.filter(workspace__partner=partner, user_id__in={u for u, _ in wanted})
    }
    for (user_id, firm_id), role in wanted.items():
        membership = existing.get((user_id, firm_id))
        if membership is None:
            Membership.objects.create(user_id=user_id, workspace_id=firm_id, role=role, granted_by_partner=partner)
            changed += 1
        elif membership.role != role or membership.granted_by_partner_id != partner.pk:
            membership.role, membership.granted_by_partner = role, partner
            membership.save(update_fields=["role", "granted_by_partner"])
            changed += 1
    return changed


def partners_administered_by(user):
    """The partner organisations ``user`` is a partner admin of."""
    if user is None or not user.is_authenticated:
        return Partner.objects.none()
    return Partner.objects.filter(members__user=user, members__role=PartnerRole.ADMIN)


def partner_role_of(user, partner):
    """``user``'s role at ``partner`` (a PartnerRole value), or None."""
    if user is None or not user.is_authenticated or partner is None:
        return None
    return partner.members.filter(user=user).values_list("role", flat=True).first()
