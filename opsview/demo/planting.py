"""Gaps planted in the demo on purpose, so reconciliation has something real to find, and a list of them.

Each is one of the ways records go missing without any error: a timesheet line the
job reported delivered that the ERP never got, hours that differ by a quarter, a
billed time line missing from its invoice, lines and invoices only the ERP holds, an
invoice posted twice or a cent off, a sync run that counted more records than it
reported. Planted records are taken only among records both targets accepted the
first time (no exception ever opened for them, so none explains the gap), well past
the day it may take a record to arrive, and away from the month's edges, in the
month before last: its time is invoiced and its invoices posted by now.

Choices are drawn from a random stream of their own, so the rest of the demo is the
same with or without them; and from a bounded sample, so memory stays flat.
"""

import json
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import F

from opsview.demo.plan import month_index, month_start
from opsview.demo.postings import INVOICE, TIME_ENTRY, erp_invoice_id, erp_line_id
from opsview.records.models import InvoiceStatus, Posting
from opsview.telemetry.models import RunStatus, SyncRun

MISSING_IN_ERP = "missing_in_erp"
HOURS_DIFFER_ERP = "hours_differ_erp"
MISSING_IN_BILLING = "missing_in_billing"
HOURS_DIFFER_BILLING = "hours_differ_billing"
ONLY_IN_ERP = "only_in_erp"
INVOICE_MISSING_IN_ERP = "invoice_missing_in_erp"
INVOICE_POSTED_TWICE = "invoice_posted_twice"
INVOICE_AMOUNT_DIFFERS = "invoice_amount_differs"
INVOICE_ONLY_IN_ERP = "invoice_only_in_erp"
RUN_LOST_RECORDS = "run_lost_records"

ENTRY_CAUSES = (MISSING_IN_ERP, HOURS_DIFFER_ERP, MISSING_IN_BILLING, HOURS_DIFFER_BILLING)
INVOICE_CAUSES = (INVOICE_MISSING_IN_ERP, INVOICE_POSTED_TWICE, INVOICE_AMOUNT_DIFFERS)
CAUSES = (*ENTRY_CAUSES, ONLY_IN_ERP, *INVOICE_CAUSES, INVOICE_ONLY_IN_ERP, RUN_LOST_RECORDS)

# Planted records are this much older than the day records take to arrive (in transit is no gap).
SETTLED = timedelta(hours=48)
EDGE_DAYS = 2  # away from the month's first and last days, whatever the firm's time zone
# How many of each cause per workspace, per time entries in it (at least one of each).
ENTRIES_PER_TIME_GAP = 40_000
ENTRIES_PER_INVOICE_GAP = 60_000
ENTRIES_PER_LOST_RUN = 125_000
QUARTER = Decimal("0.25")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Plant:
    """One planted gap: the workspace, its cause, the record reconciliation should name, and its month."""

    workspace: str
    cause: str
    record: str
    period: str


def plant_month(today):
    """The month the gaps go in: the one before last, whose time is invoiced and whose invoices posted by now."""
    return month_index(today) - 2


