"""Queue benchmark: the queue, detail and bulk-resolve paths with 100,000 open exceptions on PostgreSQL.

Run with ``make bench-queues`` (or ``.venv/bin/python bench/queues.py --help``). It

1. (re)creates a dedicated PostgreSQL database (``opsview_queues_bench`` on 127.0.0.1:5432, user postgres)
   and migrates it;
2. builds one workspace with 20 clients, 200 projects and 100,000 time entries, then reports one failed
   sync event per entry through the same code ingest uses (``sync_failures.on_sync_events``, 1,000 events
   a call), which opens 100,000 exceptions in 2,000 groups: one group of 1,000, the rest about 50 each,
   across posting failures, sync errors, validation rejections and missing mappings;
3. signs in an operator and times, in-process with Django's test client (server time: routing,
   queries, templates; no network), over ``--runs`` runs after one warm-up each:
   the queue page unfiltered, the queue page filtered (kind and client), the queue page searched (a
   client's name, a project code, a time entry's id, words of an error: the trigram indexes on
   PostgreSQL), the groups view, a detail page, and a bulk resolve of the 1,000-item group through the
   action endpoint (reopened, untimed, between runs);
4. drops the database (unless ``--keep``).

With ``--year`` (``make bench-queues BENCH_ARGS=--year``) it times the same paths on a year of a partner's
data instead of step 2's one workspace: the database ``bench/dashboards.py --year`` shares
(``bench/dataset.py``: 50 firms, 5,000,000 time entries, 50,000,000 sync events, the queue's exceptions opened
by the app's own detection and topped up to a million open: ``dataset.OPEN_EXCEPTIONS``), loaded unless
``--reuse`` finds it loaded. The operator works in the firm with the most open exceptions; the filter is
posting failures of the client with the most of them, the searches are that client's name, the code of the
project with the most open exceptions, a time entry's id and the words of the firm's commonest sync error, and
the bulk resolve takes the group whose open exceptions number closest to 1,000 (at least 1,000 if one has).
Only the exceptions it resolved are reopened after each run, so the kept database stays as loaded.

Targets: queue, filtered, searched and detail pages under 150 ms median, the bulk resolve under 2 s.
The last line is ``queue_ms=N filtered_ms=N search_ms=N detail_ms=N bulk_resolve_ms=N`` (medians;
search_ms is the slowest of the searches' medians). ``--explain`` prints PostgreSQL's plan of each search.
"""

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset  # noqa: E402
from bench.support import drop_database, log, recreate_database, setup_django  # noqa: E402


@dataclass
class Setup:
    """What is timed: an operator's queue in one workspace, its filtered view, searches and bulk group."""

    workspace: object
    operator: object
    filtered: str  # the filtered queue's URL
    searches: dict  # name: the q parameter, as typed
    group: object  # the group the bulk resolve resolves


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exceptions", type=int, default=100_000, help="open exceptions to build (default 100000)")
    parser.add_argument("--groups", type=int, default=2_000, help="groups they fall into (default 2000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each path (default 7)")
    parser.add_argument(
        "--year",
        action="store_true",
        help="the queue of a year of a partner's data instead (bench/dataset.py: 50 firms, 50,000,000 sync "
        "events, about a million open exceptions), in the database the dashboards bench's --year shares",
    )
    parser.add_argument("--database", help="default opsview_queues_bench; with --year, BENCH_YEAR_DB")
    parser.add_argument("--reuse", action="store_true", help="with --year: reuse the year's database if loaded")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--explain", action="store_true", help="print the query plan of each search")
    args = parser.parse_args()
    if args.exceptions < 2_000 or args.groups < 2 or args.runs < 1:
        parser.error("--exceptions must be at least 2000, --groups at least 2, --runs at least 1")
    return args


def group_of(index, groups):
    """Item 0–999 fall in group 0 (the bulk-resolve group); the rest spread evenly over the others."""
    return 0 if index < 1000 else 1 + (index - 1000) % (groups - 1)


