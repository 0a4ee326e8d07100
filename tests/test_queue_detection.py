"""Exceptions appear by themselves: from failed sync events on ingest, grouped by cause; they reopen
when a record fails again and resolve when it later succeeds."""

from decimal import Decimal

import pytest

from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Resolution, Status
from opsview.queues.rowupdates import insert_new
from tests.conftest import keep_stakes
from tests.queue_support import BASE, exceptions, failure, later, only_exception, send, success


def test_a_failed_event_opens_an_exception_with_its_kind_and_the_money_it_holds_up(api, northwind):
    send(api, failure("TE-PR-1", "Posting period 2026-10 is closed"))

    item = only_exception(northwind)
    assert (item.kind, item.status, item.system, item.error_code) == (
        Kind.POSTING_FAILURE,
        Status.OPEN,
        northwind.erp,
        "PERIOD_CLOSED",
    )
    # The stored time entry: 7.5 h × 150 EUR, on the managed project.
    assert (item.amount, item.currency) == (Decimal("1125.00"), "EUR")
    assert item.time_entry.external_id == "TE-PR-1"
    assert item.project == northwind.managed_project and item.client == northwind.client
    assert item.last_event.event_id.startswith("ev-TE-PR-1")


def test_a_record_opsview_has_not_seen_takes_its_value_from_the_payload(api, northwind):
    send(api, failure("INV-9", record_type="invoice", payload={"amount": "980.50", "currency": "USD"}))

    item = only_exception(northwind)
    assert (item.amount, item.currency, item.time_entry, item.invoice) == (Decimal("980.50"), "USD", None, None)


def test_failures_with_one_cause_form_one_group(api, northwind):
    send(
        api,
        *[failure(f"TE-{n}", f"Posting period 2026-{n:02d} is closed (entry TE-{n})") for n in range(1, 21)],
        failure("TE-99", "Unknown project code 'ACME-01'", code=""),
        failure("TE-98", "Unknown project code 'ACME-01'", code=""),
        failure("TE-97", "Unknown project code 'BETA-7'", code=""),
    )

    groups = ExceptionGroup.objects.for_workspace(northwind.workspace)
    sizes = {g.message: g.items.count() for g in groups}
    assert sizes == {
        "Posting period <n> is closed (entry <n>)": 20,
        "Unknown project code '<id>' — unknown value 'ACME-01'": 2,
        "Unknown project code '<id>' — unknown value 'BETA-7'": 1,
    }
    acme = groups.get(mapping_value="ACME-01")
    assert (acme.kind, acme.mapping_kind) == (Kind.MISSING_MAPPING, "project")


def test_repeated_failures_of_one_record_stay_one_exception_and_are_counted(api, northwind):
    send(api, failure("TE-1", at=later(0)))
    send(api, failure("TE-1", at=later(1)), failure("TE-1", at=later(2)))

    item = only_exception(northwind)
    assert (item.occurrences, item.recurrences, item.last_seen_at) == (3, 0, later(2))


def test_a_record_failing_again_for_another_cause_moves_to_that_cause_with_its_new_value(api, northwind):
    send(api, failure("INV-7", record_type="invoice", at=later(0), payload={"amount": "100.00", "currency": "EUR"}))
    first = only_exception(northwind)
    send(
        api,
        failure(
            "INV-7",
            "Unknown project code 'ACME-01'",
            code="",
            record_type="invoice",
            at=later(1),
            payload={"amount": "2500.50", "currency": "USD", "number": "2026-0042"},
        ),
    )

    item = only_exception(northwind)
    assert item.pk == first.pk and item.group_id != first.group_id
    assert (item.kind, item.group.mapping_value, item.error_code, item.error_message) == (
        Kind.MISSING_MAPPING,
        "ACME-01",
        "",
        "Unknown project code 'ACME-01'",
    )
    assert (item.amount, item.currency, item.occurrences, item.last_seen_at) == (Decimal("2500.50"), "USD", 2, later(1))
    assert "2026-0042" in item.title and "2026-0042" in item.search_text
    assert ExceptionItem.objects.filter(searchable__contains="acme-01").get() == item


