"""The demo's data at a bench's size in a PostgreSQL database of its own, loaded once and reusable.

``bench/dashboards.py`` loads it at its own size, and with ``--year`` both it and ``bench/queues.py`` load
the brief's year of a partner's data (``YEAR``: 50 firms, 5,000,000 time entries, 50,000,000 sync events)
into one database, ``opsview_year_bench`` (``BENCH_YEAR_DB``), which ``--keep`` keeps and ``--reuse``
takes as it is: the second bench and every rerun skip the loading. Loading has four phases, each timed
with the database's size after it:

1. seed: ``seed_demo`` (PostgreSQL COPY, indexes built after the rows, rows written frozen; ``pgload``);
2. roll-ups: the daily roll-ups of the default period and the one before (65 days), as the hourly
   schedule keeps them;
3. exceptions: ``backfill_queues``, the queue's exceptions from the stored events and states through the
   app's own detection rules, so the exception KPIs and the queue pages see the exceptions a firm has;
4. open exceptions (the year only, ``OPEN_EXCEPTIONS``): the demo's year leaves about 400,000 open, the brief's
   month-end backlog is a million; failed postings of time entries that have none are reported through the
   app's own writer (``store_events``, detection in the same transaction) until that many are open, shared
   among the firms by their size;
5. VACUUM ANALYZE, as autovacuum would leave the tables.

A database whose loading stopped half-way resumes with ``--reuse``: the seed is one transaction, the
roll-ups are computed only for days that have none, the exceptions one workspace at a time, all or
nothing. The figures of a finished load are kept in the database's comment, and a bench that reuses it
prints them again.
"""

import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import database_exists, log, peak_memory_mb, recreate_database, setup_django  # noqa: E402

YEAR = {"workspaces": 50, "time_entries": 5_000_000, "sync_events": 50_000_000}
OPEN_EXCEPTIONS = 1_000_000  # the year's queue: open exceptions across the firms
YEAR_DB = os.environ.get("BENCH_YEAR_DB", "opsview_year_bench")
ROLLUP_DAYS = 65  # the dashboards' default period (30 days) and the one before, with days to spare
MARKER = "opsview bench data "


@dataclass
class Loading:
    """How a database was loaded: the sizes asked for, each phase's seconds and the database's bytes after it."""

    sizes: dict
    exceptions: bool = True
    open_exceptions: int = 0  # at least this many open once loaded (the open-exceptions phase); 0: as detected
    loaded_on: str = ""
    phases: list = field(default_factory=list)  # [name, seconds, bytes after]
    peak_rss_mb: float = 0.0
    rows: dict = field(default_factory=dict)
    complete: bool = False

    def done(self, name):
        return any(phase[0] == name for phase in self.phases)

    def lines(self):
        yield f"Loaded on {self.loaded_on}: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.rows.items())
        for name, seconds, size in self.phases:
            yield f"  {name:<16} {seconds:>8.0f} s   database {size / 2**30:>6.1f} GB after it"
        total = sum(seconds for _, seconds, _ in self.phases)
        yield f"  {'total':<16} {total:>8.0f} s   peak memory of the loading process {self.peak_rss_mb:.0f} MB"

    @property
    def summary(self):
        """``load_s=N disk_gb=N load_rss_mb=N``: what loading took, for a bench's log."""
        total = sum(seconds for _, seconds, _ in self.phases)
        size = self.phases[-1][2] if self.phases else 0
        return f"load_s={total:.0f} disk_gb={size / 2**30:.1f} load_rss_mb={self.peak_rss_mb:.0f}"


def prepare(database, sizes, reuse=False, exceptions=True, seed=None, until=None, open_exceptions=0):
    """Django on ``database`` holding the demo at ``sizes`` (``seed_demo``'s options), loaded unless ``reuse``
    finds it loaded already (or goes on where its loading stopped). ``seed(sizes)`` seeds instead of
    ``seed_demo``; ``until`` names the last phase to load; ``open_exceptions`` tops the queue up to that many
    open. Returns the ``Loading``."""
    if not (reuse and database_exists(database)):
        recreate_database(database)
    setup_django(database, var_dir="bench-data")  # seed_demo's list of planted gaps goes there, not in the demo's
    loading = _marker(database) or Loading(sizes, exceptions, loaded_on=date.today().isoformat())
    if (loading.sizes, loading.exceptions) != (sizes, exceptions):
        raise SystemExit(f"{database} holds {loading.sizes}, not {sizes}: run without --reuse to load it again.")
    if open_exceptions > loading.open_exceptions:  # a database loaded before the queue was topped up goes on
        loading.open_exceptions, loading.complete = open_exceptions, False
    if loading.complete:
        log(f"Reusing {database} ({(date.today() - date.fromisoformat(loading.loaded_on)).days} day(s) old).")
        _log(loading)
        # Days that ended since it was loaded (or whose roll-ups a migration asked to compute again): the
        # hourly schedule would have rolled them up by now.
        _rollups(timed=False)
        return loading
    return load(database, loading, seed, until)