def failure_of(index, group):
    """A realistic failed event for group ``group``: four kinds, ids and numbers in every message."""
    kind = group % 4
    if kind == 0:
        period = f"2026-{1 + index % 12:02d}"
        return "tryton", f"POST_RULE_{group}", f"Posting rejected: period {period} closed for TE-{index}"
    if kind == 1:
        return "xero", f"HTTP_503_{group}", f"Service unavailable (request {index:08x}-{group:04x}), retry later"
    if kind == 2:
        return "xero", f"VALIDATION_{group}", f"Field 'description' is required (entry TE-{index})"
    return "tryton", "", f"Unknown project code 'P{group}-X' on entry TE-{index}"


def build(n_exceptions, n_groups):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from opsview.queues.sync_failures import on_sync_events
    from opsview.records.models import Client, Person, Project, TimeEntry
    from opsview.systems.models import System
    from opsview.telemetry.models import SyncEvent
    from opsview.workspaces.models import Membership, Workspace

    rng = random.Random(7)
    ws = Workspace.objects.create(name="Bench", slug="bench")
    harvest = System.objects.create(workspace=ws, slug="harvest", name="Harvest", kind="time_tracking")
    systems = {
        "tryton": System.objects.create(workspace=ws, slug="tryton", name="Tryton", kind="erp"),
        "xero": System.objects.create(workspace=ws, slug="xero", name="Xero", kind="billing"),
    }
    olivia = get_user_model().objects.create_user("olivia", "olivia@example.com", "bench")
    Membership.objects.create(user=olivia, workspace=ws, role="operator")
    clients = Client.objects.bulk_create(
        [Client(workspace=ws, system=harvest, external_id=f"C-{n}", name=f"Client {n}") for n in range(20)]
    )
    people = Person.objects.bulk_create(
        [Person(workspace=ws, system=harvest, external_id=f"P-{n}", name=f"Person {n}") for n in range(100)]
    )
    projects = Project.objects.bulk_create(
        [
            Project(
                workspace=ws,
                system=harvest,
                external_id=f"PR-{n}",
                code=f"PR{n}",
                name=f"Project {n}",
                client=clients[n % 20],
                manager=people[n % 100],
            )
            for n in range(200)
        ]
    )
    today = timezone.localdate()
    started = time.perf_counter()
    TimeEntry.objects.bulk_create(
        [
            TimeEntry(
                workspace=ws,
                system=harvest,
                external_id=f"TE-{i}",
                person=people[i % 100],
                project=projects[i % 200],
                work_date=today - timedelta(days=rng.randint(1, 120)),
                hours=Decimal(rng.choice(["1", "2.5", "4", "6", "7.5", "8"])),
                bill_rate=Decimal(rng.choice(["90", "120", "150", "180"])),
                currency="EUR",
                status="approved",
                approved_at=timezone.now() - timedelta(days=1),
            )
            for i in range(n_exceptions)
        ],
        batch_size=5000,
    )
    log(f"  {n_exceptions:,} time entries in {time.perf_counter() - started:.1f} s")

    now = timezone.now()
    hook_seconds = 0.0
    for start in range(0, n_exceptions, 1000):
        batch = []
        for i in range(start, min(n_exceptions, start + 1000)):
            target, code, message = failure_of(i, group_of(i, n_groups))
            batch.append(
                SyncEvent(
                    workspace=ws,
                    event_id=f"ev-{i}",
                    record_type="time_entry",
                    external_id=f"TE-{i}",
                    source_system=harvest,
                    target_system=systems[target],
                    outcome="failed",
                    error_code=code,
                    error_message=message,
                    payload={"hours": 7.5, "bank_account": "DE89370400440532"},
                    occurred_at=now - timedelta(minutes=rng.randint(1, 60 * 24 * 30)),
                    received_at=now,
                )
            )
        SyncEvent.objects.bulk_create(batch, ignore_conflicts=True)
        began = time.perf_counter()
        on_sync_events(ws, batch)
        hook_seconds += time.perf_counter() - began
    log(f"  {n_exceptions:,} failed events through the ingest hook: {n_exceptions / hook_seconds:,.0f} events/s")
    filtered = f"/queues/?kind=posting_failure&client={clients[3].pk}"
    return Setup(ws, olivia, filtered, SEARCHES, _bulk_group(ws, 1000))


