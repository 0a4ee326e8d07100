"""Two transactions changing one record's exceptions, or one entry's postings, at the same moment: what is kept
for it (the money at stake, queues.stakes; the sides holding its hours, records.sides) is what both wrote, never
what either saw before the other committed."""

import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, connections, transaction

from opsview.queues.models import ExceptionItem, Kind, Status
from opsview.queues.money import money_at_stake
from opsview.queues.stakes import kept_money_at_stake_by_workspace, refresh_stakes
from opsview.records.models import Posting, TimeEntry
from opsview.records.sides import IN_ERP, ON_INVOICE
from opsview.systems.models import System
from tests.queue_support import exceptions, failure, only_exception, send

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers are PostgreSQL's"),
]


@contextmanager
def another_writer_holding(write):
    """``write`` done in another transaction (another connection) that commits only half a second after the
    body of the ``with`` has begun; the body's writes meet it uncommitted. Yields the time the body began."""
    holding, release = threading.Event(), threading.Event()

    def write_and_hold():
        try:
            with transaction.atomic():
                write()
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=write_and_hold)
    other.start()
    assert holding.wait(10)
    threading.Timer(0.5, release.set).start()
    try:
        yield time.monotonic()
    finally:
        other.join(10)


def test_a_record_reopened_in_one_transaction_while_another_opens_its_second_exception(northwind, api):
    send(api, failure("TE-1"))
    posting = only_exception(northwind)
    workspace_id = northwind.workspace.pk
    ExceptionItem.objects.filter(pk=posting.pk).update(status=Status.RESOLVED)
    refresh_stakes(workspace_id, [posting.record_ref])  # nothing at stake: no row kept for the record

    def reopen():
        ExceptionItem.objects.filter(pk=posting.pk).update(status=Status.OPEN)
        refresh_stakes(workspace_id, [posting.record_ref])

    with another_writer_holding(reopen) as began, transaction.atomic():
        unbilled = ExceptionItem.objects.create(
            workspace_id=workspace_id,
            key=f"unbilled|{posting.record_ref}",
            group=posting.group,
            kind=Kind.UNBILLED_TIME,
            system=posting.source_system,
            source_system=posting.source_system,
            record_type=posting.record_type,
            external_id=posting.external_id,
            record_date=posting.record_date,
            sla_due_at=posting.sla_due_at,
            amount=400,
            currency="EUR",
        )
        refresh_stakes(workspace_id, [unbilled.record_ref])
    waited = time.monotonic() - began

    # The second waited for the first to commit, then counted the record from both: two open exceptions, the
    # record's money once (the larger amount). Reading before the first committed, it would have counted 400 and
    # then collided with the first's row for the record.
    assert waited >= 0.4
    live = money_at_stake(exceptions(northwind, status=Status.OPEN))
    kept = kept_money_at_stake_by_workspace([workspace_id])[workspace_id]
    assert kept == live and [(m["amount"], m["exceptions"]) for m in kept["by_currency"]] == [(1125, 2)]


def test_the_erps_line_and_billings_line_of_one_entry_stored_at_once_both_count_for_its_sides(northwind):
    billing = System.objects.create(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing")
    entry = TimeEntry.objects.get(external_id="TE-PR-1")  # 7.5 hours

    def line(system, external_id, number=""):
        return Posting.objects.create(
            workspace=northwind.workspace,
            system=system,
            external_id=external_id,
            record_type="time_entry",
            source_system=northwind.harvest,
            source_external_id=entry.external_id,
            hours=entry.hours,
            number=number,
        )

    # The ERP's line saved, and the entry's sides refreshed (records.signals), in a transaction still open.
    with another_writer_holding(lambda: line(northwind.erp, "TL-1")), transaction.atomic():
        line(billing, "XL-1", number="INV-1")

    # Billing's writer waited for the ERP's to commit, then found both lines: the ERP and an invoice hold the hours.
    entry.refresh_from_db()
    assert entry.sides_held == IN_ERP + ON_INVOICE
