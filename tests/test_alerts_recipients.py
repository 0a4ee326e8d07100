"""Who receives an alert: the roles the rule names, as each person chose; a project manager only about their
own projects; nobody of another workspace."""

from datetime import UTC, datetime

import pytest

from opsview.alerts import services
from opsview.alerts.models import How, Preference, Receipt, Rule
from opsview.queues.models import ExceptionItem
from tests.alerts_support import (
    CUTOFF,
    NEW_GROUP,
    check,
    mails_to,
    make_group,
    only_rule,
    received,
    tasks_at_once,  # noqa: F401 - an autouse fixture
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(northwind, ada, olivia, max_manager, erin, oscar):
    return {"ada": ada, "olivia": olivia, "max": max_manager, "erin": erin, "oscar": oscar}


def choose(user, rule, how):
    Preference.objects.update_or_create(workspace=rule.workspace, user=user, rule=rule, defaults={"how": how})


def test_by_default_admins_and_operators_get_it_at_once_and_executives_not(northwind, cast):
    only_rule(northwind, NEW_GROUP)
    make_group(northwind, items=2, project=northwind.other_project)
    [alert] = check(northwind)
    assert received(cast["ada"]) == {alert.title: How.AT_ONCE}
    assert received(cast["olivia"]) == {alert.title: How.AT_ONCE}
    assert received(cast["erin"]) == {}  # named by the rule, but off until she chooses
    assert received(cast["max"]) == {}  # not his project
    assert received(cast["oscar"]) == {}  # another firm
    assert [len(mails_to(cast[who])) for who in ("ada", "olivia", "erin", "max", "oscar")] == [1, 1, 0, 0, 0]


def test_a_manager_gets_the_digest_about_a_group_all_on_his_project_and_nothing_about_a_mixed_one(northwind, cast):
    only_rule(northwind, NEW_GROUP)
    his = make_group(northwind, items=2, project=northwind.managed_project)
    mixed = make_group(northwind, items=2, project=northwind.managed_project)
    ExceptionItem.objects.filter(group=mixed, external_id__endswith="-1").update(project=northwind.other_project)
    alerts = {a.subject_key: a for a in check(northwind)}
    assert alerts[f"group:{his.pk}"].manager == cast["max"]
    assert alerts[f"group:{mixed.pk}"].manager is None
    assert received(cast["max"]) == {alerts[f"group:{his.pk}"].title: How.DIGEST}
    assert Receipt.objects.filter(user=cast["max"], alert__subject_key=f"group:{mixed.pk}").count() == 0
    assert mails_to(cast["max"]) == []  # his waits for the digest


def test_each_persons_choice_at_once_digest_or_off_is_respected(northwind, cast):
    rule = only_rule(northwind, NEW_GROUP)
    choose(cast["ada"], rule, How.OFF)
    choose(cast["olivia"], rule, How.DIGEST)
    choose(cast["erin"], rule, How.AT_ONCE)  # an executive may choose to receive
    make_group(northwind, items=1)
    [alert] = check(northwind)
    assert received(cast["ada"]) == {}
    assert received(cast["olivia"]) == {alert.title: How.DIGEST}
    assert received(cast["erin"]) == {alert.title: How.AT_ONCE}
    assert [len(mails_to(cast[who])) for who in ("ada", "olivia", "erin")] == [0, 0, 1]


def test_a_role_the_rule_does_not_name_gets_nothing_even_with_a_choice(northwind, cast):
    rule = only_rule(northwind, NEW_GROUP, roles=["admin"])
    choose(cast["olivia"], rule, How.AT_ONCE)
    make_group(northwind, items=1)
    check(northwind)
    assert received(cast["olivia"]) == {}
    assert len(mails_to(cast["ada"])) == 1


def test_another_workspace_neither_receives_nor_fires_about_this_ones_groups(northwind, contoso, cast):
    only_rule(northwind, NEW_GROUP)
    Rule.objects.for_workspace(contoso.workspace).exclude(kind=NEW_GROUP).update(is_active=False)
    services.evaluate_workspace(contoso.workspace)
    make_group(northwind, items=1)
    assert services.evaluate_workspace(contoso.workspace) == []
    check(northwind)
    assert received(cast["oscar"]) == {}
    assert mails_to(cast["oscar"]) == []


def test_the_unapproved_time_reminder_goes_to_the_manager_only(northwind, cast):
    only_rule(northwind, CUTOFF)
    northwind.workspace.billing_cutoff_day = 0
    northwind.workspace.save()
    [alert] = check(northwind, datetime(2026, 11, 29, 9, tzinfo=UTC))
    assert Receipt.objects.filter(alert=alert).count() == 1
    assert received(cast["max"]) == {alert.title: How.DIGEST}
