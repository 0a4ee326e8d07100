"""A hand-built three-system data set with known gaps, for the reconciliation tests.

Northwind's Harvest (time tracking), Tryton (ERP) and a Xero (billing) added here, in November 2026,
reconciled on 2 December at noon. What each system says, and what that makes:

- A1 NW1 8 h, in Tryton 8 h, invoiced on INV-1 8 h: reconciled.
- A2 NW1 4 h at 150, approved, never posted: missing in the ERP, 600.00 at stake.
- K1 NW1 5 h, not posted, but its posting failure is already an open exception: known in the queue.
- B1 NW2 6 h, in Tryton 5.75 h, invoiced 6 h on INV-2: hours differ by 0.25, 37.50 at stake.
- W1 NW2 3 h, in Tryton, not invoiced: work in progress, no gap.
- T1 NW2 2 h, approved two hours ago, not posted yet: in transit, no gap.
- TE-PR-2 (the cast's submitted NW2 entry, 7.5 h) has a Tryton posting: only in the ERP, 1,125.00.
- C1 NW3 2 h, in Tryton and invoiced on INV-3: reconciled.
- INV-1 1,200.00 posted twice in Tryton: 1,200.00 at stake. INV-2 900.00 posted as 900.01: 0.01.
  INV-3 500.00 posted as issued. INV-4 is a draft: not compared.
- A sync run read 10 records and reported 7: lost records.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind
from opsview.queues.stakes import refresh_stakes
from opsview.reconcile.periods import Period
from opsview.records.models import Invoice, Posting, Project, TimeEntry
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent, SyncRun

NOVEMBER = Period.parse("2026-11")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
APPROVED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def entry(firm, external_id, project, hours, day=3, approved_at=APPROVED, invoice="", status="approved"):
    return TimeEntry.objects.create(
        workspace=firm.workspace,
        system=firm.harvest,
        external_id=external_id,
        person=firm.worker,
        project=project,
        work_date=date(2026, 11, day),
        hours=Decimal(hours),
        bill_rate=Decimal("150"),
        currency="EUR",
        status=status,
        approved_at=approved_at,
        invoice_reference=invoice,
    )


def posting(firm, system, external_id, record_type, carried, hours=None, amount=None, number="", day=20):
    return Posting.objects.create(
        workspace=firm.workspace,
        system=system,
        external_id=external_id,
        record_type=record_type,
        source_system=firm.xero if record_type == "invoice" else firm.harvest,
        source_external_id=carried,
        number=number,
        hours=None if hours is None else Decimal(hours),
        amount=None if amount is None else Decimal(amount),
        currency="EUR",
        posted_on=date(2026, 11, day),
    )


def invoice(firm, number, amount, day, status="issued"):
    return Invoice.objects.create(
        workspace=firm.workspace,
        system=firm.xero,
        external_id=f"x-{number}",
        number=number,
        client=firm.client,
        amount=Decimal(amount),
        currency="EUR",
        status=status,
        issue_date=date(2026, 11, day),
    )


def known_failure(firm, time_entry):
    """An open posting failure of ``time_entry`` to Tryton: the queue already holds it."""
    group = ExceptionGroup.objects.create(
        workspace=firm.workspace,
        fingerprint="f" * 40,
        kind=Kind.POSTING_FAILURE,
        system=firm.erp,
        record_type="time_entry",
        message="Posting period is closed",
    )
    item = ExceptionItem.objects.create(
        workspace=firm.workspace,
        key=f"sync>{firm.erp.pk}|{firm.harvest.pk}|time_entry|{time_entry.external_id}",
        group=group,
        kind=Kind.POSTING_FAILURE,
        system=firm.erp,
        source_system=firm.harvest,
        record_type="time_entry",
        external_id=time_entry.external_id,
        record_date=time_entry.work_date,
        sla_due_at=NOW,
        amount=Decimal("750"),
    )
    refresh_stakes(firm.workspace.pk, [item.record_ref])  # as the queue's writers keep it
    return item


def lossy_run(firm):
    run = SyncRun.objects.create(
        workspace=firm.workspace,
        reported_by=firm.harvest,
        flow="time_entries_to_erp",
        source_system=firm.harvest,
        target_system=firm.erp,
        status="succeeded",
        started_at=datetime(2026, 11, 20, 22, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 20, 22, 5, tzinfo=UTC),
        records_total=10,
        records_succeeded=7,
    )
    for n in range(7):
        SyncEvent.objects.create(
            workspace=firm.workspace,
            event_id=f"lossy-{n}",
            run=run,
            record_type="time_entry",
            external_id=f"R{n}",
            source_system=firm.harvest,
            target_system=firm.erp,
            outcome="succeeded",
            occurred_at=datetime(2026, 11, 20, 22, 1, tzinfo=UTC),
        )
    # A record reported twice is one record: the run still lost three.
    SyncEvent.objects.create(
        workspace=firm.workspace,
        event_id="lossy-again",
        run=run,
        record_type="time_entry",
        external_id="R0",
        source_system=firm.harvest,
        target_system=firm.erp,
        outcome="succeeded",
        occurred_at=datetime(2026, 11, 20, 22, 2, tzinfo=UTC),
    )
    return run


def three_systems(firm):
    """Plant the data set in ``firm`` (the cast's Northwind); returns what the tests look up by name."""
    firm.xero = System.objects.create(workspace=firm.workspace, slug="xero", name="Xero", kind="billing")
    nw1, nw2 = firm.managed_project, firm.other_project
    nw3 = Project.objects.create(
        workspace=firm.workspace,
        system=firm.harvest,
        external_id="PR-3",
        code="NW3",
        name="Northwind Support",
        client=firm.client,
    )
    erp, xero = firm.erp, firm.xero
    a1 = entry(firm, "A1", nw1, "8", invoice="INV-1")
    posting(firm, erp, "tl-A1", "time_entry", "A1", hours="8")
    posting(firm, xero, "il-A1", "time_entry", "A1", hours="8", number="INV-1")
    a2 = entry(firm, "A2", nw1, "4")
    k1 = entry(firm, "K1", nw1, "5")
    known_failure(firm, k1)
    entry(firm, "B1", nw2, "6", invoice="INV-2")
    posting(firm, erp, "tl-B1", "time_entry", "B1", hours="5.75")
    posting(firm, xero, "il-B1", "time_entry", "B1", hours="6", number="INV-2")
    entry(firm, "W1", nw2, "3")
    posting(firm, erp, "tl-W1", "time_entry", "W1", hours="3")
    entry(firm, "T1", nw2, "2", day=30, approved_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    posting(firm, erp, "tl-PR-2", "time_entry", "TE-PR-2", hours="7.5", day=5)
    entry(firm, "C1", nw3, "2", invoice="INV-3")
    posting(firm, erp, "tl-C1", "time_entry", "C1", hours="2")
    posting(firm, xero, "il-C1", "time_entry", "C1", hours="2", number="INV-3")
    invoice(firm, "INV-1", "1200.00", 10)
    posting(firm, erp, "inv-1a", "invoice", "x-INV-1", amount="1200.00", number="INV-1", day=11)
    posting(firm, erp, "inv-1b", "invoice", "x-INV-1", amount="1200.00", number="INV-1", day=12)
    invoice(firm, "INV-2", "900.00", 12)
    posting(firm, erp, "inv-2", "invoice", "x-INV-2", amount="900.01", number="INV-2", day=13)
    invoice(firm, "INV-3", "500.00", 15)
    posting(firm, erp, "inv-3", "invoice", "x-INV-3", amount="500.00", number="INV-3", day=16)
    invoice(firm, "INV-4", "77.00", 16, status="draft")
    run = lossy_run(firm)
    return {"nw1": nw1, "nw2": nw2, "nw3": nw3, "a1": a1, "a2": a2, "k1": k1, "run": run}
