"""The demo data generator behind ``manage.py seed_demo``.

It builds professional-services firms as a finance team would meet them in
opsview: six months of timesheets ending today, invoices billing the approved
part of them, and the integration jobs that carried both to the ERP, with the
failures that make the work queues worth opening.

Workspaces are generated one after another, each from its own random stream
(``seed`` and the workspace's index), so a seed always gives the same data and
a larger size adds firms without changing the first ones. Rows are streamed to
the database in chunks: a million time entries cost no more memory than a
thousand.
"""

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.demo.accounts import ensure_demo_users
from opsview.demo.catalog import FIRMS
from opsview.demo.invoices import invoice_rows, plan_invoices
from opsview.demo.pgload import bulk_load
from opsview.demo.plan import DEFAULT_ENTRIES_PER_PERSON_DAY, Sizes, at, firm_for, plan_workspace
from opsview.demo.planting import Planter
from opsview.demo.postings import POSTING_COLUMNS, PostingWriter, invoice_postings
from opsview.demo.sinks import make_sinks
from opsview.demo.sync import EVENT_COLUMNS, FLOWS, TIME_TO_ERP, EventBudget, EventWriter, Schedule
from opsview.demo.timesheets import TIME_ENTRY_COLUMNS, TimesheetWriter, expected_days
from opsview.records.models import Client, Invoice, Person, Posting, Project, TimeEntry
from opsview.records.sides import refresh_sides_held
from opsview.systems.models import ApiToken, System, SystemKind
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Membership, Workspace

DEFAULT_SEED = 2026

SYSTEMS = (
    ("harvest", "Harvest", SystemKind.TIME_TRACKING, "harvest"),
    ("xero", "Xero", SystemKind.BILLING, "xero"),
    ("tryton", "Tryton ERP", SystemKind.ERP, "tryton"),
)


@dataclass
class Summary:
    """What a seed made, and how long it took."""

    workspaces: int = 0
    people: int = 0
    projects: int = 0
    time_entries: int = 0
    invoices: int = 0
    sync_runs: int = 0
    sync_events: int = 0
    postings: int = 0
    seconds: float = 0.0
    # The gaps planted for reconciliation to find (planting.Plant: workspace, cause, record, period).
    plants: list = field(default_factory=list)

    @property
    def planted(self):
        return len(self.plants)


class DemoError(Exception):
    """Seeding or resetting would overwrite data it should not."""


def demo_workspaces():
    """Workspaces the generator makes: the catalogue's slugs and their numbered copies."""
    firms = {firm.slug for firm in FIRMS}
    slugs = Workspace.objects.values_list("slug", flat=True)
    return Workspace.objects.filter(slug__in=[s for s in slugs if s in firms or s.rsplit("-", 1)[0] in firms])


def reset_demo():
    """Delete the demo's workspaces and everything in them; refused if people already left an audit trail."""
    workspaces = list(demo_workspaces())
    audited = AuditEntry.objects.filter(workspace__in=workspaces).count()
    if audited:
        raise DemoError(
            f"The demo workspaces have {audited} audit entries, which are never deleted; "
            "start from an empty database instead."
        )
    with transaction.atomic():
        # Children first, each in one statement: the cascade collector would load millions of rows.
        for model in (
            SyncEvent,
            SyncRun,
            Posting,
            TimeEntry,
            Invoice,
            Project,
            Person,
            Client,
            ApiToken,
            System,
            Membership,
        ):
            model.objects.filter(workspace__in=workspaces).delete()
        Workspace.objects.filter(pk__in=[w.pk for w in workspaces]).delete()
    return len(workspaces)