class Planter:
    """Chooses and plants one workspace's gaps: offered entries as they stream, the rest once they are known."""

    def __init__(self, seed, plan, slug, expected_entries, now, today):
        self.rng = random.Random(f"{seed}:{plan.index}:gaps")
        self.slug = slug
        self.now = now
        self.month = plant_month(today)
        first = month_start(self.month)
        last = month_start(self.month + 1) - timedelta(days=1)
        self.first_day, self.last_day = first + timedelta(days=EDGE_DAYS), last - timedelta(days=EDGE_DAYS)
        self.period = f"{first:%Y-%m}"
        self.per_entry_cause = max(1, round(expected_entries / ENTRIES_PER_TIME_GAP))
        self.per_invoice_cause = max(1, round(expected_entries / ENTRIES_PER_INVOICE_GAP))
        self.lost_runs = max(1, round(expected_entries / ENTRIES_PER_LOST_RUN))
        self.sample_size = self.per_entry_cause * len(ENTRY_CAUSES)
        self.sample, self.offered = [], 0
        self.plants = []
        self.removed = 0  # lines taken out of what the generator wrote

    def _settled(self, t):
        return t is not None and t <= self.now - SETTLED

    def _in_month(self, day):
        return day is not None and self.first_day <= day <= self.last_day

    def offer_entry(self, entry_id, day, approved, invoiced_at, lines):
        """An approved, invoiced entry both targets took the first time: kept in the sample if it qualifies."""
        if not (self._in_month(day) and self._settled(approved) and self._settled(invoiced_at)):
            return
        self.offered += 1
        candidate = (entry_id, day, *lines)
        if len(self.sample) < self.sample_size:
            self.sample.append(candidate)
            return
        j = self.rng.randrange(self.offered)  # reservoir sampling: each offered entry equally likely kept
        if j < self.sample_size:
            self.sample[j] = candidate

    def plant_entries(self, systems):
        """Take out or change the sampled entries' lines in the ERP and billing, one cause after another."""
        erp, billing = systems["tryton"], systems["xero"]
        chosen = sorted(self.sample)
        self.rng.shuffle(chosen)
        for n, (entry_id, _day, erp_id, billing_id) in enumerate(chosen):
            cause = ENTRY_CAUSES[n % len(ENTRY_CAUSES)]
            in_billing = cause in (MISSING_IN_BILLING, HOURS_DIFFER_BILLING)
            line = Posting.objects.filter(
                system_id=billing if in_billing else erp, external_id=billing_id if in_billing else erp_id
            )
            if cause in (MISSING_IN_ERP, MISSING_IN_BILLING):
                self.removed += line.delete()[0]
            else:
                line.update(hours=F("hours") + QUARTER)
            self._add(cause, entry_id)

    def only_in_erp(self, systems, workspace_pk, erp_lines, harvest_ids_from):
        """Timesheet lines the ERP holds for time entries the time tracking never had (typed into the ERP)."""
        postings = []
        for n in range(self.per_entry_cause):
            entry_id = str(harvest_ids_from - 1 - n)  # ids past the workspace's own range: no entry has them
            day = self._day()
            t = self._settled_time(day)
            postings.append(
                Posting(
                    workspace_id=workspace_pk,
                    system_id=systems["tryton"],
                    external_id=erp_line_id(erp_lines + 1 + n),
                    source_version=1,
                    source_updated_at=t,
                    received_at=t,
                    record_type=TIME_ENTRY,
                    source_system_id=systems["harvest"],
                    source_external_id=entry_id,
                    hours=Decimal(4 + n % 4),
                    posted_on=day,
                )
            )
            self._add(ONLY_IN_ERP, entry_id)
        return postings

    def plant_invoices(self, invoices, postings, systems, workspace_pk, currency):
        """Change the ERP's invoices (``postings``, unsaved) of a few invoices; add one only the ERP holds."""
        by_number = {p.number: p for p in postings if not p.is_cancelled}
        eligible = [
            i
            for i in invoices
            if getattr(i, "erp_clean", False)
            and i.status in (InvoiceStatus.POSTED, InvoiceStatus.PAID)
            and i.number in by_number
            and self._qualifies(i)
        ]
        eligible.sort(key=lambda i: i.number)
        self.rng.shuffle(eligible)
        # The month's own invoices first; a small firm may have too few there, so other months' next.
        eligible.sort(key=lambda i: not self._in_month(i.issue_date))
        wanted = self.per_invoice_cause * len(INVOICE_CAUSES)
        extra, dropped = [], set()
        for n, invoice in enumerate(eligible[:wanted]):
            cause = INVOICE_CAUSES[n % len(INVOICE_CAUSES)]
            posting = by_number[invoice.number]
            if cause == INVOICE_MISSING_IN_ERP:
                dropped.add(id(posting))
            elif cause == INVOICE_AMOUNT_DIFFERS:
                posting.amount += CENT
            else:
                twice = Posting(**{f.attname: getattr(posting, f.attname) for f in Posting._meta.concrete_fields})
                twice.pk, twice.external_id = None, erp_invoice_id(len(postings) + len(extra) + 1)
                extra.append(twice)
            self._add(cause, invoice.number, invoice.issue_date)
        for n in range(self.per_invoice_cause):
            erp_n = len(postings) + len(extra) + 1
            extra.append(self._erp_only_invoice(n, erp_n, systems, workspace_pk, currency))
        return [p for p in postings if id(p) not in dropped] + extra

    def _erp_only_invoice(self, n, erp_n, systems, workspace_pk, currency):
        day = self._day()
        t = self._settled_time(day)
        number = f"ERP-{day:%Y}-{n + 1:04d}"  # booked straight in the ERP: its own numbering
        h = f"{self.rng.getrandbits(128):032x}"
        self._add(INVOICE_ONLY_IN_ERP, number)
        return Posting(
            workspace_id=workspace_pk,
            system_id=systems["tryton"],
            external_id=erp_invoice_id(erp_n),
            source_version=1,
            source_updated_at=t,
            received_at=t,
            record_type=INVOICE,
            source_system_id=systems["xero"],
            source_external_id=f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}",
            number=number,
            amount=Decimal(1200 + 150 * n),
            currency=currency,
            posted_on=day,
        )

    def plant_runs(self, schedule):
        """A few finished runs of the month count more records than they reported events for."""
        runs = [
            k
            for k, started in enumerate(schedule.starts)
            if self._in_month(started.date())
            and k not in schedule.outages
            and schedule.succeeded[k] + schedule.failed[k] + schedule.skipped[k]
            and self._settled(started)
        ]
        for k in self.rng.sample(runs, k=min(self.lost_runs, len(runs))):
            lost = 1 + self.rng.randrange(3)
            SyncRun.objects.filter(pk=schedule.pks[k], status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL]).update(
                records_total=F("records_total") + lost, records_succeeded=F("records_succeeded") + lost
            )
            self._add(RUN_LOST_RECORDS, str(schedule.pks[k]))

    def _qualifies(self, invoice):
        """Posted long enough ago, and dated away from its month's edges (whichever month that is)."""
        day = invoice.issue_date
        if day is None or not self._settled(invoice.posted_at) or not self._settled(invoice.issued_at):
            return False
        last = month_start(month_index(day) + 1) - timedelta(days=1)
        return EDGE_DAYS < day.day <= last.day - EDGE_DAYS

    def _day(self):
        span = (self.last_day - self.first_day).days
        return self.first_day + timedelta(days=self.rng.randrange(span + 1))

    def _settled_time(self, day):
        return min(self.now - SETTLED, _noon(day))

    def _add(self, cause, record, day=None):
        period = f"{day:%Y-%m}" if day else self.period
        self.plants.append(Plant(self.slug, cause, record, period))


def _noon(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def by_cause(plants):
    """Counts of ``plants`` per cause, every cause named."""
    counts = dict.fromkeys(CAUSES, 0)
    for plant in plants:
        counts[plant.cause] += 1
    return counts


def in_period(plants, label):
    return [p for p in plants if p.period == label]


PLANTS_FILE = "demo-planted-gaps.json"


def write_plants(plants, path):
    """The planted gaps as a small JSON list, for whoever checks reconciliation against them."""
    path.write_text(json.dumps([asdict(p) for p in plants], indent=1) + "\n")


def read_plants(path):
    return [Plant(**row) for row in json.loads(path.read_text())]
