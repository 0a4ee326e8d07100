"""Dashboards benchmark: server time of the dashboards and KPI endpoints, against their bare SQL.

Run with ``make bench-dashboards`` (or ``.venv/bin/python bench/dashboards.py --help``). It

1. (re)creates a PostgreSQL database (``opsview_kpis_bench`` on 127.0.0.1:5432, user postgres) and
   migrates it, unless ``--reuse`` finds one already loaded;
2. loads data: ``manage.py seed_demo --workspaces 50 --time-entries N --sync-events M`` where that command exists,
   else the plain synthetic set of ``bench/synthetic.py`` (about 125,000 entries per workspace, as
   seed_demo makes them); then rolls up 65 days (the default 30-day period and the one before) and runs VACUUM ANALYZE;
3. signs in an executive of the largest workspace and a project manager of it (the person managing
   the most projects), and for each target (the executive dashboard, the manager view, each KPI
   endpoint) records the SQL one request runs, then times ``--runs`` requests through Django's full
   stack in this process (server time: no network, no WSGI server) and, in the same rounds, the bare
   replay of exactly that SQL on a plain psycopg cursor.

It prints one line per target with both medians and their ratio. The target, for the dashboards
(the executive dashboard, as an executive and as a manager, and the manager view): every page under
500 ms median server time and no page more than three times its bare queries. The portfolio of all the
firms (50 by default), seen by a partner admin who runs every one, is held to 500 ms too. The portfolio, a
drill-down list and the KPI endpoints are timed and printed the same way, and so is the KPI index,
which computes nothing: the fixed cost of a signed-in API request. Its last line is
``worst_page_ms=N worst_ratio=R`` over the dashboards, then the same for the other pages, the KPI
endpoints and that floor, and ``portfolio_50_ms=N`` (the portfolio's median at that many firms).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import database_exists, log, recreate_database, setup_django  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-entries", type=int, default=1_000_000, help="time entries in all (default 1000000)")
    parser.add_argument("--sync-events", type=int, default=5_000_000, help="sync events in all (default 5000000)")
    parser.add_argument(
        "--workspaces", type=int, default=50, help="firms (default 50): the portfolio is timed across all of them"
    )
    parser.add_argument("--people", type=int, help="people in all firms together (seed_demo; default from entries)")
    parser.add_argument(
        "--no-exceptions",
        dest="exceptions",
        action="store_false",
        help="skip opening the queue's exceptions from the events (manage.py backfill_queues, as make run does)",
    )
    parser.add_argument("--runs", type=int, default=7, help="timed requests per target (default 7)")
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "opsview_kpis_bench"), help="database name")
    parser.add_argument("--reuse", action="store_true", help="keep and reuse a database that is already loaded")
    parser.add_argument("--synthetic", action="store_true", help="use bench/synthetic.py even if seed_demo exists")
    return parser.parse_args()


def load(args):
    from django.core.management import call_command, get_commands

    from opsview.records.models import TimeEntry

    if args.reuse and TimeEntry.objects.exists():
        log(f"Reusing {args.db}: {TimeEntry.objects.count()} time entries already loaded.")
        open_exceptions(args)
        return
    started = time.perf_counter()
    if "seed_demo" in get_commands() and not args.synthetic:
        log(
            f"Loading with seed_demo: {args.workspaces} firms, {args.time_entries} time entries, "
            f"{args.sync_events} sync events" + (f", {args.people} people" if args.people else "")
        )
        sizes = {"workspaces": args.workspaces} | ({"people": args.people} if args.people else {})
        call_command("seed_demo", time_entries=args.time_entries, sync_events=args.sync_events, verbosity=0, **sizes)
    else:
        from bench.synthetic import build

        workspaces = args.workspaces or max(1, round(args.time_entries / 125_000))
        log(
            f"seed_demo is not available here; loading the synthetic set: {args.time_entries} time entries, "
            f"{args.sync_events} sync events in {workspaces} workspace(s)"
        )
        build(args.time_entries, args.sync_events, workspaces=workspaces, days=183)
    log(f"Loaded in {time.perf_counter() - started:.0f} s; rolling up 65 days (the default period and the one before)")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum keeps them in production
    started = time.perf_counter()
    call_command("rollup_kpis", days=65, verbosity=0)
    log(f"Rolled up in {time.perf_counter() - started:.0f} s")
    open_exceptions(args)
    log("VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def open_exceptions(args):
    """The queue's exceptions from the loaded events, once: the portfolio's money at stake and past SLA read them."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from opsview.queues.models import ExceptionItem

    if not args.exceptions or ExceptionItem.objects.exists():
        return
    started = time.perf_counter()
    call_command("backfill_queues", stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"{ExceptionItem.objects.count()} exceptions opened in {time.perf_counter() - started:.0f} s (backfill_queues)")