def test_a_record_that_fails_again_after_being_resolved_reopens_and_counts_the_recurrence(api, northwind, olivia):
    from opsview.queues import services

    send(api, failure("TE-1", at=later(0)))
    services.resolve(olivia, northwind.workspace, exceptions(northwind), Resolution.FIXED_AT_SOURCE, "reopened period")
    send(api, failure("TE-1", at=later(48)))  # tomorrow: after the resolution

    item = only_exception(northwind)
    assert (item.status, item.recurrences, item.resolution, item.resolved_at) == (Status.OPEN, 1, "", None)
    reopen = AuditEntry.objects.get(action="exception.reopen", target_id=str(item.pk))
    assert reopen.actor_label == "system" and "failed again" in reopen.note
    assert reopen.before["status"] == "resolved" and reopen.after["recurrences"] == 1


def test_a_late_delivered_failure_from_before_the_resolution_does_not_reopen(api, northwind, olivia):
    from opsview.queues import services

    send(api, failure("TE-1", at=later(5)))
    services.resolve(olivia, northwind.workspace, exceptions(northwind), Resolution.REPLAYED)
    send(api, failure("TE-1", at=later(1)))

    assert only_exception(northwind).status == Status.RESOLVED


def test_a_record_that_later_succeeds_resolves_its_exception_by_itself(api, northwind):
    send(api, failure("TE-1", at=later(0)), failure("TE-2", at=later(0)))
    send(api, success("TE-1", at=later(3)), success("TE-3", at=later(3)))

    resolved = only_exception(northwind, external_id="TE-1")
    assert (resolved.status, resolved.resolution, resolved.resolved_at) == (
        Status.RESOLVED,
        Resolution.AUTOMATIC,
        later(3),
    )
    assert only_exception(northwind, external_id="TE-2").status == Status.OPEN
    entry = AuditEntry.objects.get(action="exception.auto_resolve")
    assert entry.target_id == str(resolved.pk) and entry.actor is None


def test_a_success_older_than_the_failure_resolves_nothing(api, northwind):
    send(api, failure("TE-1", at=later(5)))
    send(api, success("TE-1", at=later(1)))

    assert only_exception(northwind).status == Status.OPEN


def test_failure_then_success_in_one_batch_leaves_it_resolved(api, northwind):
    send(api, failure("TE-1", at=later(0)), success("TE-1", at=later(1)))

    assert only_exception(northwind).status == Status.RESOLVED


