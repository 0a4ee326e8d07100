"""Reconciliation benchmark: a month of a million-entry demo reconciled, and checked against the gaps planted in it.

Run with ``make bench-reconcile`` (or ``.venv/bin/python bench/reconcile.py --help``). It

1. (re)creates a PostgreSQL database (``opsview_rbench_bench`` on 127.0.0.1:5432, user postgres) and migrates
   it; with ``--sqlite``, a SQLite file under ``var/bench-reconcile/`` instead;
2. generates the demo at ``--entries`` time entries (1,000,000 by default: eight firms) with the generator's
   own loading path (COPY on PostgreSQL), which also writes what the ERP and billing hold and plants a known
   set of reconciliation gaps (``opsview/demo/planting.py``); then opens the queue's exceptions from the sync
   events (``manage.py backfill_queues``, as ``make run`` does), since a record the queue already knows is no
   gap, and runs ANALYZE;
3. reconciles the month the gaps were planted in (the month before last), workspace by workspace, with the
   engine (``opsview.reconcile.engine.reconcile``), timed as a whole;
4. compares what it found with what was planted: a planted gap is found when a gap of its cause names its
   record (a time entry's id, an invoice number, a sync run's id); every other record a gap names is a false
   one. It prints the counts per cause, the time of each step and the database's size;
5. drops the database (unless ``--keep``).

Target: the month's reconciliation of all workspaces together under 60 s on PostgreSQL at 1,000,000 entries.
The last line is ``entries=N seconds=S planted=P found=F false=X`` (seconds: the reconciliation alone); the
exit status is 1 when a planted gap was not found or anything else was.
"""

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import PG, ROOT, database_exists, drop_database, log, recreate_database, setup_django  # noqa: E402

PLANTS = ROOT / "var" / "bench-reconcile" / "planted-gaps.json"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="time entries in all (default 1000000)")
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "opsview_rbench_bench"), help="database name")
    parser.add_argument("--sqlite", action="store_true", help="run on a SQLite file under var/ instead")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="reconcile a database kept by --keep again, without loading (PostgreSQL)"
    )
    args = parser.parse_args()
    if args.entries < 5_000:
        parser.error("--entries must be at least 5000")
    return args


