"""Exceptions from business states: on every ingest and on the schedule, with per-workspace thresholds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from opsview.queues import services, tasks
from opsview.queues.models import Kind, Resolution, Status
from tests.queue_support import exceptions, only_exception

TODAY = timezone.localdate()


def post(api, kind, items):
    response = api.post(f"/api/v1/states/{kind}/", {"items": items}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def time_entry(ext, version, days_ago, **overrides):
    item = {
        "external_id": ext,
        "version": version,
        "person": "P-W",
        "project": "PR-1",
        "work_date": (TODAY - timedelta(days=days_ago)).isoformat(),
        "hours": "8",
        "bill_rate": 120,
        "currency": "EUR",
        "status": "submitted",
    }
    item.update(overrides)
    return item


def invoice(ext, version, issued_days_ago, status="issued"):
    return {
        "external_id": ext,
        "version": version,
        "number": f"2026-{ext}",
        "client": "C-1",
        "project": "PR-1",
        "amount": "4800.00",
        "currency": "EUR",
        "status": status,
        "issue_date": (TODAY - timedelta(days=issued_days_ago)).isoformat(),
    }


def test_the_schedule_finds_time_unapproved_past_the_cut_off(northwind):
    tasks.scan_business_states()

    items = exceptions(northwind, kind=Kind.UNAPPROVED_TIME)
    # Both fixture entries are submitted, worked on 2026-11-02: past the default 7-day cut-off.
    assert sorted(items.values_list("external_id", flat=True)) == ["TE-PR-1", "TE-PR-2"]
    assert {x.amount for x in items} == {Decimal("1125.00")}
    assert items.values("group").distinct().count() == 2  # one group per project: one approver to chase


def test_ingesting_fresh_time_opens_nothing_and_old_time_opens_an_exception(api, northwind):
    post(api, "time-entries", [time_entry("TE-new", 1, 2), time_entry("TE-old", 1, 10)])

    item = only_exception(northwind, kind=Kind.UNAPPROVED_TIME)
    assert (item.external_id, item.amount, item.status) == ("TE-old", Decimal("960.00"), Status.OPEN)
    assert item.group.message.startswith("Time on project NW1 Northwind Rollout is unapproved")


def test_approving_the_time_resolves_the_exception_by_itself(api, northwind):
    post(api, "time-entries", [time_entry("TE-old", 1, 10)])
    approved_at = (timezone.now() - timedelta(hours=1)).isoformat()
    post(api, "time-entries", [time_entry("TE-old", 2, 10, status="approved", approved_at=approved_at)])

    item = only_exception(northwind, kind=Kind.UNAPPROVED_TIME)
    assert (item.status, item.resolution) == (Status.RESOLVED, Resolution.AUTOMATIC)
    assert not exceptions(northwind, kind=Kind.UNBILLED_TIME).exists()  # approved an hour ago: within the limit


def test_approved_time_not_invoiced_within_the_limit_and_its_invoicing(api, northwind):
    approved_at = (timezone.now() - timedelta(days=20)).isoformat()
    post(api, "time-entries", [time_entry("TE-a", 1, 25, status="approved", approved_at=approved_at)])
    assert only_exception(northwind, kind=Kind.UNBILLED_TIME).status == Status.OPEN

    post(
        api,
        "time-entries",
        [time_entry("TE-a", 2, 25, status="approved", approved_at=approved_at, invoice_reference="2026-0193")],
    )
    assert only_exception(northwind, kind=Kind.UNBILLED_TIME).status == Status.RESOLVED


def test_an_issued_invoice_not_posted_in_time_and_its_posting(api, northwind):
    post(api, "invoices", [invoice("I-1", 1, 5), invoice("I-2", 1, 1)])
    item = only_exception(northwind, kind=Kind.UNPOSTED_INVOICE)
    assert (item.external_id, item.amount, item.invoice.number) == ("I-1", Decimal("4800.00"), "2026-I-1")

    post(api, "invoices", [invoice("I-1", 2, 5, status="posted")])
    assert only_exception(northwind, kind=Kind.UNPOSTED_INVOICE).status == Status.RESOLVED


def test_thresholds_are_per_workspace(northwind, contoso, ada):
    services.save_kind_setting(ada, northwind.workspace, Kind.UNAPPROVED_TIME, 60, 48, "")
    tasks.scan_business_states()

    assert not exceptions(northwind, kind=Kind.UNAPPROVED_TIME).exists()
    assert exceptions(contoso, kind=Kind.UNAPPROVED_TIME).count() == 2


def test_a_persons_resolution_holds_while_the_condition_lasts(northwind, olivia):
    tasks.scan_business_states()
    services.resolve(olivia, northwind.workspace, exceptions(northwind), Resolution.NOT_AN_ERROR, "internal project")
    tasks.scan_business_states()

    assert set(exceptions(northwind).values_list("status", flat=True)) == {Status.RESOLVED}


def test_an_automatic_resolution_reopens_when_the_condition_comes_back(api, northwind):
    post(api, "time-entries", [time_entry("TE-x", 1, 10)])
    post(api, "time-entries", [time_entry("TE-x", 2, 10, status="approved", approved_at=timezone.now().isoformat())])
    post(api, "time-entries", [time_entry("TE-x", 3, 10, status="rejected")])
    post(api, "time-entries", [time_entry("TE-x", 4, 10, status="submitted")])

    item = only_exception(northwind, kind=Kind.UNAPPROVED_TIME)
    assert (item.status, item.recurrences) == (Status.OPEN, 1)


def test_snoozed_exceptions_wake_when_their_date_comes(northwind, olivia):
    tasks.scan_business_states()
    soon = timezone.now() + timedelta(hours=1)
    services.snooze(olivia, northwind.workspace, exceptions(northwind), soon)

    assert tasks.wake_snoozed(now=soon - timedelta(minutes=1)) == 0
    assert tasks.wake_snoozed(now=soon + timedelta(minutes=1)) == 2
    assert set(exceptions(northwind).values_list("status", flat=True)) == {Status.OPEN}


def test_the_schedules_are_registered_for_the_task_cluster(db):
    from django_q.models import Schedule

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"opsview.queues.tasks.scan_business_states", "opsview.queues.tasks.wake_snoozed"} <= funcs


def test_backfill_opens_exceptions_for_what_was_stored_before(northwind):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("backfill_queues", "--workspace", "northwind", stdout=out)
    call_command("backfill_queues", "--workspace", "northwind", stdout=out)  # again: nothing doubles

    # The fixture's failed event (PERIOD_CLOSED on TE-PR-1) and its two unapproved entries.
    assert sorted(exceptions(northwind).values_list("kind", "external_id")) == [
        (Kind.POSTING_FAILURE, "TE-PR-1"),
        (Kind.UNAPPROVED_TIME, "TE-PR-1"),
        (Kind.UNAPPROVED_TIME, "TE-PR-2"),
    ]
    assert only_exception(northwind, kind=Kind.POSTING_FAILURE).occurrences == 1
    assert "northwind: 1 sync events" in out.getvalue()
    out = StringIO()
    call_command("backfill_queues", "--if-empty", stdout=out)  # what `make run` does: Northwind has its queue
    assert "northwind" not in out.getvalue()


@pytest.mark.parametrize("size", [4, 40])
def test_evaluating_an_ingested_batch_takes_a_bounded_number_of_queries(northwind, size, django_assert_max_num_queries):
    from opsview.queues.state_rules import on_states
    from opsview.records.models import TimeEntry

    tasks.scan_business_states()  # the groups exist, as they do after the first day
    TimeEntry.objects.bulk_create(
        [
            TimeEntry(
                workspace=northwind.workspace,
                system=northwind.harvest,
                external_id=f"TE-b{n}",
                person=northwind.worker,
                project=northwind.managed_project,
                work_date=TODAY - timedelta(days=10),
                hours=Decimal(8),
                bill_rate=Decimal(100),
                currency="EUR",
                status="submitted",
            )
            for n in range(size)
        ]
    )
    # One more than the rules need: the records' exceptions learn their names (one lookup, no update here);
    # then their money at stake is kept (queues.stakes: a delete and an insert, after a lock on PostgreSQL, and the
    # firm's totals before and after them with one insert of the change).
    with django_assert_max_num_queries(12 if connection.vendor == "sqlite" else 13):
        on_states(northwind.workspace, TimeEntry, northwind.harvest, [f"TE-b{n}" for n in range(size)])
    assert exceptions(northwind, external_id__startswith="TE-b").count() == size
