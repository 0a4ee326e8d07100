"""Each kind of rule fires once about the right subject, says what a finance user needs, links to the page
that shows it, and keeps quiet within its throttle window."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from opsview.alerts.models import Alert
from opsview.queues.models import ExceptionItem, Status
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent, SyncRun
from tests.alerts_support import (
    CUTOFF,
    GROUP_GREW,
    NEW_GROUP,
    PAST_SLA,
    SILENT,
    SYNC_LOW,
    check,
    grow,
    mails_to,
    make_group,
    only_rule,
    tasks_at_once,  # noqa: F401 - an autouse fixture
)
from tests.conftest import keep_stakes, signed_in

pytestmark = pytest.mark.django_db


def test_a_new_group_alerts_once_with_its_money_and_the_group_page(client, northwind, ada):
    before = make_group(northwind, items=2)
    only_rule(northwind, NEW_GROUP)
    group = make_group(northwind, items=3, amount="200", message="Posting period 2026-10 is closed")

    [alert] = check(northwind)
    assert alert.subject_key == f"group:{group.pk}"
    assert alert.title == "New exception group: ERP posting failure in Tryton"
    assert alert.lines[:2] == [
        "ERP posting failure in Tryton: Posting period 2026-10 is closed",
        "3 exceptions waiting, EUR 600.00 at stake",
    ]
    assert alert.link == f"/queues/groups/{group.pk}/?status=pending"
    assert [m.subject for m in mails_to(ada)] == [alert.title]
    page = signed_in(client, ada).get(alert.link)
    assert page.status_code == 200 and f"TE-{group.pk}-2" in page.content.decode()

    grow(northwind, group, 10)
    assert check(northwind) == []  # a new group alerts once, however it grows
    assert check(northwind, timezone.now() + timedelta(days=3)) == []
    assert not Alert.objects.filter(subject_key=f"group:{before.pk}", baseline=False).exists()


def test_a_group_growing_past_its_items_alerts_then_not_again_within_the_window(northwind, ada):
    group = make_group(northwind, items=3)
    only_rule(northwind, GROUP_GREW, items=5, money=None)
    assert check(northwind) == []

    grow(northwind, group, 6)
    [alert] = check(northwind)
    assert alert.title == "Exception group past 5 items: ERP posting failure in Tryton"
    assert alert.lines[1] == "6 exceptions waiting, EUR 600.00 at stake"
    assert alert.link == f"/queues/groups/{group.pk}/?status=pending"
    assert alert.measure == 6

    grow(northwind, group, 9)
    assert check(northwind) == []  # still growing, but within the window
    tomorrow = timezone.now() + timedelta(hours=25)
    [again] = check(northwind, tomorrow)
    assert again.lines[1] == "9 exceptions waiting, EUR 900.00 at stake"
    later = tomorrow + timedelta(hours=25)
    assert check(northwind, later) == []  # past the window, but it did not grow since


def test_a_group_past_its_money_at_stake_counts_each_record_once_in_the_workspace_currency(northwind, ada):
    only_rule(northwind, GROUP_GREW, items=None, money=Decimal("1000"))
    small = make_group(northwind, items=2, amount="400")
    big = make_group(northwind, items=3, amount="400")
    ExceptionItem.objects.filter(group=small).update(currency="GBP", amount=Decimal("900"))
    keep_stakes(northwind)

    [alert] = check(northwind)
    assert alert.subject_key == f"group:{big.pk}"
    assert alert.title == "Exception group past EUR 1,000.00: ERP posting failure in Tryton"
    assert alert.measure == Decimal("1200")


def test_exceptions_past_their_sla_alert_per_group_and_again_only_for_newly_late_ones(client, northwind, ada):
    now = timezone.now()
    only_rule(northwind, PAST_SLA)
    group = make_group(northwind, items=2, sla_due_at=now - timedelta(hours=30))
    make_group(northwind, items=4, sla_due_at=now + timedelta(days=10))  # on time
    snoozed = make_group(northwind, items=1, sla_due_at=now - timedelta(hours=5))
    ExceptionItem.objects.filter(group=snoozed).update(status=Status.SNOOZED, snoozed_until=now + timedelta(days=1))
    keep_stakes(northwind)

    [alert] = check(northwind)
    assert alert.title == "Past SLA: 2 exceptions in ERP posting failure in Tryton"
    assert alert.lines[1:] == ["2 past SLA, EUR 200.00 at stake", "The oldest is 30 hours past its SLA"]
    assert alert.link == f"/queues/groups/{group.pk}/?past_sla=1"
    assert signed_in(client, ada).get(alert.link).status_code == 200

    assert check(northwind) == []
    assert check(northwind, now + timedelta(hours=30)) == []  # the same late ones: said already
    ExceptionItem.objects.filter(group=group, external_id__endswith="-1").update(sla_due_at=now + timedelta(hours=2))
    ExceptionItem.objects.filter(group=group, external_id__endswith="-0").update(sla_due_at=now - timedelta(days=3))
    grow(northwind, group, 3, sla_due_at=now + timedelta(hours=26))
    [again] = check(northwind, now + timedelta(hours=30))
    assert again.subject_key == f"group:{group.pk}"
    assert again.lines[1].startswith("3 past SLA")


def _events(firm, succeeded, failed, at):
    run = SyncRun.objects.create(
        workspace=firm.workspace,
        reported_by=firm.harvest,
        flow="time_to_erp",
        source_system=firm.harvest,
        target_system=firm.erp,
        started_at=at,
    )
    SyncEvent.objects.bulk_create(
        SyncEvent(
            workspace=firm.workspace,
            event_id=f"e-{at:%H%M%S}-{outcome}-{n}",
            run=run,
            record_type="time_entry",
            external_id=f"TE-{n}",
            source_system=firm.harvest,
            target_system=firm.erp,
            outcome=outcome,
            occurred_at=at,
        )
        for outcome, number in (("succeeded", succeeded), ("failed", failed))
        for n in range(number)
    )


def test_a_low_sync_success_rate_alerts_for_its_system_with_its_failed_events(client, northwind, ada):
    now = timezone.now()
    only_rule(northwind, SYNC_LOW)
    _events(northwind, succeeded=3, failed=2, at=now - timedelta(hours=2))
    assert check(northwind) == []  # five events say little

    _events(northwind, succeeded=5, failed=2, at=now - timedelta(hours=1))
    _events(northwind, succeeded=0, failed=30, at=now - timedelta(hours=30))  # before the window
    [alert] = check(northwind)
    assert alert.subject_key == f"system:{northwind.erp.pk}"
    assert alert.title == "Sync success to Tryton at 67% over 24 hours"
    assert alert.lines == ["8 records succeeded and 4 failed in the last 24 hours (66.7%; alert under 90%)"]
    assert alert.link.startswith(f"/records/sync-events/?target={northwind.erp.pk}&outcome=failed&start=")
    page = signed_in(client, ada).get(alert.link)
    assert page.status_code == 200 and "TE-1" in page.content.decode()
    assert check(northwind) == []


def test_a_silent_system_alerts_with_its_last_run_and_the_runs_page(client, northwind, ada):
    now = timezone.now()
    three_days_ago = now - timedelta(days=3)
    System.objects.filter(workspace=northwind.workspace).update(created_at=three_days_ago)
    only_rule(northwind, SILENT)
    assert check(northwind) == []  # the firm's run started just now

    SyncRun.objects.filter(workspace=northwind.workspace).update(started_at=now - timedelta(hours=30))
    alerts = check(northwind)
    assert [a.title for a in alerts] == [
        "Harvest silent: no sync run for 24 hours",
        "Tryton silent: no sync run for 24 hours",
    ]
    assert alerts[0].lines[0].endswith(", 30 hours ago")
    assert alerts[0].link == f"/runs/?system={northwind.harvest.pk}"
    page = signed_in(client, ada).get(alerts[0].link)
    assert page.status_code == 200 and "time_to_erp" in page.content.decode()
    assert check(northwind) == []
    assert len(check(northwind, now + timedelta(hours=25))) == 2  # still silent a day later: said again


def test_unapproved_time_before_the_cutoff_goes_to_each_manager_about_their_own_projects(
    client, northwind, max_manager
):
    only_rule(northwind, CUTOFF)
    assert check(northwind) == []  # the test's today is not within 3 days of a cut-off
    northwind.workspace.billing_cutoff_day = 0  # the month's last day
    northwind.workspace.save()
    too_early = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert check(northwind, too_early) == []

    near = datetime(2026, 11, 28, 12, tzinfo=UTC)
    [alert] = check(northwind, near)
    assert alert.subject_key == f"manager:{northwind.manager_person.pk}:2026-11-30"
    assert alert.title == "7.50 unapproved hours on your projects before the 30 Nov billing cut-off"
    assert alert.lines == [
        "Billing cut-off Mon 30 Nov 2026, in 2 days: approve or chase these hours first",
        "Projects managed by Max Manager",
        "Wendy Worker: 7.50 h",
    ]
    assert alert.manager == max_manager
    assert alert.link == (
        f"/records/time-entries/?status=unapproved&manager={northwind.manager_person.pk}&end=2026-11-30"
    )
    page = signed_in(client, max_manager).get(alert.link).content.decode()
    assert "NW1" in page and "NW2" not in page  # the page behind it: his project's waiting time only
    assert check(northwind, near + timedelta(hours=1)) == []
    assert len(check(northwind, near + timedelta(hours=25))) == 1  # one reminder a day until the cut-off