def seed_demo(sizes=None, seed=DEFAULT_SEED, now=None, today=None, method="auto", progress=None):
    """Generate the demo; returns a Summary. Raises DemoError if a demo workspace is already there.

    ``method`` picks how the two big tables are written: "copy" (PostgreSQL COPY),
    "insert" (executemany), "bulk" (bulk_create) or "auto" (COPY on PostgreSQL, else
    executemany). Except with "bulk", empty PostgreSQL tables get their foreign keys
    and indexes after the load (see ``pgload``).
    """
    sizes = sizes or Sizes.resolve()
    now = now or timezone.now()
    today = today or date.today()
    progress = progress or (lambda message: None)
    began = time.monotonic()
    summary = Summary()
    taken = Workspace.objects.filter(slug__in=[firm_for(i)[2] for i in range(sizes.workspaces)])
    if taken.exists():
        raise DemoError(f"Workspace '{taken.first().slug}' already exists.")
    # The planted gaps look ERP and billing lines up by their keys while the load runs.
    loaded = [TimeEntry, SyncEvent, Posting] if method != "bulk" else []
    with transaction.atomic(), bulk_load(loaded, lookups=[Posting], progress=progress) as load:
        workspaces, plans = [], []
        for index in range(sizes.workspaces):
            rng = random.Random(f"{seed}:{index}")
            plan = plan_workspace(rng, sizes, index, today)
            workspace = _write_workspace(rng, plan, sizes, now, today, method, summary, seed, load.fresh)
            workspaces.append(workspace)
            plans.append(plan)
            progress(
                f"{plan.name}: {len(plan.people)} people, {len(plan.projects)} projects, "
                f"{summary.time_entries} time entries and {summary.sync_events} sync events so far "
                f"({time.monotonic() - began:.1f} s)"
            )
        lead = plans[0].lead
        users = ensure_demo_users(workspaces, lead.name, plans[0].firm.domain)
        Person.objects.filter(pk=lead.pk).update(user=users["manager"])
    # Once the load has built the postings' indexes, which each entry's look-up reads.
    with transaction.atomic():
        for workspace in workspaces:
            refresh_sides_held(TimeEntry.objects.filter(workspace=workspace))
    if connection.vendor == "postgresql":
        # Statistics for every table written, not only the bulk-loaded ones: where autovacuum is off or has not
        # come round yet, a table without them is planned as nearly empty. A year's roll-up of one firm's
        # backlog then took 34 s instead of 0.15 s (an anti-join with the invoices by nested loop).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    summary.workspaces = len(workspaces)
    summary.seconds = time.monotonic() - began
    return summary


def _write_workspace(rng, plan, sizes, now, today, method, summary, seed, fresh):
    workspace = Workspace.objects.create(
        name=plan.name,
        slug=plan.slug,
        currency=plan.firm.currency,
        time_zone=plan.firm.time_zone,
        created_at=at(plan.start - timedelta(days=21), 10, plan.offset),
    )
    systems = _write_systems(rng, workspace, now)
    _write_records(plan, workspace, systems["harvest"], now, today)
    plan_invoices(rng, plan, now)
    schedules = {flow.name: Schedule(flow, at(plan.start, 0, 0), now, rng) for flow in FLOWS}
    for schedule in schedules.values():
        _start_runs(schedule, workspace, systems)

    days = sum(expected_days(p, plan.start, today) for p in plan.people)
    entries_target = sizes.split(sizes.time_entries, plan.index) if sizes.time_entries else None
    per_day = entries_target / max(days, 1) if entries_target else DEFAULT_ENTRIES_PER_PERSON_DAY
    events_target = sizes.split(sizes.sync_events, plan.index) if sizes.sync_events else None
    expected = entries_target or round(per_day * days)
    budget = EventBudget(events_target, expected)
    # Events stream and time entries and postings go in chunks: far more events than entries are made.
    event_sink, entry_sink, posting_sink = make_sinks(
        [
            (SyncEvent, EVENT_COLUMNS, ("payload",)),
            (TimeEntry, TIME_ENTRY_COLUMNS, ()),
            (Posting, POSTING_COLUMNS, ()),
        ],
        method=method,
        fresh=fresh,
    )
    sinks = (event_sink, entry_sink, posting_sink)
    events = EventWriter(rng, event_sink, workspace.pk, systems, budget, now)
    postings = PostingWriter(posting_sink, workspace.pk, plan.index, systems, plan.firm.currency, now)
    planter = Planter(seed, plan, plan.slug, expected, now, today)
    timesheets = TimesheetWriter(
        rng,
        plan,
        workspace.pk,
        systems["harvest"],
        entry_sink,
        events,
        schedules,
        per_day,
        now,
        today,
        postings,
        planter,
    )
    first_entry_id = timesheets.next_id
    try:
        for person in plan.people:
            timesheets.write_person(person)
            budget.update(timesheets.written, events.natural, events.emitted)
        invoices = invoice_rows(rng, plan, workspace.pk, systems["xero"], events, schedules, now)
    except BaseException as error:
        for sink in sinks:
            sink.close(error)
        raise
    for sink in sinks:
        sink.close()
    # No other query may run while a COPY is open, so the invoices and the planted gaps wait until the sinks
    # are closed.
    Invoice.objects.bulk_create(invoices, batch_size=500)
    planter.plant_entries(systems)
    erp_invoices = planter.plant_invoices(
        invoices, invoice_postings(invoices, workspace.pk, systems, now), systems, workspace.pk, plan.firm.currency
    )
    extra = planter.only_in_erp(systems, workspace.pk, postings.erp_lines, first_entry_id)
    Posting.objects.bulk_create(erp_invoices + extra, batch_size=500)
    for schedule in schedules.values():
        _finish_runs(schedule, plan, now)
    planter.plant_runs(schedules[TIME_TO_ERP.name])
    summary.plants += planter.plants
    summary.postings += postings.written - planter.removed + len(erp_invoices) + len(extra)
    summary.invoices += len(invoices)

    summary.people += len(plan.people)
    summary.projects += len(plan.projects)
    summary.time_entries += timesheets.written
    summary.sync_events += events.emitted
    summary.sync_runs += sum(s.count for s in schedules.values())
    return workspace


