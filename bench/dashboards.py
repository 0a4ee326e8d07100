"""Dashboards benchmark: server time of the dashboards and KPI endpoints, against their bare SQL.

Run with ``make bench-dashboards`` (or ``.venv/bin/python bench/dashboards.py --help``). It

1. loads the demo into a PostgreSQL database of its own (``bench/dataset.py``: ``opsview_kpis_bench`` on
   127.0.0.1:5432, user postgres), or reuses it with ``--reuse`` when it is loaded: ``manage.py seed_demo
   --workspaces 50 --time-entries N --sync-events M`` (COPY; ``--synthetic``: the plain set of
   ``bench/synthetic.py`` instead), the daily roll-ups of 65 days (the default 30-day period and the one
   before), the queue's exceptions (``manage.py backfill_queues``: the exception KPIs and the portfolio's
   money at stake read them), VACUUM ANALYZE; each phase timed, with the database's size after it;
2. with ``--year`` instead, a year of a partner's data (``make bench-dashboards BENCH_ARGS=--year``):
   50 firms, 5,000,000 time entries, 50,000,000 sync events and about a million open exceptions, in the
   database ``bench/queues.py --year`` shares (``BENCH_YEAR_DB``, default ``opsview_year_bench``); it is
   dropped afterwards unless ``--keep``, and ``--reuse`` takes it as it is (``BENCH_ARGS="--year --keep"``
   once, then ``"--year --reuse --keep"``);
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
endpoints and that floor, and ``portfolio_50_ms=N`` (the portfolio's median at that many firms). The line
before it, ``Loading: load_s=N disk_gb=N load_rss_mb=N``, says what loading the data took.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset  # noqa: E402
from bench.support import drop_database, log  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-entries", type=int, default=1_000_000, help="time entries in all (default 1000000)")
    parser.add_argument("--sync-events", type=int, default=5_000_000, help="sync events in all (default 5000000)")
    parser.add_argument(
        "--workspaces", type=int, default=50, help="firms (default 50): the portfolio is timed across all of them"
    )
    parser.add_argument("--people", type=int, help="people in all firms together (seed_demo; default from entries)")
    parser.add_argument(
        "--year",
        action="store_true",
        help="a year of a partner's data instead: 50 firms, 5,000,000 time entries, 50,000,000 sync events, "
        "in the database the queue bench's --year shares (BENCH_YEAR_DB, default opsview_year_bench)",
    )
    parser.add_argument(
        "--no-exceptions",
        dest="exceptions",
        action="store_false",
        help="skip opening the queue's exceptions from the events (manage.py backfill_queues, as make run does)",
    )
    parser.add_argument("--runs", type=int, default=7, help="timed requests per target (default 7)")
    parser.add_argument("--db", help="database name (default opsview_kpis_bench; with --year, BENCH_YEAR_DB)")
    parser.add_argument("--reuse", action="store_true", help="keep and reuse a database that is already loaded")
    parser.add_argument("--keep", action="store_true", help="with --year: keep the year's database afterwards")
    parser.add_argument("--synthetic", action="store_true", help="seed with bench/synthetic.py instead of seed_demo")
    args = parser.parse_args()
    if args.year and args.synthetic:
        parser.error("--year loads the demo's data: it does not go with --synthetic")
    return args


def sizes_of(args):
    """What to load: the year's sizes, or the ones asked for."""
    if args.year:
        return dict(dataset.YEAR)
    sizes = {"workspaces": args.workspaces, "time_entries": args.time_entries, "sync_events": args.sync_events}
    return sizes | ({"people": args.people} if args.people else {})


def synthetic(sizes):
    """The plain synthetic set of ``bench/synthetic.py``, about 125,000 entries per workspace as seed_demo makes."""
    from bench.synthetic import build

    build(sizes["time_entries"], sizes["sync_events"], workspaces=sizes["workspaces"], days=183)


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
    database = args.db or (dataset.year_database() if args.year else "opsview_kpis_bench")
    loading = dataset.prepare(
        database,
        sizes_of(args),
        reuse=args.reuse,
        exceptions=args.exceptions,
        seed=synthetic if args.synthetic else None,
        open_exceptions=dataset.OPEN_EXCEPTIONS if args.year else 0,
    )
    try:
        summary = bench(args)
    finally:
        if args.year and not args.keep:
            drop_database(database)
    log(f"Loading: {loading.summary}")
    log(summary)


def bench(args):
    """Time every target; returns the summary line."""
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
    return (
        f"worst_page_ms={page_ms:.0f} worst_ratio={page_ratio:.2f} worst_other_page_ms={other_ms:.0f} "
        f"worst_other_page_ratio={other_ratio:.2f} worst_api_ms={api_ms:.0f} worst_api_ratio={api_ratio:.2f} "
        f"api_floor_ms={floor_ms:.1f} portfolio_{firms}_ms={worst['portfolio'][0]:.0f}"
    )


if __name__ == "__main__":
    main()