def _bulk_group(ws, size):
    """The group of ``ws`` whose open exceptions number closest to ``size``, at least ``size`` if one has."""
    from django.db.models import Count, Q

    from opsview.queues.models import ExceptionGroup, Status

    groups = ExceptionGroup.objects.for_workspace(ws).annotate(n=Count("items", filter=Q(items__status=Status.OPEN)))
    groups = list(groups.filter(n__gt=0).values_list("pk", "n"))
    pk, _ = min(groups, key=lambda g: (g[1] < size, abs(g[1] - size)))
    return ExceptionGroup.objects.get(pk=pk)


def year_setup():
    """The year's busiest firm (most open exceptions) and an operator there; what operators search for there:
    a client's name, a project code, a time entry's id, the words of the firm's commonest sync error."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from opsview.queues.models import ExceptionItem, Kind, Status
    from opsview.records.models import Client
    from opsview.workspaces.models import Membership, Workspace

    open_items = ExceptionItem.objects.filter(status=Status.OPEN)
    busiest = open_items.values("workspace_id").annotate(n=Count("id")).order_by("-n")[0]
    ws = Workspace.objects.get(pk=busiest["workspace_id"])
    operator, _ = get_user_model().objects.get_or_create(username="bench-operator")
    Membership.objects.update_or_create(user=operator, workspace=ws, defaults={"role": "operator"})
    mine = open_items.filter(workspace=ws)
    posting = mine.filter(kind=Kind.POSTING_FAILURE).exclude(client=None)
    client = Client.objects.get(pk=posting.values("client_id").annotate(n=Count("id")).order_by("-n")[0]["client_id"])
    project = mine.exclude(project=None).values("project__code").annotate(n=Count("id")).order_by("-n")[0]
    entry = mine.filter(record_type="time_entry").order_by("pk").values_list("external_id", flat=True)[len(mine) // 2]
    sync = mine.filter(kind__in=[Kind.POSTING_FAILURE, Kind.SYNC_ERROR, Kind.VALIDATION_REJECTED])
    commonest = sync.values("group__message").annotate(n=Count("id")).order_by("-n")[0]["group__message"]
    words = " ".join(w for w in commonest.split() if "<" not in w)[:40].rsplit(" ", 1)[0]
    searches = {
        "search_client": client.name,
        "search_project": project["project__code"],
        "search_id": entry,
        "search_error": words,
    }
    log(
        f"  {ws.name}: {busiest['n']:,} open exceptions; filtered by posting failures of {client.name}; "
        f"searches {searches}"
    )
    return Setup(ws, operator, f"/queues/?kind=posting_failure&client={client.pk}", searches, _bulk_group(ws, 1000))


def median_ms(samples):
    return round(statistics.median(samples) * 1000)


def timed(runs, call):
    call()  # warm-up: connections, template loading
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


# What operators type: a client's name (5,000 matches), a project code, one time entry's id, an error's words.
SEARCHES = {
    "search_client": "Client 3",
    "search_project": "PR17",
    "search_id": "TE-4242",
    "search_error": "field 'description' is required",
}


def explain(setup):
    """PostgreSQL's plan of the queue page's listing query for each search: the trigram indexes at work."""
    from django.db import connection

    from opsview.queues.filtersets import QueueFilterSet
    from opsview.queues.models import ExceptionItem

    ws, olivia = setup.workspace, setup.operator
    for q in setup.searches.values():
        visible = ExceptionItem.objects.visible_to(olivia, ws)
        filterset = QueueFilterSet({"q": q}, visible, user=olivia, workspace=ws)
        query, items = filterset.query, filterset.qs[:50]
        sql, params = items.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) {sql}", params)
            plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
        log(f"  plan for q={query.q!r}:\n{plan}")


def measure(setup, runs):
    from urllib.parse import urlencode

    from django.db import connection
    from django.test import Client

    from opsview.queues import services
    from opsview.queues.models import ExceptionGroup, ExceptionItem, Status

    ws, olivia = setup.workspace, setup.operator
    with connection.cursor() as cursor:
        # What autovacuum does in steady state: statistics, and the visibility map index-only scans need.
        cursor.execute("VACUUM ANALYZE queues_exceptionitem")
    items = ExceptionItem.objects.for_workspace(ws)
    http = Client()
    http.force_login(olivia)

    def get(url, expect):
        response = http.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert expect in response.content, (url, expect)

    results = {}
    results["queue"] = timed(runs, lambda: get("/queues/", b"exceptions match."))
    results["filtered"] = timed(runs, lambda: get(setup.filtered, b"exceptions match."))
    for name, q in setup.searches.items():
        url = f"/queues/?{urlencode({'q': q})}"
        results[name] = timed(runs, lambda url=url: get(url, b" match"))  # one exception matches, or several match
    results["groups"] = timed(runs, lambda: get("/queues/?view=groups", b"groups match."))
    sample_ids = list(items.values_list("id", flat=True)[:: max(1, items.count() // 50)])
    rng = random.Random(11)
    results["detail"] = timed(runs, lambda: get(f"/queues/{rng.choice(sample_ids)}/", b"Every event of this record"))

    big = setup.group
    # Only the group's open exceptions are resolved, and only they are reopened after each run: a database
    # that is kept keeps the exceptions the app resolved by itself.
    members = ExceptionItem.objects.filter(
        pk__in=list(big.items.filter(status=Status.OPEN).values_list("pk", flat=True))
    )
    size = members.count()
    bulk = []
    for run in range(runs + 1):
        began = time.perf_counter()
        form = {"action": "resolve", "group": big.pk, "resolution": "fixed_at_source", "note": f"bench run {run}"}
        response = http.post("/queues/actions/", form)
        elapsed = time.perf_counter() - began
        assert response.status_code == 302, response.status_code
        assert members.filter(status=Status.RESOLVED).count() == size
        if run:
            bulk.append(elapsed)
        services.reopen(olivia, ws, members)  # untimed: the next run resolves the same ones again
    results["bulk_resolve"] = bulk
    open_count = items.filter(status=Status.OPEN).count()
    return results, size, open_count, ExceptionGroup.objects.for_workspace(ws).count()


def main():
    args = parse_args()
    if args.year:
        database = args.database or dataset.year_database()
        log(f"== A year of a partner's data in database {database}")
        loading = dataset.prepare(
            database, dict(dataset.YEAR), reuse=args.reuse, open_exceptions=dataset.OPEN_EXCEPTIONS
        )
    else:
        database = args.database or "opsview_queues_bench"
        log(f"== Building {args.exceptions:,} exceptions in {args.groups:,} groups in database {database}")
        recreate_database(database)
        setup_django(database, var_dir="bench-queues")
    try:
        setup = year_setup() if args.year else build(args.exceptions, args.groups)
        log(f"== Timing, {args.runs} runs each after a warm-up (server time, in-process)")
        results, big, open_count, group_count = measure(setup, args.runs)
        if args.explain:
            explain(setup)
        log(f"  {open_count:,} open exceptions in {group_count:,} groups in the firm; bulk group of {big:,}")
        for name, samples in results.items():
            spread = ", ".join(f"{s * 1000:.0f}" for s in samples)
            log(f"  {name:<15} median {median_ms(samples):>5} ms   runs: {spread}")
    finally:
        if not args.keep:
            drop_database(database)
    if args.year:
        log(f"Loading: {loading.summary}")
    search_ms = max(median_ms(results[name]) for name in setup.searches)
    log(
        f"queue_ms={median_ms(results['queue'])} filtered_ms={median_ms(results['filtered'])} search_ms={search_ms} "
        f"detail_ms={median_ms(results['detail'])} bulk_resolve_ms={median_ms(results['bulk_resolve'])}"
    )


if __name__ == "__main__":
    main()
