"""A plain synthetic data set for the dashboards benchmark, for where ``manage.py seed_demo`` is not available.

Not a demo: no stories, just volume with the shapes the KPIs read. Each firm
has people booking time on weekdays over ``days`` days, most of it approved
within days and invoiced monthly per project; recent time and a few stragglers
wait for approval; approved time is posted to the ERP (some postings fail, some
never succeed); extra sync events (skipped re-checks) top up to the requested
count. PostgreSQL is written with COPY, SQLite with bulk_create.
"""

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction

from opsview.records.models import Client, Invoice, Person, Project, TimeEntry
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Workspace

ENTRY_COLUMNS = (
    "workspace_id",
    "system_id",
    "external_id",
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
EVENT_COLUMNS = (
    "workspace_id",
    "event_id",
    "run_id",
    "record_type",
    "external_id",
    "source_system_id",
    "target_system_id",
    "outcome",
    "error_code",
    "error_message",
    "occurred_at",
    "received_at",
    "correlation_id",
)


def write(model, columns, rows):
    """Write ``rows`` (tuples in ``columns`` order) fast: COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)


def at_local(day, hour, offset=1):
    return datetime.combine(day, time(0), UTC) + timedelta(hours=hour - offset)


class Firm:
    def __init__(self, index, people, rng):
        self.rng = rng
        ws = self.workspace = Workspace.objects.create(
            name=f"Bench firm {index + 1}", slug=f"bench-{index + 1}", time_zone="Europe/Berlin", currency="EUR"
        )
        self.harvest = System.objects.create(workspace=ws, slug="harvest", name="Harvest", kind="time_tracking")
        self.xero = System.objects.create(workspace=ws, slug="xero", name="Xero", kind="billing")
        self.tryton = System.objects.create(workspace=ws, slug="tryton", name="Tryton", kind="erp")
        clients = [
            Client.objects.create(
                workspace=ws,
                system=self.harvest,
                external_id=f"C{n}",
                name=f"Client {n + 1}",
                currency="USD" if n == 0 else "EUR",
            )
            for n in range(max(3, people // 20))
        ]
        self.people = Person.objects.bulk_create(
            [
                Person(
                    workspace=ws,
                    system=self.harvest,
                    external_id=f"P{n}",
                    name=f"Person {n + 1}",
                    weekly_capacity_hours=Decimal(rng.choice([40, 40, 40, 32, 24])),
                )
                for n in range(people)
            ]
        )
        managers = self.people[: max(2, people // 15)]
        self.projects = Project.objects.bulk_create(
            [
                Project(
                    workspace=ws,
                    system=self.harvest,
                    external_id=f"PR{n}",
                    code=f"P{n:03}",
                    name=f"Project {n + 1}",
                    client=clients[n % len(clients)],
                    manager=managers[n % len(managers)],
                )
                for n in range(max(6, people // 4))
            ]
        )
        self.rates = {p.pk: Decimal(rng.choice([90, 120, 150, 180])) for p in self.people}


def _runs(firm, days, today):
    """One run of the ERP posting job per day; its primary key by day."""
    runs = SyncRun.objects.bulk_create(
        [
            SyncRun(
                workspace=firm.workspace,
                reported_by=firm.harvest,
                flow="time_entries_to_erp",
                source_system=firm.harvest,
                target_system=firm.tryton,
                started_at=at_local(day, 23),
                finished_at=at_local(day, 23) + timedelta(minutes=5),
                status="succeeded",
            )
            for day in (today - timedelta(days=n) for n in range(days + 40))
        ]
    )
    return {run.started_at.date(): run.pk for run in runs}


def build(time_entries, sync_events, workspaces=1, seed=7, days=180, now=None):
    """Create ``workspaces`` firms holding about ``time_entries`` entries and ``sync_events`` events in all."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    today = now.date()
    entries_per_firm = time_entries // workspaces
    weekdays = sum(1 for n in range(days) if (today - timedelta(days=n)).weekday() < 5)
    people = max(8, round(entries_per_firm / (weekdays * 2)))
    firms = []
    with transaction.atomic():
        for index in range(workspaces):
            firm = Firm(index, people, rng)
            entries, postings = _entries(firm, entries_per_firm, days, today, now)
            invoices = _invoices(firm, entries, today)  # sets the entries' invoice references
            write(TimeEntry, ENTRY_COLUMNS, entries)
            Invoice.objects.bulk_create(invoices, batch_size=2000)
            runs = _runs(firm, days, today)
            write(SyncEvent, EVENT_COLUMNS, _events(firm, runs, postings, sync_events // workspaces, now))
            firms.append(firm)
    return firms


def _entries(firm, count, days, today, now):
    rng, ws = firm.rng, firm.workspace
    rows, postings = [], []
    per_day = max(1, round(count / max(1, days * 5 / 7) / len(firm.people)))
    stop_approving = firm.projects[0].pk  # a manager who stopped approving three weeks ago
    n = 0
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for person in firm.people:
            for _ in range(per_day):
                if n >= count:
                    break
                project = rng.choice(firm.projects)
                hours = Decimal(rng.randint(2, 16)) / 4
                billable = rng.random() > 0.08
                status, submitted, approved = "approved", at_local(day, 18), None
                if back < 3:
                    status = rng.choice(["draft", "draft", "submitted"])
                elif back < 10 and rng.random() < 0.5 or project.pk == stop_approving and back < 21:
                    status = "submitted"
                elif rng.random() < 0.01:
                    status = "rejected"
                elif rng.random() < 0.01:
                    status = "submitted"
                if status == "approved":
                    approved = min(now, at_local(day, 12) + timedelta(days=rng.choice([1, 1, 2, 3, 7])))
                if status == "draft":
                    submitted = None
                external_id = f"{ws.pk}-{n}"
                rows.append(
                    [
                        ws.pk,
                        firm.harvest.pk,
                        external_id,
                        now,
                        person.pk,
                        project.pk,
                        day,
                        hours,
                        billable,
                        firm.rates[person.pk] if billable else Decimal(0),
                        project.client.currency,
                        status,
                        submitted,
                        approved,
                        "",
                    ]
                )
                if approved:
                    postings.append((external_id, approved))
                n += 1
    return rows, postings


def _invoices(firm, rows, today):
    """Invoice each project's approved billable time of a month on the 5th of the next (if that has come)."""
    rng, ws = firm.rng, firm.workspace
    totals = {}
    for row in rows:
        work_date, status, approved = row[6], row[11], row[13]
        issue = (work_date.replace(day=28) + timedelta(days=8)).replace(day=5)
        if status != "approved" or not row[8] or issue > today or approved.date() > issue or rng.random() < 0.03:
            continue
        number = f"INV-{ws.pk}-{row[5]}-{work_date:%Y%m}"
        row[14] = number
        key = (number, row[5], row[10], issue)
        totals[key] = totals.get(key, Decimal(0)) + row[7] * row[9]
    clients = {p.pk: p.client_id for p in firm.projects}
    invoices = []
    for (number, project_id, currency, issue), amount in totals.items():
        paid = at_local(issue + timedelta(days=rng.randint(20, 50)), 10)
        paid = paid if paid.date() <= today else None
        posted = at_local(issue, 14) if rng.random() > 0.02 else None
        status = "paid" if paid else ("posted" if posted else "issued")
        invoices.append(
            Invoice(
                workspace=ws,
                system=firm.xero,
                external_id=number,
                number=number,
                client_id=clients[project_id],
                project_id=project_id,
                amount=amount,
                currency=currency,
                status=status,
                issue_date=issue,
                due_date=issue + timedelta(days=30),
                posted_at=posted,
                paid_at=paid,
            )
        )
    return invoices


def _events(firm, runs, postings, count, now):
    rng, ws = firm.rng, firm.workspace
    n = 0

    def event(external_id, outcome, when, error=("", "")):
        nonlocal n
        n += 1
        return (
            ws.pk,
            f"{ws.pk}-ev-{n}",
            runs.get(when.date()),
            "time_entry",
            external_id,
            firm.harvest.pk,
            firm.tryton.pk,
            outcome,
            error[0],
            error[1],
            when,
            when,
            "",
        )

    rows = []
    for external_id, approved in postings:
        when = min(now, approved + timedelta(hours=rng.uniform(0.5, 6)))
        if rng.random() < 0.04:
            rows.append(event(external_id, "failed", when, ("PERIOD_CLOSED", "posting period is closed")))
            if rng.random() < 0.8:
                rows.append(event(external_id, "succeeded", min(now, when + timedelta(days=rng.uniform(0.5, 4)))))
        else:
            rows.append(event(external_id, "succeeded", when))
    while len(rows) < count and postings:
        external_id, approved = rng.choice(postings)
        rows.append(event(external_id, "skipped", approved + (now - approved) * rng.random()))  # a later re-check
    return rows[:count] if count else rows
