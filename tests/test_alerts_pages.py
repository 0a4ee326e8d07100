"""The alert pages: rules for admins only, with clear errors and an audit trail; My alerts for everyone; the
alerts fired, all for admins and each person's own for the others."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from opsview.alerts.models import How, Preference, Rule, RuleKind
from opsview.audit.models import AuditEntry
from tests.alerts_support import (
    NEW_GROUP,
    PAST_SLA,
    check,
    make_group,
    only_rule,
    tasks_at_once,  # noqa: F401 - an autouse fixture
)
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Xero sync under 80%",
    "kind": RuleKind.SYNC_SUCCESS_LOW,
    "is_active": "on",
    "success_percent": "80",
    "window_hours": "12",
    "items": "40",  # another kind's threshold: left empty
    "throttle_hours": "6",
    "roles": ["admin", "operator"],
}


def test_a_new_workspace_starts_with_the_default_rules(northwind):
    rules = Rule.objects.for_workspace(northwind.workspace)
    assert sorted(rules.values_list("kind", flat=True)) == sorted(RuleKind.values)
    cutoff = rules.get(kind=RuleKind.UNAPPROVED_BEFORE_CUTOFF)
    assert (cutoff.days_before, cutoff.roles, cutoff.throttle_hours) == (3, ["manager"], 24)


@pytest.mark.parametrize("who", ["olivia", "max", "erin"])
def test_only_admins_see_and_change_the_rules(client, northwind, ada, olivia, max_manager, erin, who):
    user = {"olivia": olivia, "max": max_manager, "erin": erin}[who]
    rule = Rule.objects.for_workspace(northwind.workspace).first()
    signed_in(client, user)
    assert client.get("/settings/alerts/rules/").status_code == 403
    assert client.get(f"/settings/alerts/rules/{rule.pk}/").status_code == 403
    assert client.post("/settings/alerts/rules/new/", VALID).status_code == 403
    assert client.post(f"/settings/alerts/rules/{rule.pk}/active/", {"active": "0"}).status_code == 403
    assert Rule.objects.get(pk=rule.pk).is_active
    assert not Rule.objects.filter(name=VALID["name"]).exists()
    assert 'href="/settings/alerts/rules/"' not in client.get("/").content.decode()


def test_an_admin_of_another_workspace_cannot_reach_this_ones_rules(client, northwind, oscar):
    rule = Rule.objects.for_workspace(northwind.workspace).first()
    signed_in(client, oscar)
    assert client.get(f"/settings/alerts/rules/{rule.pk}/").status_code == 404
    assert client.post(f"/settings/alerts/rules/{rule.pk}/active/", {"active": "0"}).status_code == 404
    assert Rule.objects.get(pk=rule.pk).is_active


def test_an_admin_adds_a_rule_audited_with_only_its_kinds_thresholds(client, northwind, ada):
    signed_in(client, ada)
    page = client.get("/settings/alerts/rules/").content.decode()
    assert "Unapproved time, 3 days before the billing cut-off" in page
    response = client.post("/settings/alerts/rules/new/", VALID)
    assert response.status_code == 302
    rule = Rule.objects.get(name="Xero sync under 80%")
    assert (rule.success_percent, rule.window_hours, rule.items, rule.throttle_hours) == (80, 12, None, 6)
    entry = AuditEntry.objects.get(action="alert_rule.create")
    assert entry.actor == ada and entry.target_label == rule.name and entry.after["success_percent"] == "80"


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"success_percent": ""}, "Success rate under (%): Required for 'A system's sync success rate falls under"),
        ({"success_percent": "140"}, "Success rate under (%): Ensure this value is less than or equal to 100."),
        ({"kind": RuleKind.GROUP_GREW, "items": ""}, "needs a number of items, an amount of money, or both"),
        ({"roles": []}, "Choose at least one role or chat channel"),
        ({"name": "   "}, "Name:"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_with_what_and_where(client, northwind, ada, change, problem):
    signed_in(client, ada)
    response = client.post("/settings/alerts/rules/new/", {**VALID, **change})
    assert response.status_code == 400
    assert problem in response.content.decode().replace("&#x27;", "'")
    assert not Rule.objects.filter(name=VALID["name"]).exists()
    assert not AuditEntry.objects.filter(action__startswith="alert_rule").exists()


def test_an_admin_changes_and_deactivates_a_rule_each_audited(client, northwind, ada):
    signed_in(client, ada)
    rule = Rule.objects.for_workspace(northwind.workspace).get(kind=RuleKind.SYSTEM_SILENT)
    data = {"name": "Silent 6 hours", "kind": rule.kind, "is_active": "on", "silent_hours": "6"}
    data |= {"throttle_hours": "12", "roles": ["admin"]}
    assert client.post(f"/settings/alerts/rules/{rule.pk}/", data).status_code == 302
    change = AuditEntry.objects.get(action="alert_rule.change")
    assert (change.before["silent_hours"], change.after["silent_hours"]) == ("24", "6")
    assert client.post(f"/settings/alerts/rules/{rule.pk}/active/", {"active": "0"}).status_code == 302
    assert not Rule.objects.get(pk=rule.pk).is_active
    assert AuditEntry.objects.filter(action="alert_rule.deactivate", target_id=str(rule.pk)).count() == 1
    assert "inactive" in client.get("/settings/alerts/rules/").content.decode()


def test_everyone_chooses_their_own_alerts_audited(client, northwind, olivia, erin, max_manager):
    rule = Rule.objects.for_workspace(northwind.workspace).get(kind=NEW_GROUP)
    signed_in(client, erin)
    page = client.get("/alerts/mine/").content.decode()
    assert "New exception group" in page and "Unapproved time" not in page  # only rules naming executives
    fields = {
        f"rule_{r.pk}": How.OFF for r in Rule.objects.for_workspace(northwind.workspace) if "executive" in r.roles
    }
    assert client.post("/alerts/mine/", fields | {f"rule_{rule.pk}": How.AT_ONCE}).status_code == 302
    assert Preference.objects.get(user=erin, rule=rule).how == How.AT_ONCE
    [entry] = AuditEntry.objects.filter(action="alert_preference.change")
    assert (entry.actor, entry.before, entry.after) == (erin, {"receive": "off"}, {"receive": "at_once"})

    signed_in(client, max_manager)
    page = client.get("/alerts/mine/").content.decode()
    assert "Unapproved time, 3 days before the billing cut-off" in page and "only alerts about your own" in page
    bad = client.post("/alerts/mine/", {f"rule_{rule.pk}": "hourly"})
    assert bad.status_code == 400 and "New exception group" in bad.content.decode()


def test_the_alerts_page_shows_admins_all_and_others_their_own_with_the_page_behind(
    client, northwind, ada, olivia, max_manager, oscar
):
    rule = only_rule(northwind, NEW_GROUP)
    Preference.objects.create(workspace=northwind.workspace, user=olivia, rule=rule, how=How.OFF)
    group = make_group(northwind, items=1)
    [alert] = check(northwind)
    admin_page = signed_in(client, ada).get("/alerts/").content.decode()
    assert alert.title in admin_page and f'href="/queues/groups/{group.pk}/?status=pending"' in admin_page
    assert "at once (1)" in admin_page
    assert alert.title not in signed_in(client, olivia).get("/alerts/").content.decode()
    assert "No alerts yet" in signed_in(client, max_manager).get("/alerts/").content.decode()
    assert alert.title not in signed_in(client, oscar).get("/alerts/").content.decode()


def test_a_rule_turned_on_again_starts_from_what_is_there_then(client, northwind, ada):
    rule = only_rule(northwind, NEW_GROUP)
    signed_in(client, ada)
    client.post(f"/settings/alerts/rules/{rule.pk}/active/", {"active": "0"})
    make_group(northwind, items=1)  # while it was off
    client.post(f"/settings/alerts/rules/{rule.pk}/active/", {"active": "1"})
    assert check(northwind) == []
    make_group(northwind, items=1)
    assert len(check(northwind)) == 1


def test_a_rule_given_another_kind_starts_afresh(client, northwind, ada):
    rule = only_rule(northwind, PAST_SLA)
    make_group(northwind, items=1)
    data = {"name": "New groups", "kind": NEW_GROUP, "is_active": "on", "throttle_hours": "24", "roles": ["admin"]}
    assert signed_in(client, ada).post(f"/settings/alerts/rules/{rule.pk}/", data).status_code == 302
    assert check(northwind) == []  # its first check as a new-group rule
    make_group(northwind, items=1)
    assert [a.rule_id for a in check(northwind)] == [rule.pk]


def test_workspaces_that_existed_before_alerts_get_the_default_rules_from_the_migration(northwind, contoso):
    migration = importlib.import_module("opsview.alerts.migrations.0002_default_rules")
    Rule.objects.for_workspace(northwind.workspace).delete()
    custom = Rule.objects.for_workspace(contoso.workspace)
    custom.exclude(kind=NEW_GROUP).delete()
    migration.add_default_rules(apps, SimpleNamespace(connection=connection))
    assert Rule.objects.for_workspace(northwind.workspace).count() == len(RuleKind.values)
    assert custom.count() == 1  # a workspace with rules of its own keeps them as they are