def _write_systems(rng, workspace, now):
    """Harvest, Xero and Tryton, each with the token its sync job uses; returns their pks by slug."""
    systems = {}
    for slug, name, kind, vendor in SYSTEMS:
        system = System.objects.create(
            workspace=workspace, slug=slug, name=name, kind=kind, vendor=vendor, created_at=workspace.created_at
        )
        token, _raw = ApiToken.issue(system, f"{name} sync job")
        ApiToken.objects.filter(pk=token.pk).update(
            created_at=workspace.created_at, last_used_at=now - timedelta(minutes=rng.randrange(2, 50))
        )
        systems[slug] = system.pk
    return systems


def _start_runs(schedule, workspace, systems):
    """Insert the flow's runs now, so events can point at them; their outcome is written at the end."""
    flow = schedule.flow
    runs = [
        SyncRun(
            workspace=workspace,
            reported_by_id=systems[flow.source],
            flow=flow.name,
            source_system_id=systems[flow.source],
            target_system_id=systems[flow.target],
            started_at=started,
        )
        for started in schedule.starts
    ]
    schedule.pks = [run.pk for run in SyncRun.objects.bulk_create(runs, batch_size=1000)]


def _write_records(plan, workspace, harvest_pk, now, today):
    """Clients, people and projects as Harvest reported them, keeping each plan's primary key."""
    offset = plan.offset

    def source(obj, day, version=1):
        obj.workspace, obj.system_id, obj.source_version = workspace, harvest_pk, version
        obj.source_updated_at = min(at(day, 9.5, offset), now)
        obj.received_at = min(obj.source_updated_at + timedelta(minutes=4), now)
        return obj

    first = plan.start - timedelta(days=20)
    clients = [
        source(Client(external_id=c.external_id, name=c.name, currency=plan.firm.currency), first) for c in plan.clients
    ]
    for c, row in zip(plan.clients, Client.objects.bulk_create(clients), strict=True):
        c.pk = row.pk
    people = [
        source(
            Person(
                external_id=p.external_id,
                name=p.name,
                email=p.email,
                weekly_capacity_hours=p.weekly_hours,
                is_active=not p.has_left,
            ),
            p.end if p.has_left else first if p.start <= plan.start else p.start - timedelta(days=7),
            version=2 if p.has_left else 1,
        )
        for p in plan.people
    ]
    for p, row in zip(plan.people, Person.objects.bulk_create(people, batch_size=500), strict=True):
        p.pk = row.pk
    projects = [
        source(
            Project(
                external_id=p.external_id,
                code=p.code,
                name=p.name,
                client_id=p.client.pk,
                manager_id=p.manager.pk if p.manager else None,
                is_billable=p.billable,
                is_active=p.end >= today - timedelta(days=1),
            ),
            first if p.start < plan.start else p.start - timedelta(days=3),
        )
        for p in plan.projects
    ]
    for p, row in zip(plan.projects, Project.objects.bulk_create(projects, batch_size=500), strict=True):
        p.pk = row.pk


def _finish_runs(schedule, plan, now):
    """Write each run's outcome and tallies, now that its events are known."""
    columns = (
        "status",
        "finished_at",
        "records_total",
        "records_succeeded",
        "records_failed",
        "records_skipped",
        "message",
        "external_id",
    )
    sql = "UPDATE {} SET {} WHERE id = %s".format(
        connection.ops.quote_name(SyncRun._meta.db_table),
        ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns),
    )
    params = []
    for pk, fields in zip(schedule.pks, schedule.run_rows(plan, now), strict=True):
        finished = fields["finished_at"]
        if finished is not None:
            finished = connection.ops.adapt_datetimefield_value(finished)
        params.append((*(fields[c] if c != "finished_at" else finished for c in columns), pk))
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
