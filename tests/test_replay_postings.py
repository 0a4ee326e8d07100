"""A replay the target confirmed is recorded as the target's posting of the record, once, for reconciliation."""

from datetime import date
from decimal import Decimal

import pytest

from opsview.queues.models import ExceptionItem
from opsview.records.models import Invoice, Posting
from opsview.replay.services import request_replay
from opsview.replay.tasks import run_replay
from tests.replay_support import failing_to, run_queued, webhook_system


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


class Target:
    """A target that can be asked and read back: it holds what it was sent, under its own ids."""

    def __init__(self, back=None, found=None):
        self.back, self.found, self.sent = back or {}, found, []

    def lookup(self, record_type, key):
        return self.found

    def send(self, record_type, payload, key):
        from connectors.records import SendResult

        self.sent.append(payload)
        return SendResult(True, "L-501")

    def read_back(self, record_type, external_id):
        return {"external_id": external_id, **self.back}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def replay(user, firm, item, connector=None):
    (queued,) = request_replay(user, firm.workspace, ExceptionItem.objects.filter(pk=item.pk))
    return run_replay(queued.pk, connector=connector)


def test_a_verified_replay_records_the_targets_posting_of_the_source_record(api, northwind, olivia, target):
    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]

    assert replay(olivia, northwind, item, Target({"hours": "7.25", "date": "2026-11-03"})) == "succeeded"

    posting = Posting.objects.get()
    assert (posting.workspace, posting.system, posting.external_id) == (northwind.workspace, target, "L-501")
    assert (posting.record_type, posting.source_system, posting.source_external_id) == (
        "time_entry",
        northwind.harvest,
        "TE-PR-1",
    )
    # What the target read back stands over opsview's copy (7.50 h on 2 November).
    assert (posting.hours, posting.posted_on, posting.currency, posting.is_cancelled) == (
        Decimal("7.25"),
        date(2026, 11, 3),
        "EUR",
        False,
    )
    assert (posting.source_version, posting.source_updated_at) == (None, None)


def test_without_figures_read_back_the_posting_takes_opsviews_copy_of_the_record(api, northwind, olivia, target):
    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]

    replay(olivia, northwind, item, Target())

    posting = Posting.objects.get()
    assert (posting.hours, posting.posted_on, posting.currency) == (Decimal("7.50"), date(2026, 11, 2), "EUR")


def test_a_second_replay_that_finds_the_record_keeps_one_posting(api, northwind, olivia, target):
    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]
    replay(olivia, northwind, item, Target({"hours": "7.50"}))
    ExceptionItem.objects.filter(pk=item.pk).update(status="open", resolution="")

    there = Target(found={"external_id": "L-501", "hours": "7.50"})
    assert replay(olivia, northwind, item, there) == "duplicate"

    assert there.sent == [] and Posting.objects.count() == 1
    assert Posting.objects.get().external_id == "L-501"


def test_a_posting_the_target_reported_itself_is_left_as_it_said(api, northwind, olivia, target):
    reported = Posting.objects.create(
        workspace=northwind.workspace,
        system=target,
        external_id="L-501",
        source_version=9,
        record_type="time_entry",
        source_system=northwind.harvest,
        source_external_id="TE-PR-1",
        hours=Decimal("7.50"),
        is_cancelled=True,
    )
    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]

    replay(olivia, northwind, item, Target({"hours": "3.00"}))

    reported.refresh_from_db()
    assert (Posting.objects.count(), reported.hours, reported.is_cancelled) == (1, Decimal("7.50"), True)


def test_an_invoice_posting_carries_billings_number_and_the_amount_read_back(api, northwind, olivia, target):
    Invoice.objects.create(
        workspace=northwind.workspace,
        system=northwind.harvest,
        external_id="I-7",
        number="2026-I-7",
        client=northwind.client,
        amount=Decimal("4800.00"),
        currency="EUR",
        status="issued",
        issue_date=date(2026, 11, 20),
    )
    item = failing_to(api, northwind, target, "I-7", record_type="invoice")["I-7"]

    # The target numbers it its own way; reconciliation finds the invoice by billing's number.
    replay(olivia, northwind, item, Target({"number": "ERP-0042", "amount": "4760.00"}))

    posting = Posting.objects.get()
    assert (posting.record_type, posting.number, posting.amount, posting.hours) == (
        "invoice",
        "2026-I-7",
        Decimal("4760.00"),
        None,
    )
    assert (posting.posted_on, posting.source_external_id) == (date(2026, 11, 20), "I-7")


def test_a_webhook_that_only_accepts_is_not_taken_for_holding_the_record(api, northwind, olivia, target, server):
    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]
    request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(pk=item.pk))

    assert run_queued() == ["succeeded"]

    assert len(server.seen) == 1 and not Posting.objects.exists()


def test_a_refused_replay_records_no_posting(api, northwind, olivia, target):
    from connectors.records import SendResult

    class Refusing(Target):
        def send(self, record_type, payload, key):
            return SendResult.failure("PERIOD_CLOSED", "closed")

    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]

    assert replay(olivia, northwind, item, Refusing()) == "retrying"
    assert not Posting.objects.exists()
