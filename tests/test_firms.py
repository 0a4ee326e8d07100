"""A partner admin creates a client firm from the browser: from opsview's standard settings or a copy of a firm."""

import pytest
from django.contrib.auth import get_user_model

from opsview.alerts.defaults import DEFAULT_RULES
from opsview.alerts.models import Rule, RuleKind
from opsview.audit.models import AuditEntry
from opsview.queues.models import KindSetting, QueueSettings
from opsview.workspaces.middleware import SESSION_KEY
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.conftest import PASSWORD

FORM = {
    "name": "Fjord Consulting",
    "slug": "",
    "time_zone": "Europe/Oslo",
    "currency": "nok",
    "billing_cutoff_day": "25",
    "accent_color": "#0a7a5a",
    "template": "standard",
}


@pytest.fixture
def partner(northwind):
    partner = Partner.objects.create(name="Ledgerline Partners")
    Workspace.objects.filter(pk=northwind.workspace.pk).update(partner=partner)
    return partner


def staff(partner, username, role):
    user = get_user_model().objects.create_user(username, f"{username}@ledgerline.example", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=partner, role=role)
    sync_partner_access(partner)
    return user


@pytest.fixture
def paula(partner):
    return staff(partner, "paula", PartnerRole.ADMIN)


@pytest.fixture
def priya(partner):
    return staff(partner, "priya", PartnerRole.OPERATOR)


def create(client, partner, **changes):
    return client.post("/firms/new/", {**FORM, "partner": partner.pk, **changes})


def test_a_partner_admin_creates_a_firm_with_standard_settings_and_lands_in_it(client, partner, paula, priya):
    client.force_login(paula)
    page = client.get("/firms/new/")
    assert page.status_code == 200 and b"Create firm" in page.content

    response = create(client, partner)

    firm = Workspace.objects.get(slug="fjord-consulting")
    assert response.status_code == 302 and response["Location"] == "/"
    assert (firm.partner, firm.time_zone, firm.currency, firm.billing_cutoff_day, firm.accent_color) == (
        partner,
        "Europe/Oslo",
        "NOK",
        25,
        "#0a7a5a",
    )
    assert client.session[SESSION_KEY] == firm.pk
    home = client.get("/")
    assert home.context["workspace"] == firm
    # Partner staff hold their roles at once, each granted by the partner.
    roles = dict(Membership.objects.filter(workspace=firm).values_list("user__username", "role"))
    assert roles == {"paula": Role.ADMIN, "priya": Role.OPERATOR}
    # opsview's standard settings: the default rules and the queues' defaults (no rows of its own).
    assert Rule.objects.for_workspace(firm).count() == len(DEFAULT_RULES)
    assert not KindSetting.objects.for_workspace(firm).exists()
    entry = AuditEntry.objects.for_workspace(firm).get(action="firm.created")
    assert entry.actor == paula and entry.after["template"] == "opsview's standard settings"


def test_a_firm_copied_from_another_gets_its_queue_settings_masked_fields_and_alert_rules(
    client, northwind, partner, paula
):
    source = northwind.workspace
    KindSetting.objects.create(
        workspace=source, kind="unapproved_time", threshold_days=9, sla_hours=30, fix_guide="Ask Lena."
    )
    QueueSettings.objects.create(workspace=source, masked_fields="iban\nsalary")
    Rule.objects.for_workspace(source).filter(kind=RuleKind.GROUP_GREW).update(items=7, throttle_hours=6)
    Rule.objects.for_workspace(source).filter(kind=RuleKind.PAST_SLA).update(is_active=False)
    Rule.objects.create(
        workspace=source, kind=RuleKind.SYSTEM_SILENT, name="ERP quiet", silent_hours=3, system=northwind.erp
    )
    client.force_login(paula)

    response = create(client, partner, name="Copy Co", template=f"copy:{source.pk}")

    assert response.status_code == 302
    firm = Workspace.objects.get(slug="copy-co")
    setting = KindSetting.objects.for_workspace(firm).get()
    assert (setting.kind, setting.threshold_days, setting.sla_hours, setting.fix_guide) == (
        "unapproved_time",
        9,
        30,
        "Ask Lena.",
    )
    assert QueueSettings.objects.for_workspace(firm).get().masked_fields == "iban\nsalary"
    rules = {r.kind: r for r in Rule.objects.for_workspace(firm)}
    assert len(rules) == len(DEFAULT_RULES)  # the source's, not the defaults and the source's
    assert (rules[RuleKind.GROUP_GREW].items, rules[RuleKind.GROUP_GREW].throttle_hours) == (7, 6)
    assert rules[RuleKind.PAST_SLA].is_active is False
    assert not Rule.objects.for_workspace(firm).filter(name="ERP quiet").exists()  # tied to the source's ERP
    entry = AuditEntry.objects.for_workspace(firm).get(action="firm.created")
    assert entry.after["template"] == "copy of Northwind"


def test_a_firm_of_another_partner_cannot_be_the_template(client, partner, paula, contoso):
    client.force_login(paula)
    response = create(client, partner, template=f"copy:{contoso.workspace.pk}")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Workspace.objects.filter(slug="fjord-consulting").exists()


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"slug": "northwind"}, "slug", "exists already"),
        ({"name": "Northwind"}, "slug", "exists already"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "is not a time zone"),
        ({"currency": "EURO"}, "currency", "at most 3 characters"),
        ({"currency": "E1"}, "currency", "ISO 4217"),
        ({"billing_cutoff_day": "29"}, "billing_cutoff_day", "less than or equal to 28"),
        ({"accent_color": "blue"}, "accent_color", "A colour like"),
    ],
)
def test_bad_input_is_named_on_its_field_and_nothing_is_created(client, partner, paula, changes, field, words):
    client.force_login(paula)
    before = Workspace.objects.count()
    response = create(client, partner, **changes)
    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors[field])
    assert Workspace.objects.count() == before


def test_only_partner_admins_create_firms(client, partner, priya, ada):
    for user in (priya, ada):  # a partner operator; a firm's own admin
        client.force_login(user)
        assert client.get("/firms/new/").status_code == 403
        assert create(client, partner).status_code == 403
    assert not Workspace.objects.filter(slug="fjord-consulting").exists()


def test_a_partner_admin_of_two_partners_chooses_which_runs_the_firm(client, partner, paula):
    other = Partner.objects.create(name="Bluewater MSP")
    PartnerMembership.objects.create(user=paula, partner=other, role=PartnerRole.ADMIN)
    client.force_login(paula)
    assert "Bluewater MSP" in client.get("/firms/new/").content.decode()
    assert create(client, other).status_code == 302
    assert Workspace.objects.get(slug="fjord-consulting").partner == other
