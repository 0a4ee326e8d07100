"""Six months of timesheets: each entry, its approval, its sync to the ERP and billing, its invoice.

People book a working day across their projects, submit the week on Friday (or
late), and their project's manager approves it a day or so later (or a week, or
never). Approved time goes to the ERP and, when billable, to the billing system;
once the billing system has it, the next invoice drafted for the project bills it.
"""

import math
from datetime import timedelta
from decimal import Decimal

from opsview.demo import catalog
from opsview.demo.plan import at, month_index, month_start
from opsview.demo.postings import money
from opsview.demo.sync import TIME_TO_BILLING, TIME_TO_ERP, Failure
from opsview.records.models import TimeEntryStatus

DRAFT, SUBMITTED = TimeEntryStatus.DRAFT.value, TimeEntryStatus.SUBMITTED.value
APPROVED, REJECTED = TimeEntryStatus.APPROVED.value, TimeEntryStatus.REJECTED.value

TIME_ENTRY_COLUMNS = (
    "workspace_id",
    "system_id",
    "external_id",
    "source_version",
    "source_updated_at",
    "received_at",
    "person_id",
    "project_id",
    "work_date",
    "hours",
    "billable",
    "bill_rate",
    "currency",
    "status",
    "submitted_at",
    "approved_at",
    "invoice_reference",
)

HOURS = [Decimal(q * 25).scaleb(-2) for q in range(97)]  # quarter hours as 0.25, 0.50, ...
ONE_DAY = timedelta(days=1)
NOT_YET = object()


def expected_days(person, first_day, today):
    """Days ``person`` is expected to book time on, to size the entries per day for a requested total."""
    start, end = max(person.start, first_day), min(person.end, today)
    days = (end - start).days + 1
    if days <= 0:
        return 0
    weekdays = days * 5 / 7
    return max(0.0, (weekdays - sum(1 for d in person.vacation if start <= d <= end)) * 0.98)