def load(database, loading, seed=None, until=None):
    """Load the phases ``database`` still lacks, timing each; the figures go in the database's comment after
    each phase, so a load that stopped goes on from there."""
    from django.core.management import call_command

    from opsview.queues.models import ExceptionItem
    from opsview.records.models import TimeEntry
    from opsview.telemetry.models import SyncEvent

    def seeding():
        options = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in loading.sizes.items())
        log(f"Seeding {database} with seed_demo: {options}")
        if seed is not None:
            seed(loading.sizes)
        else:
            progress = _Progress(keep=("Demo loaded", "Indexes"), often="so far", every=5)
            call_command("seed_demo", verbosity=1, without_erp=True, stdout=progress, **loading.sizes)

    def exceptions():
        log("Opening the queue's exceptions (backfill_queues, one firm at a time, all or nothing)")
        call_command("backfill_queues", "--if-empty", stdout=_Progress(often="checked", every=10))

    phases = [
        ("seed", seeding, TimeEntry.objects.exists()),
        ("roll-ups", _rollups, False),
        ("exceptions", exceptions, not loading.exceptions),
        ("open exceptions", lambda: _open_up_to(loading.open_exceptions), not loading.open_exceptions),
        ("vacuum", lambda: _execute("VACUUM ANALYZE"), False),
    ]
    ran = False
    for name, run, skip in phases:
        # The vacuum follows whatever this call loaded: also a phase added since the database was loaded.
        if skip or (loading.done(name) and not (name == "vacuum" and ran)):
            continue
        ran = True
        with _phase(loading, name):
            run()
        # The process's own high-water mark: it starts no other process (MemoryWatch scans /proc four times a
        # second for the children of a process, a sixth of the loading's time on a busy machine).
        loading.peak_rss_mb = max(loading.peak_rss_mb, peak_memory_mb(os.getpid()))
        _remember(database, loading)
        if name == until:
            return loading
    loading.rows = {
        "time_entries": TimeEntry.objects.count(),
        "sync_events": SyncEvent.objects.count(),
        "exceptions": ExceptionItem.objects.count(),
        "open_exceptions": ExceptionItem.objects.filter(status="open").count(),
    }
    loading.complete = True
    _remember(database, loading)
    _log(loading)
    return loading


def _open_up_to(target):
    """Failed ERP postings of approved time entries that have no exception, reported through ingest's writer
    (``store_events``, detection in the same transaction) until ``target`` exceptions are open, each firm's
    share by its number of time entries. Resumable: the events are stored a thousand at a time, a stopped run's
    shortfall is shared out again, and entries that have an exception already are left out."""
    from django.db import transaction
    from django.db.models import Count, Exists, OuterRef
    from django.utils import timezone

    from opsview.ingest.events import store_events
    from opsview.queues.models import ExceptionItem
    from opsview.records.models import TimeEntry
    from opsview.systems.models import System, SystemKind
    from opsview.workspaces.models import Workspace

    open_items = ExceptionItem.objects.filter(status="open")
    missing = target - open_items.count()
    if missing <= 0:
        log(f"  {target - missing:,} exceptions open already")
        return
    sizes = dict(TimeEntry.objects.values_list("workspace_id").annotate(n=Count("id")).order_by())
    now, total, began = timezone.now(), sum(sizes.values()), time.perf_counter()
    for workspace in Workspace.objects.filter(pk__in=sizes).order_by("pk"):
        share = round(missing * sizes[workspace.pk] / total)
        erp = System.objects.for_workspace(workspace).filter(kind=SystemKind.ERP).first()
        if erp is None or share <= 0:
            continue
        excepted = ExceptionItem.objects.filter(
            workspace=workspace, record_type="time_entry", external_id=OuterRef("external_id")
        )
        entries = (
            TimeEntry.objects.for_workspace(workspace)
            .filter(status="approved")
            .exclude(Exists(excepted))
            .order_by("-work_date", "pk")
            .values_list("pk", "external_id", "system_id", "work_date", "hours")[:share]
        )
        events = [_failed_posting(pk, row, erp, now) for pk, *row in entries]
        for start in range(0, len(events), 1000):
            with transaction.atomic():
                store_events(workspace, events[start : start + 1000])
        log(f"  {time.perf_counter() - began:7.0f} s  {workspace.slug}: {len(events):,} failed postings reported")
    log(f"  {open_items.count():,} exceptions open")


