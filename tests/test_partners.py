"""Partner staff hold their partner role in every firm of the partner, and lose it when they leave."""

import pytest
from django.contrib.auth import get_user_model

from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from opsview.workspaces.scoping import roles_by_workspace

pytestmark = pytest.mark.django_db


def test_partner_staff_hold_their_role_in_every_firm_and_lose_it_when_removed():
    partner = Partner.objects.create(name="Ledgerline")
    a = Workspace.objects.create(name="A", partner=partner)
    b = Workspace.objects.create(name="B", partner=partner)
    other = Workspace.objects.create(name="Not theirs")
    User = get_user_model()
    paula, priya = User.objects.create(username="paula"), User.objects.create(username="priya")
    # Paula was an executive of A before she joined the partner: the partner role replaces it.
    Membership.objects.create(user=paula, workspace=a, role=Role.EXECUTIVE)
    PartnerMembership.objects.create(user=paula, partner=partner, role=PartnerRole.ADMIN)
    desk = PartnerMembership.objects.create(user=priya, partner=partner, role=PartnerRole.OPERATOR)

    sync_partner_access(partner)

    assert roles_by_workspace(paula) == {a.pk: Role.ADMIN, b.pk: Role.ADMIN}
    assert roles_by_workspace(priya) == {a.pk: Role.OPERATOR, b.pk: Role.OPERATOR}
    assert other.pk not in roles_by_workspace(paula)

    # A firm created later is served at once; staff who leave lose every firm.
    c = Workspace.objects.create(name="C", partner=partner)
    desk.delete()
    sync_partner_access(partner)
    assert set(roles_by_workspace(paula)) == {a.pk, b.pk, c.pk}
    assert roles_by_workspace(priya) == {}
    assert sync_partner_access(partner) == 0
