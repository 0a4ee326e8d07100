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
4. VACUUM ANALYZE, as autovacuum would leave the tables.

A database whose loading stopped half-way resumes with ``--reuse``: the seed is one transaction, the
roll-ups are computed only for days that have none, the exceptions one workspace at a time, all or
nothing. The figures of a finished load are kept in the database's comment, and a bench that reuses it
prints them again.
"""

import json
import os
import time
from dataclasses import dataclass, field
from datetime import date
from io import StringIO

from bench.support import MemoryWatch, database_exists, log, recreate_database, setup_django

YEAR = {"workspaces": 50, "time_entries": 5_000_000, "sync_events": 50_000_000}
YEAR_DB = os.environ.get("BENCH_YEAR_DB", "opsview_year_bench")
ROLLUP_DAYS = 65  # the dashboards' default period (30 days) and the one before, with days to spare
MARKER = "opsview bench data "


@dataclass
class Loading:
    """How a database was loaded: the sizes asked for, each phase's seconds and the database's bytes after it."""

    sizes: dict
    exceptions: bool = True
    loaded_on: str = ""
    phases: list = field(default_factory=list)  # [name, seconds, bytes after]
    peak_rss_mb: float = 0.0
    rows: dict = field(default_factory=dict)

    def lines(self):
        yield f"Loaded on {self.loaded_on}: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.rows.items())
        for name, seconds, size in self.phases:
            yield f"  {name:<12} {seconds:>8.0f} s   database {size / 2**30:>6.1f} GB after it"
        total = sum(seconds for _, seconds, _ in self.phases)
        yield f"  {'total':<12} {total:>8.0f} s   peak memory of the loading process {self.peak_rss_mb:.0f} MB"

    @property
    def summary(self):
        """``load_s=N disk_gb=N load_rss_mb=N``: what loading took, for a bench's last line."""
        total = sum(seconds for _, seconds, _ in self.phases)
        size = self.phases[-1][2] if self.phases else 0
        return f"load_s={total:.0f} disk_gb={size / 2**30:.1f} load_rss_mb={self.peak_rss_mb:.0f}"


def prepare(database, sizes, reuse=False, exceptions=True, seed=None):
    """Django on ``database`` holding the demo at ``sizes`` (``seed_demo``'s options), loaded unless ``reuse``
    finds it loaded already. ``seed(sizes)`` seeds instead of ``seed_demo``. Returns the ``Loading`` (this
    one's, or the one that loaded it)."""
    if not (reuse and database_exists(database)):
        recreate_database(database)
    setup_django(database, var_dir="bench-data")  # seed_demo's list of planted gaps goes there, not in the demo's
    done = _marker(database)
    if done is not None:
        if (done.sizes, done.exceptions) != (sizes, exceptions):
            raise SystemExit(f"{database} holds {done.sizes}, not {sizes}: run without --reuse to load it again.")
        log(f"Reusing {database} ({(date.today() - date.fromisoformat(done.loaded_on)).days} day(s) old).")
        _log(done)
        # Days that ended since it was loaded: the hourly schedule would have rolled them up by now.
        _rollups(timed=False)
        return done
    return load(database, sizes, exceptions, seed)


def load(database, sizes, exceptions=True, seed=None):
    """Load the phases ``database`` still lacks, timing each; remember the figures in the database's comment."""
    from django.core.management import call_command

    from opsview.queues.models import ExceptionItem
    from opsview.records.models import TimeEntry
    from opsview.telemetry.models import SyncEvent

    loading = Loading(sizes, exceptions, loaded_on=date.today().isoformat())
    watch = MemoryWatch(os.getpid())
    try:
        if TimeEntry.objects.exists():
            log(f"{database} is seeded already: going on with what its loading lacks.")
        else:
            options = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sizes.items())
            log(f"Seeding {database} with seed_demo: {options}")
            with _phase(loading, "seed"):
                if seed is not None:
                    seed(sizes)
                else:
                    call_command("seed_demo", verbosity=1, without_erp=True, stdout=_Progress(), **sizes)
        log(f"Rolling up {ROLLUP_DAYS} days (the default period and the one before)")
        with _phase(loading, "roll-ups"):
            _rollups()
        if exceptions:
            log("Opening the queue's exceptions (backfill_queues, one firm at a time)")
            with _phase(loading, "exceptions"):
                call_command("backfill_queues", "--if-empty", stdout=_Progress(every=10))
        log("VACUUM ANALYZE")
        with _phase(loading, "vacuum"):
            _execute("VACUUM ANALYZE")
    finally:
        watch.stop()
    loading.peak_rss_mb = watch.peak_mb
    loading.rows = {
        "time_entries": TimeEntry.objects.count(),
        "sync_events": SyncEvent.objects.count(),
        "exceptions": ExceptionItem.objects.count(),
        "open_exceptions": ExceptionItem.objects.filter(status="open").count(),
    }
    _execute(f"COMMENT ON DATABASE {database} IS %s", [MARKER + json.dumps(loading.__dict__)])
    _log(loading)
    return loading


def _rollups(timed=True):
    from django.core.management import call_command

    out = StringIO()
    call_command("rollup_kpis", days=ROLLUP_DAYS, stdout=out)
    if timed:
        log(f"  {out.getvalue().strip()}")


class _phase:
    """Times one phase of ``loading`` and notes the database's size after it."""

    def __init__(self, loading, name):
        self.loading, self.name = loading, name

    def __enter__(self):
        self.began = time.perf_counter()

    def __exit__(self, *exc):
        if exc[0] is None:
            seconds = time.perf_counter() - self.began
            size = _execute("SELECT pg_database_size(current_database())")[0][0]
            self.loading.phases.append([self.name, seconds, size])
            log(f"  {self.name} done in {seconds:.0f} s; the database holds {size / 2**30:.1f} GB")


class _Progress:
    """A command's output as the bench's log, every ``every``-th line, with the time since the phase began."""

    def __init__(self, every=1):
        self.every, self.lines, self.began = every, 0, time.perf_counter()

    def write(self, text):
        for line in text.splitlines():
            self.lines += 1
            if line.strip() and (self.lines % self.every == 0 or "Demo loaded" in line or "Indexes" in line):
                log(f"  {time.perf_counter() - self.began:7.0f} s  {line.strip()}")

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