class TimesheetWriter:
    """Writes the time entries of one workspace, and through ``events`` their sync events."""

    def __init__(
        self, rng, plan, workspace_pk, harvest_pk, sink, events, schedules, per_day, now, today, postings, planter
    ):
        self.rng = rng
        self.postings = postings  # what the ERP and billing hold of the entries they accepted
        self.planter = planter
        self.plan = plan
        self.workspace_pk = workspace_pk
        self.harvest_pk = harvest_pk
        self.sink = sink
        self.events = events
        self.erp = schedules[TIME_TO_ERP.name]
        self.billing = schedules[TIME_TO_BILLING.name]
        self.per_day = per_day
        self.now = now
        self.today = today
        self.currency = plan.firm.currency
        self.company = plan.firm.company
        self.offset = plan.offset
        self.next_id = 2_100_000_000 + plan.index * 50_000_000  # Harvest's numeric ids
        self.written = 0
        self.rates = {}
        self.closes = {}

    def write_person(self, person):
        """All entries of one person over the window."""
        rng, plan = self.rng, self.plan
        weeks, batches = {}, {}
        day, end = max(person.start, plan.start), min(person.end, self.today)
        while day <= end:
            weekday = day.weekday()
            skip = (weekday >= 5 and rng.random() > 0.01) or day in person.vacation or rng.random() < 0.02
            if not skip:
                active = [(p, w) for p, w in person.assignments if p.start <= day <= p.end]
                n = self._count()
                if n and active:
                    monday = day - timedelta(days=weekday)
                    submitted = weeks.get(monday, NOT_YET)
                    if submitted is NOT_YET:
                        submitted = weeks[monday] = self._submitted(monday)
                    self._day(person, day, monday, active, n, submitted, batches)
            day += ONE_DAY

    def _count(self):
        x = self.per_day
        if x >= 1.5:
            x += self.rng.choice((-1, 0, 0, 1))
        n = int(x)
        return n + (self.rng.random() < x - n)

    def _submitted(self, monday):
        rng, offset = self.rng, self.offset
        r = rng.random()
        if r < 0.6:
            t = at(monday + timedelta(days=4), rng.uniform(15, 18.5), offset)
        elif r < 0.85:
            t = at(monday + timedelta(days=7), rng.uniform(8.5, 11), offset)
        elif r < 0.96:
            t = at(monday + timedelta(days=7 + rng.randrange(1, 6)), rng.uniform(9, 18), offset)
        elif r < 0.993:
            t = at(monday + timedelta(days=rng.randrange(14, 35)), rng.uniform(9, 18), offset)
        else:
            return None  # forgotten: the week stays a draft
        return t if t <= self.now else None

    def _approval(self, project, submitted):
        if submitted is None:
            return DRAFT, None
        rng = self.rng
        r = rng.random()
        if r < 0.012:
            return REJECTED, None
        if r < 0.027:
            return SUBMITTED, None  # the approval request got lost in someone's inbox
        median = project.manager.approval_hours if project.manager else 24.0
        approved = submitted + timedelta(hours=rng.lognormvariate(math.log(median), 0.8))
        stopped = project.approvals_stop_at is not None and approved > project.approvals_stop_at
        if approved > self.now or stopped:
            return SUBMITTED, None
        return APPROVED, approved

    def _day(self, person, day, monday, active, n, submitted, batches):
        rng = self.rng
        total = min(48, max(2, round(rng.gauss(person.weekly_hours * 0.8, 2.5))))
        n = min(n, total)
        if n == 1:
            parts = [total]
        else:
            cuts = sorted(rng.sample(range(1, total), n - 1))
            parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        projects, weights = zip(*active, strict=True)
        iso = day.isoformat()
        for project, quarters in zip(rng.choices(projects, weights, k=n), parts, strict=True):
            batch = batches.get((project, monday))
            if batch is None:
                batch = batches[(project, monday)] = self._approval(project, submitted)
            self._entry(person, day, iso, project, quarters, submitted, batch)

    def _entry(self, person, day, iso, project, quarters, submitted, batch):
        rng, now = self.rng, self.now
        status, approved = batch
        billable = project.billable and rng.random() >= 0.05
        rate = person.rate_on(day) if billable else 0
        external_id = str(self.next_id)
        self.next_id += 1 + (rng.random() < 0.1)  # other accounts' entries take ids in between
        version, updated = 1, min(at(day, 18, self.offset), now)
        if submitted is not None:
            version, updated = 2, submitted
        invoice = ""
        if status == REJECTED:
            version, updated = 3, min(submitted + timedelta(hours=rng.uniform(2, 40)), now)
        elif status == APPROVED:
            version, updated = 3, approved
            erp_at, billed, clean = self._sync(
                person, day, iso, project, quarters, billable, rate, approved, external_id
            )
            slot = self._slot(project, day, billed) if billed is not None else None
            invoiced_at = None
            if slot is not None:
                invoice, invoiced_at = slot.number, slot.created_at
                slot.cents += quarters * rate * 25
                slot.quarters_by_rate[rate] = slot.quarters_by_rate.get(rate, 0) + quarters
                version, updated = 4, max(approved, slot.created_at)
            amount = money(quarters, rate) if billed is not None else None
            lines = self.postings.time_entry(
                external_id, day, HOURS[quarters], amount, erp_at, billed, invoice, invoiced_at
            )
            if clean and invoice:
                self.planter.offer_entry(external_id, day, approved, invoiced_at, lines)
        self.sink.add(
            (
                self.workspace_pk,
                self.harvest_pk,
                external_id,
                version,
                updated,
                min(updated + timedelta(seconds=90), now),
                person.pk,
                project.pk,
                day,
                HOURS[quarters],
                billable,
                self._rate(rate),
                self.currency,
                status,
                submitted,
                approved,
                invoice,
            )
        )
        self.written += 1

    def _rate(self, rate):
        value = self.rates.get(rate)
        if value is None:
            value = self.rates[rate] = Decimal(rate * 100).scaleb(-2)
        return value

    def _slot(self, project, day, billed):
        period = month_index(day)
        for slot in project.slots:
            if slot.period >= period and slot.created_at >= billed:
                return slot
        return None

    def _close(self, period):
        """When the ERP closes the posting period of month ``period``: the evening of the ninth."""
        close = self.closes.get(period)
        if close is None:
            close = self.closes[period] = at(month_start(period + 1) + timedelta(days=8), 18, self.offset)
        return close

    def _sync(self, person, day, iso, project, quarters, billable, rate, approved, external_id):
        """Send the approved entry to the ERP and, if billable, to billing.

        Returns when the ERP accepted it and when billing did (None: not, or not yet), and whether both
        took it the first time, so that no exception was ever opened for it.
        """
        rng, events = self.rng, self.events
        refused = []  # every failure either target answered
        description = rng.choice(project.tasks)
        hours = quarters / 4
        period = month_index(day)
        reposted = False

        def erp_check(t, attempt):
            nonlocal reposted
            if project.erp_mapped_at is None or t < project.erp_mapped_at:
                return Failure(catalog.UNKNOWN_PROJECT, catalog.unknown_project(project.code), project.erp_mapped_at)
            changed, contract = person.rate_changed_on, person.contract_updated_at
            if billable and changed is not None and day >= changed and (contract is None or t < contract):
                message = catalog.rate_mismatch(rate, person.old_rate, person.external_id)
                return Failure(catalog.RATE_MISMATCH, message, contract)
            if not reposted and t > self._close(period):
                reposted = True  # the fix is posting it into the open period
                fixed = t + timedelta(hours=rng.uniform(20, 190)) if rng.random() < 0.85 else None
                start = month_start(period)
                message = catalog.period_closed(f"{start:%Y-%m}", self.company)
                return Failure(catalog.PERIOD_CLOSED, message, fixed)
            return None

        erp_payload = {
            "company": self.company,
            "person": person.external_id,
            "project": project.code,
            "date": iso,
            "duration": hours,
            "description": description,
            "origin": f"harvest:{external_id}",
        }
        erp_at = events.deliver(self.erp, approved, external_id, erp_payload, _noting(erp_check, refused))
        if not project.billable:
            return erp_at, None, False
        billing_payload = {
            "projectCode": project.code,
            "userId": person.external_id,
            "dateUtc": f"{iso}T00:00:00Z",
            "duration": quarters * 15,
            "description": description,
            "chargeType": "TIME" if billable else "NON_CHARGEABLE",
            "rate": {"currency": self.currency, "value": f"{rate}.00"},
        }
        if not billable:
            events.skip(self.billing, approved, external_id, billing_payload)
            return erp_at, None, False

        def billing_check(t, attempt):
            mapped = project.billing_mapped_at
            if mapped is None or t < mapped:
                return Failure(catalog.UNKNOWN_PROJECT, catalog.unknown_project(project.code), mapped)
            return None

        billed = events.deliver(self.billing, approved, external_id, billing_payload, _noting(billing_check, refused))
        return erp_at, billed, erp_at is not None and billed is not None and not refused


def _noting(check, refused):
    """``check``, noting in ``refused`` each failure it answers."""

    def noted(t, attempt):
        failure = check(t, attempt)
        if failure is not None:
            refused.append(failure)
        return failure

    return noted