def setup_sqlite():
    """Django on a fresh SQLite file, with the same production settings as the PostgreSQL benchmarks."""
    var = ROOT / "var" / "bench-reconcile"
    var.mkdir(parents=True, exist_ok=True)
    path = var / "bench.sqlite3"
    for leftover in var.glob("bench.sqlite3*"):
        leftover.unlink()
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["OPSVIEW_VAR_DIR"] = str(var)
    os.environ["OPSVIEW_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("OPSVIEW_CREDENTIALS_KEY"):
        from cryptography.fernet import Fernet

        os.environ["OPSVIEW_CREDENTIALS_KEY"] = Fernet.generate_key().decode()
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsview.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return path


def load(entries):
    """The demo at ``entries`` time entries, its exceptions opened; returns the seed's Summary and timings."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from opsview.demo.generator import seed_demo
    from opsview.demo.plan import Sizes

    timings = {}
    started = time.perf_counter()
    summary = seed_demo(Sizes.resolve(time_entries=entries), progress=log)
    timings["seed"] = time.perf_counter() - started
    log(
        f"Seeded in {timings['seed']:.0f} s: {summary.workspaces} workspaces, {summary.time_entries} time entries, "
        f"{summary.invoices} invoices, {summary.sync_events} sync events, {summary.postings} postings, "
        f"{summary.planted} planted gaps"
    )
    started = time.perf_counter()
    call_command("backfill_queues", stdout=StringIO())
    timings["backfill"] = time.perf_counter() - started
    log(f"Exceptions opened from the sync events in {timings['backfill']:.0f} s (manage.py backfill_queues)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # fresh statistics, as autovacuum keeps them in production
    return summary, timings


def reconcile_all(label):
    """Each workspace's reconciliation of ``label``: ``({slug: Result}, seconds per slug)``."""
    from opsview.reconcile.engine import reconcile
    from opsview.reconcile.periods import Period
    from opsview.workspaces.models import Workspace

    period = Period.parse(label)
    results, seconds = {}, {}
    for workspace in Workspace.objects.order_by("pk"):
        started = time.perf_counter()
        results[workspace.slug] = reconcile(workspace, period)
        seconds[workspace.slug] = time.perf_counter() - started
    return results, seconds


def compare(plants, results):
    """``(planted, found, false)`` as Counters per cause: planted records, those found, records found unplanted."""
    planted = {(p.workspace, p.cause, p.record) for p in plants}
    named = set()
    for slug, result in results.items():
        for gap in result.gaps:
            named.update((slug, gap.cause, str(record)) for record in gap.records)
    by_cause = lambda keys: Counter(cause for _slug, cause, _record in keys)  # noqa: E731
    return by_cause(planted), by_cause(planted & named), by_cause(named - planted), sorted(named - planted)


def disk(sqlite_path):
    from django.db import connection

    if sqlite_path is not None:
        return {"database": sqlite_path.stat().st_size}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes = {"database": cursor.fetchone()[0]}
        for table in ("records_posting", "records_timeentry", "telemetry_syncevent", "queues_exceptionitem"):
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = cursor.fetchone()[0]
    return sizes


def main():
    args = parse_args()
    sqlite_path = None
    if args.sqlite:
        sqlite_path = setup_sqlite()
        log(f"SQLite at {sqlite_path.relative_to(ROOT)}")
    else:
        if not (args.reuse and database_exists(args.db)):
            args.reuse = False
            recreate_database(args.db)
        setup_django(args.db, var_dir="bench-reconcile")
        log(f"PostgreSQL database {args.db} at {PG.split('@')[1]}")
    try:
        run(args, sqlite_path)
    finally:
        if not args.keep and not args.reuse and not args.sqlite:
            drop_database(args.db)


def run(args, sqlite_path):
    from datetime import date

    from opsview.demo.plan import month_start
    from opsview.demo.planting import CAUSES, in_period, plant_month, read_plants, write_plants

    if args.reuse:
        from opsview.records.models import TimeEntry

        entries, timings = TimeEntry.objects.count(), {"seed": 0.0, "backfill": 0.0}
        all_plants = read_plants(PLANTS)
        log(f"Reusing {args.db}: {entries} time entries, {len(all_plants)} planted gaps")
    else:
        summary, timings = load(args.entries)
        entries, all_plants = summary.time_entries, summary.plants
        write_plants(all_plants, PLANTS)
    label = f"{month_start(plant_month(date.today())):%Y-%m}"
    plants = in_period(all_plants, label)
    log(f"Reconciling {label} in every workspace ({len(plants)} gaps planted in it)")
    results, seconds = reconcile_all(label)
    total = sum(seconds.values())
    for slug, took in seconds.items():
        log(f"  {slug:<24} {took:7.2f} s  {len(results[slug].gaps):>4} gaps")
    planted, found, false, unplanted = compare(plants, results)
    log(f"{'cause':<24} {'planted':>8} {'found':>6} {'false':>6}")
    for cause in CAUSES:
        log(f"{cause:<24} {planted[cause]:>8} {found[cause]:>6} {false[cause]:>6}")
    for slug, cause, record in unplanted[:20]:
        log(f"  not planted: {slug} {cause} {record}")
    sizes = disk(sqlite_path)
    log("Disk: " + ", ".join(f"{name} {size / 2**20:.0f} MB" for name, size in sizes.items()))
    log(f"Seed {timings['seed']:.0f} s, exceptions {timings['backfill']:.0f} s, reconciliation {total:.1f} s")
    n_planted, n_found, n_false = sum(planted.values()), sum(found.values()), sum(false.values())
    log(f"entries={entries} seconds={total:.1f} planted={n_planted} found={n_found} false={n_false}")
    if n_found < n_planted or n_false:
        sys.exit(1)


if __name__ == "__main__":
    main()