def test_a_record_failing_towards_two_targets_is_two_exceptions(api, northwind):
    from opsview.systems.models import System

    System.objects.create(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing")
    send(api, failure("TE-1"), failure("TE-1", "HTTP 503 Service Unavailable", code="", target_system="xero"))

    kinds = set(exceptions(northwind).values_list("system__slug", "kind"))
    assert kinds == {("tryton", Kind.POSTING_FAILURE), ("xero", Kind.SYNC_ERROR)}


def test_resending_a_batch_changes_nothing(api, northwind):
    batch = [failure("TE-1"), failure("TE-2")]
    send(api, *batch)
    send(api, *batch)

    assert [x.occurrences for x in exceptions(northwind).order_by("external_id")] == [1, 1]


def test_a_batch_of_successes_costs_ingest_one_query(northwind, django_assert_num_queries):
    from opsview.queues.sync_failures import on_sync_events
    from opsview.telemetry.models import SyncEvent

    events = [
        SyncEvent(
            workspace=northwind.workspace,
            event_id=f"e{n}",
            record_type="time_entry",
            external_id=f"TE-{n}",
            source_system=northwind.harvest,
            target_system=northwind.erp,
            outcome="succeeded",
            occurred_at=BASE,
        )
        for n in range(1000)
    ]
    with django_assert_num_queries(1):
        on_sync_events(northwind.workspace, events)


def test_if_the_queue_update_fails_the_batch_is_not_stored_so_a_resend_opens_the_exception(api, northwind, monkeypatch):
    from opsview.queues import sync_failures
    from opsview.telemetry.models import SyncEvent

    batch = [failure("TE-1")]

    def broken(workspace, events):
        raise RuntimeError("queue update failed")

    with monkeypatch.context() as patched:
        patched.setattr(sync_failures, "on_sync_events", broken)
        with pytest.raises(RuntimeError):
            api.post("/api/v1/sync-events/", {"items": batch}, format="json")
    assert not SyncEvent.objects.filter(external_id="TE-1").exists()

    send(api, *batch)
    assert only_exception(northwind).external_id == "TE-1"


def test_a_batch_of_repeated_failures_costs_ingest_a_handful_of_queries(api, northwind, django_assert_max_num_queries):
    from opsview.queues.sync_failures import on_sync_events
    from opsview.telemetry.models import SyncEvent

    send(api, *[failure(f"TE-{n}", at=later(0)) for n in range(300)])
    again = SyncEvent.objects.bulk_create(
        [
            SyncEvent(
                workspace=northwind.workspace,
                event_id=f"again-{n}",
                record_type="time_entry",
                external_id=f"TE-{n}",
                source_system=northwind.harvest,
                target_system=northwind.erp,
                outcome="failed",
                error_code="PERIOD_CLOSED",
                error_message="Posting period 2026-11 is closed",
                payload={"hours": 7.5, "bill_rate": 150, "currency": "EUR"},
                occurred_at=later(1),
            )
            for n in range(300)
        ]
    )
    with django_assert_max_num_queries(8) as captured:
        on_sync_events(northwind.workspace, again)
    assert not [q for q in captured.captured_queries if "CASE WHEN" in q["sql"]]  # no per-field CASE per row

    assert set(exceptions(northwind).values_list("occurrences", "last_seen_at")) == {(2, later(1))}
    latest = exceptions(northwind).first()
    assert latest.last_event.event_id.startswith("again-")
    assert latest.error_message == "Posting period 2026-11 is closed"


def test_records_a_scheduled_pull_could_not_store_open_exceptions_too(northwind):
    from opsview.ingest.events import store_events
    from opsview.pulls.recording import record_event
    from opsview.telemetry.models import SyncRun

    run = SyncRun.objects.for_workspace(northwind.workspace).get()
    item = {"external_id": "TE-77", "hours": "25"}
    failed = record_event(
        northwind.harvest, run, "time_entry", item, "failed", "VALIDATION", "hours: must be at most 24"
    )
    store_events(northwind.workspace, [failed])

    pulled = only_exception(northwind)
    assert (pulled.external_id, pulled.kind, pulled.system) == ("TE-77", Kind.VALIDATION_REJECTED, northwind.harvest)


def test_a_new_exception_another_writer_opened_first_is_left_as_it_is(api, northwind):
    # Two writers that both found a record's exception missing: the second's insert keeps the first's row, and
    # still writes the other records' new exceptions of its batch.
    send(api, failure("TE-1"))
    first = only_exception(northwind)
    late = [
        copy_of(first, message="Another writer's wording"),
        copy_of(first, key=first.key.replace("TE-1", "TE-2"), external_id="TE-2", message="Another writer's wording"),
    ]

    insert_new(ExceptionItem, late)
    keep_stakes(northwind)

    items = {item.external_id: item for item in exceptions(northwind)}
    assert items["TE-1"].pk == first.pk and items["TE-1"].error_message == first.error_message
    assert items["TE-2"].error_message == "Another writer's wording"
    assert items["TE-2"].status == Status.OPEN and items["TE-2"].key.endswith("|TE-2")


def copy_of(item, message, **changes):
    values = {field.attname: getattr(item, field.attname) for field in ExceptionItem._meta.concrete_fields}
    values.update(id=None, error_message=message, **changes)
    del values["searchable"]
    return ExceptionItem(**values)
