"""The demo's logins: one per role in the first firm, and the staff of the partner that runs every firm."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from opsview.demo.catalog import DEMO_PASSWORD
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role

DEMO_PARTNER = ("ledgerline", "Ledgerline Partners", "#0f766e")


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str
    partner_role: str = ""  # staff of the demo partner: that role in every firm, instead of ``role`` in the first


DEMO_USERS = (
    DemoUser("admin", Role.ADMIN, "Alex", "Morgan"),
    DemoUser("operator", Role.OPERATOR, "Olivia", "Brandt"),
    DemoUser("manager", Role.MANAGER, "", ""),  # named after the person whose projects they manage
    DemoUser("executive", Role.EXECUTIVE, "Erik", "Lund"),
    DemoUser("partner", Role.ADMIN, "Paula", "Reyes", partner_role=PartnerRole.ADMIN),
    DemoUser("partnerops", Role.OPERATOR, "Priya", "Shah", partner_role=PartnerRole.OPERATOR),
)
DEMO_USERNAMES = tuple(u.username for u in DEMO_USERS)


def ensure_demo_users(workspaces, manager_name, domain):
    """Create the demo users (or reuse them) with their memberships; returns them by username.

    A user that already existed keeps its password: seeding never takes over a real account.
    """
    User = get_user_model()
    # One hash for all: the password is published anyway, and hashing is the slow part.
    password = make_password(DEMO_PASSWORD)
    users = {}
    slug, name, accent = DEMO_PARTNER
    partner, _ = Partner.objects.get_or_create(slug=slug, defaults={"name": name, "accent_color": accent})
    Workspace.objects.filter(pk__in=[w.pk for w in workspaces]).update(partner=partner)
    for spec in DEMO_USERS:
        first, last = spec.first_name, spec.last_name
        if not first:
            first, _, last = manager_name.partition(" ")
        email_domain = "partner.example" if spec.partner_role else domain
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}@{email_domain}".lower().replace(" ", ""),
                "password": password,
            },
        )
        if spec.partner_role:
            PartnerMembership.objects.update_or_create(user=user, partner=partner, defaults={"role": spec.partner_role})
        else:
            Membership.objects.update_or_create(user=user, workspace=workspaces[0], defaults={"role": spec.role})
        users[spec.username] = user
    sync_partner_access(partner)
    return users


def demo_logins():
    """(username, password or a note, role label, workspace name) for each demo user's membership."""
    User = get_user_model()
    users = list(User.objects.filter(username__in=DEMO_USERNAMES))
    order = {name: i for i, name in enumerate(DEMO_USERNAMES)}
    users.sort(key=lambda u: order[u.username])
    known = _hashes_of_demo_password(users)
    labels = dict(Role.choices)
    rows = []
    for user in users:
        password = DEMO_PASSWORD if user.password in known else "(changed)"
        for membership in Membership.objects.filter(user=user).select_related("workspace"):
            rows.append(
                (user.username, password, labels.get(membership.role, membership.role), membership.workspace.name)
            )
    return rows


def _hashes_of_demo_password(users):
    # Seeded users share one hash, so checking one password (a slow hash) usually clears them all.
    known, refused = set(), set()
    for user in users:
        if user.password in known or user.password in refused:
            continue
        (known if user.check_password(DEMO_PASSWORD) else refused).add(user.password)
    return known