def cast():
    """An executive of the largest workspace and a manager of its busiest project manager."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from opsview.records.models import Person, Project, TimeEntry
    from opsview.workspaces.models import Membership, Workspace
    from opsview.workspaces.roles import Role

    largest = (
        TimeEntry.objects.values("workspace_id").annotate(n=Count("id")).order_by("-n").values_list("workspace_id")[:1]
    )
    workspace = Workspace.objects.get(pk__in=largest)
    users = get_user_model().objects
    executive, _ = users.get_or_create(username="bench-exec")
    Membership.objects.get_or_create(user=executive, workspace=workspace, defaults={"role": Role.EXECUTIVE})
    busiest = (
        Project.objects.for_workspace(workspace)
        .exclude(manager=None)
        .values("manager_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("manager_id", flat=True)[:1]
    )
    person = Person.objects.get(pk__in=busiest)
    manager = person.user or users.get_or_create(username="bench-manager")[0]
    Person.objects.filter(pk=person.pk).update(user=manager)
    Membership.objects.update_or_create(user=manager, workspace=workspace, defaults={"role": Role.MANAGER})
    projects = Project.objects.for_workspace(workspace).filter(manager=person).count()
    entries = TimeEntry.objects.for_workspace(workspace).count()
    log(f"Workspace {workspace.slug}: {entries} time entries; manager {person.name} with {projects} projects")
    return workspace, executive, manager


def partner_admin():
    """A partner admin of a partner that runs every firm: the portfolio's user. Returns it and the firm count."""
    from django.contrib.auth import get_user_model

    from opsview.workspaces.models import Partner, PartnerMembership, PartnerRole, Workspace
    from opsview.workspaces.partners import sync_partner_access

    partner, _ = Partner.objects.get_or_create(slug="bench-partner", defaults={"name": "Bench Partners"})
    Workspace.objects.update(partner=partner)
    user, _ = get_user_model().objects.get_or_create(username="bench-partner")
    PartnerMembership.objects.update_or_create(user=user, partner=partner, defaults={"role": PartnerRole.ADMIN})
    sync_partner_access(partner)
    return user, Workspace.objects.count()


def targets(executive, manager, partner=None, firms=0):
    """``(kind, name, user, url)``: the dashboards the targets apply to, other pages, each KPI endpoint, the floor."""
    from opsview.kpis.catalog import CATALOG

    yield "page", "executive dashboard", executive, "/dashboards/executive/"
    yield "page", "manager view", manager, "/dashboards/projects/"
    yield "page", "manager's executive dashboard", manager, "/dashboards/executive/"
    if partner is not None:
        yield "portfolio", f"({firms} firms, partner admin)", partner, "/dashboards/portfolio/"
    yield "other", "unapproved list (a drill-down)", executive, "/records/time-entries/?status=unapproved&age=8-14"
    for kpi in CATALOG:
        yield "api", kpi.slug, executive, f"/api/v1/kpis/{kpi.slug}/"
    # The KPI index computes nothing: what any signed-in API request costs (session, user, workspaces, DRF).
    yield "floor", "KPI index (no KPI computed)", executive, "/api/v1/kpis/"


class ServerTiming:
    """Outermost middleware, in this process only: how long the server took, without the test client's own work."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Server-Ms"] = f"{(time.perf_counter() - started) * 1000:.3f}"
        return response


def measure(name, user, url, runs):
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    with override_settings(MIDDLEWARE=["bench.dashboards.ServerTiming", *settings.MIDDLEWARE]):
        return _measure(user, url, runs, Client, connection, CaptureQueriesContext)


def _measure(user, url, runs, Client, connection, CaptureQueriesContext):  # noqa: N803
    client = Client()
    client.force_login(user)
    client.get(url)  # warm: connection, caches, plans
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    # The session and membership look-ups belong to every page; the rest is the page's own SQL.
    statements = [q["sql"] for q in captured.captured_queries]
    page_times, bare_times = [], []
    for _ in range(runs):
        page_times.append(float(client.get(url)["X-Server-Ms"]) / 1000)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()
        bare_times.append(time.perf_counter() - started)
    page, bare = statistics.median(page_times) * 1000, statistics.median(bare_times) * 1000
    return page, bare, len(statements)


def main():
    args = parse_args()
    if not (args.reuse and database_exists(args.db)):
        recreate_database(args.db)
    setup_django(args.db)
    load(args)
    _, executive, manager = cast()
    partner, firms = partner_admin()
    log(f"{'target':<46} {'median_ms':>10} {'bare_ms':>9} {'ratio':>6} {'queries':>8}")
    worst = {kind: [0.0, 0.0] for kind in ("page", "other", "portfolio", "api", "floor")}  # kind: [median ms, ratio]
    for kind, name, user, url in targets(executive, manager, partner, firms):
        page, bare, queries = measure(name, user, url, args.runs)  # server time, bare SQL, statements
        ratio = page / bare if bare else float("inf")
        worst[kind] = [max(worst[kind][0], page), max(worst[kind][1], ratio)]
        log(f"{kind + ' ' + name:<46} {page:>10.1f} {bare:>9.1f} {ratio:>6.2f} {queries:>8}")
    (page_ms, page_ratio), (other_ms, other_ratio) = worst["page"], worst["other"]
    (api_ms, api_ratio), (floor_ms, _) = worst["api"], worst["floor"]
    log(
        "Targets, for the executive dashboard and the manager view: under 500 ms median, at most 3x their bare "
        "SQL. Other pages and KPI endpoints are held to the same numbers here; where their SQL takes a few ms, "
        f"the {floor_ms:.1f} ms any signed-in request costs before it runs a query dominates the ratio."
    )
    log(
        f"worst_page_ms={page_ms:.0f} worst_ratio={page_ratio:.2f} worst_other_page_ms={other_ms:.0f} "
        f"worst_other_page_ratio={other_ratio:.2f} worst_api_ms={api_ms:.0f} worst_api_ratio={api_ratio:.2f} "
        f"api_floor_ms={floor_ms:.1f} portfolio_{firms}_ms={worst['portfolio'][0]:.0f}"
    )


if __name__ == "__main__":
    main()