def _failed_posting(pk, row, erp, now):
    """One time entry's posting to the ERP, refused for one of the demo ERP's reasons, in the last 30 days."""
    from datetime import timedelta

    from opsview.demo import catalog
    from opsview.ingest.events import sync_event

    external_id, system_id, work_date, hours = row
    reasons = (
        (catalog.PERIOD_CLOSED, catalog.period_closed(f"{work_date:%Y-%m}", 1)),
        (catalog.UNKNOWN_PROJECT, catalog.unknown_project(f"P-{pk % 997:03d}")),
        (catalog.RATE_MISMATCH, catalog.rate_mismatch(120 + pk % 7 * 5, 120, f"P-{pk % 613}")),
    )
    code, message = reasons[pk % len(reasons)]
    return sync_event(
        event_id=f"bench-open-{pk}",
        record_type="time_entry",
        external_id=external_id,
        source_system=system_id,
        target_system=erp.pk,
        outcome="failed",
        occurred_at=now - timedelta(minutes=pk % (30 * 24 * 60)),
        error_code=code,
        error_message=message,
        payload={"hours": float(hours), "work_date": work_date.isoformat()},
    )


def _remember(database, loading):
    _execute(f"COMMENT ON DATABASE {database} IS %s", [MARKER + json.dumps(loading.__dict__)])


def _rollups(timed=True):
    from django.core.management import call_command

    if timed:
        log(f"Rolling up {ROLLUP_DAYS} days (the default period and the one before)")
    out = StringIO()
    call_command("rollup_kpis", days=ROLLUP_DAYS, stdout=out)
    log(f"  {out.getvalue().strip()}")


class _phase:
    """Times one phase of ``loading`` and notes the database's size after it."""

    def __init__(self, loading, name):
        self.loading, self.name = loading, name

    def __enter__(self):
        self.began = time.perf_counter()
        log(f"== {self.name}")

    def __exit__(self, *exc):
        if exc[0] is None:
            seconds = time.perf_counter() - self.began
            size = _execute("SELECT pg_database_size(current_database())")[0][0]
            self.loading.phases.append([self.name, seconds, size])
            log(f"  {self.name} done in {seconds:.0f} s; the database holds {size / 2**30:.1f} GB")


class _Progress:
    """A command's output as the bench's log, with the time since the phase began: the lines that hold one of
    ``keep`` (all, when empty), and of the lines that hold ``often`` every ``every``-th one."""

    def __init__(self, keep=(), often="", every=1):
        self.keep, self.often, self.every = keep, often, every
        self.seen, self.began = 0, time.perf_counter()

    def write(self, text):
        for line in text.splitlines():
            line = line.strip()
            if self.often and self.often in line:
                self.seen += 1
                if self.seen % self.every:
                    continue
            elif self.keep and not any(word in line for word in self.keep):
                continue
            if line:
                log(f"  {time.perf_counter() - self.began:7.0f} s  {line}")

    def flush(self):
        pass


def _marker(database):
    rows = _execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database])
    comment = rows[0][0] if rows else None
    if not comment or not comment.startswith(MARKER):
        return None
    return Loading(**json.loads(comment[len(MARKER) :]))


def _log(loading):
    for line in loading.lines():
        log(line)


def _execute(sql, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def year_database(name=None):
    """The year's database: ``name``, or ``BENCH_YEAR_DB``, or opsview_year_bench."""
    return name or YEAR_DB


def main():
    import argparse

    parser = argparse.ArgumentParser(description="Load the year's data (the benches' --year) without timing a page.")
    parser.add_argument("--db", default=YEAR_DB, help="database (default BENCH_YEAR_DB or opsview_year_bench)")
    parser.add_argument("--reuse", action="store_true", help="go on where a loading of this database stopped")
    parser.add_argument("--until", choices=("seed", "roll-ups", "exceptions"), help="stop after this phase")
    args = parser.parse_args()
    prepare(args.db, dict(YEAR), reuse=args.reuse, until=args.until, open_exceptions=OPEN_EXCEPTIONS)


if __name__ == "__main__":
    main()
