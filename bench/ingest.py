"""Ingest benchmark: how fast the sync-event API stores events, against a raw COPY of the same rows.

Run with ``make bench-ingest`` (or ``.venv/bin/python bench/ingest.py --help``). It

1. (re)creates a dedicated PostgreSQL database (``opsview_bench`` on 127.0.0.1:5432, user postgres),
   migrates it and creates a workspace, two systems, a sync run and an API token (and a second firm
   whose one batch warms the workers up);
2. pre-generates the events and encodes every request body with orjson, before any timing;
3. times a plain psycopg 3 ``COPY`` of the same rows into a bare copy of ``telemetry_syncevent``
   (same columns, types, NOT NULL and identity; primary key on ``id``; no foreign keys, no unique
   constraint, no secondary indexes);
4. starts the app under gunicorn (``OPSVIEW_DEBUG=0``) on a free port and, with ``--detection outbox``
   (the default, production's setting on PostgreSQL), the task cluster (``manage.py qcluster``), on
   Redis db 1 when Redis answers on 127.0.0.1 (``--redis``), else on the database broker; waits for
   ``/healthz``, and times ``--clients`` concurrent clients POSTing the batches to ``/api/v1/sync-events/``;
   every response must be 200, the table must end with exactly ``--events`` rows and, once the drain
   has caught up, one exception per failed record;
5. reports how long each batch's exceptions took to exist after it committed (``detect_lag_p99_ms``:
   from the note written just before the batch's commit to the commit of the drain that detected from
   it; 0 with ``--detection inline``, where they commit with the batch);
6. sends ``LONG_MESSAGE_BATCHES`` batches of 100 failed events whose error messages are one 4,000-character
   word each (the worst case for message normalisation) and reports the slowest;
7. sends ``--big-batches`` batches of 1,000 failed events with 10,000-byte payloads (10.3 MB a body, under
   INGEST_MAX_BODY_BYTES' 10 MiB) from the clients at once; the peak memory of every gunicorn worker and
   every task-cluster process is watched all along (``bench.support.MemoryWatch``; target: under 300 MB);
8. stops gunicorn and the cluster (always) and drops the database (unless ``--keep``).

Besides rates it prints the CPU each side spent per event (gunicorn workers, PostgreSQL backends, the task
cluster, the client), read from /proc: on a shared machine those stay steady while the rates swing.

Its last line is ``events_per_s=N copy_rows_per_s=N ratio=R long_message_batch_ms=N detect_lag_p99_ms=N
web_worker_peak_mb=N task_worker_peak_mb=N`` (ratio = events_per_s / copy_rows_per_s; the task worker's
figure only with the outbox). The target is ratio >= 0.25. Nothing here changes PostgreSQL's durability
settings: both sides pay for ``fsync`` on commit (``synchronous_commit=on``), the API once per batch and
once per drain, COPY once.

Measured at ``--events 100000`` on the 2-core dev machine while three other benchmarks loaded it (load
average 9-12), the code from before detection moved behind the response (``--detection inline``, its only
way) and after, back to back:

    before  events_per_s=2562 copy_rows_per_s=30026 ratio=0.09 long_message_batch_ms=2196
            detect_lag_p99_ms=0 web_worker_peak_mb=328
            CPU per event: gunicorn 121 us, postgres 95 us, client 7 us (222 us)
    after   events_per_s=5834 copy_rows_per_s=45167 ratio=0.13 long_message_batch_ms=133
            detect_lag_p99_ms=1569 web_worker_peak_mb=195 task_worker_peak_mb=143
            CPU per event: gunicorn 49 us, postgres 55 us, task cluster 26 us, client 6 us (136 us)

Then the sync events' indexes by source and by target system went, ingest checked a batch's text fields
together rather than by a regular expression per value, and web workers froze what they loaded from the
garbage collector; ``--events 50000 --big-batches 2``, back to back, load average 9-14 (ratios swing with the
load: 0.16 both times here, 0.14-0.26 in other pairs):

    before  CPU per event: gunicorn 82.6 us, postgres 82.6 us, task cluster 51.4 us, client 11.0 us
    after   CPU per event: gunicorn 61.0 us, postgres 67.6 us, task cluster 42.2 us, client 10.8 us

Detection's delay depends on the spare CPU its one draining process gets beside the six web threads:
p99 1,064 ms and 1,569 ms in two runs, 2,922 ms in a third when the machine was busiest.

Then the body's JSON text was read straight into the compiled type, payloads stored as they came, a request's
token, systems and runs read by hand-written queries, and the drain matched successes in PostgreSQL; on a third
machine, before and after (its bare COPY swings from 86,000 to 135,000 rows/s between runs):

    before  events_per_s=18258 copy_rows_per_s=111441 ratio=0.16 detect_lag_p99_ms=1288
            CPU per event: gunicorn 37.3 us, postgres 52.6 us, task cluster 15.1 us, client 4.2 us
    after   events_per_s=24429 copy_rows_per_s=124508 ratio=0.20 detect_lag_p99_ms=1931
            CPU per event: gunicorn 25.2 us, postgres 48.4 us, task cluster 8.3 us, client 3.9 us

Then new exceptions were written with COPY, the payloads of a batch searched together, and the events' B-tree
by record (firm, type, id, time) became a hash of the record's id; on another 2-core machine, the code from before
and after (the bare COPY at 100,000 to 156,000 rows/s from run to run):

    before  events_per_s=29710 copy_rows_per_s=135515 ratio=0.22 detect_lag_p99_ms=2282 (0.22, 0.23 and 0.21 in
            three more runs, lag 1533, 2307 and 1681 ms)
            CPU per event: gunicorn 20.8 us, postgres 41.9 us, task cluster 7.1 us, client 3.3 us
    after   events_per_s=40200 copy_rows_per_s=144370 ratio=0.28 detect_lag_p99_ms=1780 (0.27 and 0.29 in two
            more runs, lag 1048 and 1431 ms; 0.23 to 0.25 in four runs without the big batches, lag 1332 to 2402 ms)
            CPU per event: gunicorn 15.6 us, postgres 30.8 us, task cluster 5.3 us, client 2.8 us

Then the drain read a batch back as one range of ids (given the ids alone, the planner scanned a small table whole:
1,087 ms of the drain's 2.9 s of PostgreSQL became 578 to 613 ms, timed on its own) and wrote changed exceptions
with one UPDATE from VALUES; the bare COPY became the median of three (its first run on a new cluster also creates
the WAL files later ones reuse). On a machine whose bare COPY ran at 132,015 rows/s on its first run and 171,852 to
228,072 after, before and after (the last three after: 0.21, 0.19, 0.20):

    before  ratio 0.17 to 0.22 in seven runs, 28,507 to 45,601 events/s, lag p99 938 to 1343 ms
            CPU per event: gunicorn 15.1 to 17.9 us, postgres 26.6 to 32.1 us, task cluster 4.8 to 5.8 us
    after   ratio 0.17 to 0.22 in nine runs, 35,103 to 46,784 events/s, lag p99 791 to 1722 ms; the best:
            events_per_s=46784 copy_rows_per_s=214075 ratio=0.22 detect_lag_p99_ms=1722
            CPU per event: gunicorn 13.8 to 18.5 us, postgres 24.6 to 30.6 us, task cluster 4.0 to 5.9 us

The target is not met there. Detection costs it about a quarter of its rate: with the outbox's note left out (a
throw-away change, no exceptions opened), 58,909 events/s, 0.27 of that machine's COPY. Detection's drain, timed on
its own over the 195,894 detected events of a run (15,825 new exceptions): about 4 us an event for the nine in ten
that succeed, and about 175 us for each new exception (PostgreSQL about 130: the row and its fourteen index entries
with the search's trigrams, 60 to 75; its references checked, 15; its record's money at stake, 10; the failed event
read back, 9; Python 45).

Where an event's time goes now, of about 47 us of CPU on that machine: in the web worker (about 14 us), a request's
fixed cost (Django, DRF, the token, systems and runs, the note and the drain's request in Redis: 2.4 ms of CPU a
request in-process without the rate limit, 0.7 of it that of any integration request, ``/whoami/``; the rate
limit's history of the token's requests adds up to 0.3 ms) and decoding and checking the events
(``ingest.fields.quick_decode``, 2.6 us, 0.5 of it msgspec's decoding) and writing their COPY rows; in PostgreSQL
(about 27 us), the COPY into a table with five indexes besides its primary key (9.4 us an event alone, against 4.2
bare) and, behind the response, the detection above; the client about 2.5 us. Batches of 1,000 events take a third
off the web's share.

On a fifth machine (its bare COPY 159,000 to 232,000 rows/s from run to run, events 31,000 to 48,000/s, on their
own: the ratio swings from 0.14 to 0.24 in some thirty runs of the same code, 0.17 to 0.21 most often), the new
exception's costs measured apart (the drain of one run's 200,000 events on a copy of its database, 16,363 new
exceptions): PostgreSQL 3.8 to 4.6 s and Python 1.5 to 1.9 s. Of PostgreSQL's, the queue search's trigram index
takes about 1.5 s (about 95 us a new exception: the error text's trigrams are the same in thousands of rows, and
each adds the row to their long lists) and the references' checks about 0.3 s. Without both (a throw-away change)
the drain's PostgreSQL took 2.3 to 2.8 s, yet ingest was no faster in six runs: the drain, done sooner, ran more
often. Two drain tasks also took turns (one asked for while the other looped): sixteen to forty transactions a
run. One drain now loops at a time (``queues.outbox.drain``): twelve to eighteen, the task cluster's CPU 3.8 to
5.8 us an event against 4.0 to 8.8, the ratio unchanged (0.17 to 0.23 in fifteen runs; without the index and the
checks, 0.18 to 0.22 in three). Gunicorn as 4 workers of 1 thread or 2 of 3, 8 clients instead of 4 and a drain
gathering for 0.75 s did no better than the noise either.

Environment: ``BENCH_WORKERS`` and ``BENCH_THREADS`` set gunicorn's defaults, ``BENCH_DB`` the database,
``BENCH_REDIS_URL`` the Redis.
"""

import argparse
import base64
import contextlib
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    PG,
    Child,
    Gunicorn,
    MemoryWatch,
    drop_database,
    log,
    manage,
    process_tree,
    recreate_database,
)

PY = sys.executable
URL = "/api/v1/sync-events/"

# Measured on the 2-core dev machine with 4 clients (100,000 events, three rounds, median events/s):
# 2 sync workers 13.1k, 4 sync workers 14.6k, 2 workers x 2 threads 15.9k, 3 workers x 2 threads 18.9k.
# About 60% of a request's time is spent waiting on PostgreSQL, so more handlers than cores keep both
# cores busy; threads (gthread) add handlers without adding processes.
DEFAULT_WORKERS = 3
DEFAULT_THREADS = 2

COLUMNS = (
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
    "payload",
    "correlation_id",
    "occurred_at",
    "received_at",
)

SETUP = """
import json
from opsview.telemetry.models import SyncRun
from opsview.systems.models import ApiToken, System
from opsview.workspaces.models import Workspace
ws = Workspace.objects.create(name="Bench", slug="bench")
harvest = System.objects.create(workspace=ws, slug="harvest", name="Harvest", kind="time_tracking")
erp = System.objects.create(workspace=ws, slug="tryton", name="Tryton", kind="erp")
token, raw = ApiToken.issue(harvest, "bench ingest")
run = SyncRun.objects.create(workspace=ws, reported_by=harvest, flow="time_to_erp", source_system=harvest,
                             target_system=erp)
# A second firm whose one batch warms the web and task workers up, apart from what is counted.
warm = Workspace.objects.create(name="Warm-up", slug="warm-up")
warm_token = ApiToken.issue(System.objects.create(workspace=warm, slug="harvest", name="Harvest", kind="time_tracking"),
                            "bench warm-up")[1]
System.objects.create(workspace=warm, slug="tryton", name="Tryton", kind="erp")
print(json.dumps({"workspace": ws.pk, "harvest": harvest.pk, "erp": erp.pk, "run": run.pk, "token": raw,
                  "warm_token": warm_token}))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events to send (default 200000)")
    parser.add_argument("--batch", type=int, default=500, help="events per request (default 500)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("BENCH_WORKERS", DEFAULT_WORKERS)),
        help=f"gunicorn worker processes (env BENCH_WORKERS, default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("BENCH_THREADS", DEFAULT_THREADS)),
        help=f"threads per gunicorn worker; >1 uses the gthread worker (env BENCH_THREADS, default {DEFAULT_THREADS})",
    )
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "opsview_bench"), help="database to (re)create")
    parser.add_argument(
        "--detection",
        choices=("outbox", "inline"),
        default="outbox",
        help="INGEST_DETECTION: behind the response by the task cluster (default), or in each batch's transaction",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"),
        help="Redis for the task broker and the cache, as in production (env BENCH_REDIS_URL, default db 1 on "
        "127.0.0.1); '' uses the database as the broker and a file cache",
    )
    parser.add_argument(
        "--big-batches",
        type=int,
        default=BIG_BATCHES,
        help=f"batches of {BIG_ITEMS} items with {BIG_PAYLOAD_BYTES:,}-byte payloads sent last (default {BIG_BATCHES})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (and server log) afterwards")
    args = parser.parse_args()
    if args.events < 1 or args.batch < 1 or args.clients < 1 or args.workers < 1 or args.threads < 1:
        parser.error("--events, --batch, --clients, --workers and --threads must be positive")
    if args.redis and not redis_answers(args.redis):
        log(f"no Redis at {args.redis}: the task broker is the database and the cache a file cache")
        args.redis = ""
    return args


def redis_answers(url):
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return True
    except redis.RedisError:
        return False


# --- PostgreSQL ---------------------------------------------------------------------------------


def ensure_postgres():
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
        return
    except psycopg.OperationalError:
        pass
    version = max(os.listdir("/etc/postgresql"), key=lambda v: [int(part) for part in v.split(".")])
    log(f"PostgreSQL is down; starting cluster {version}/main")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
    for _ in range(30):
        try:
            psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
            return
        except psycopg.OperationalError:
            time.sleep(1)
    raise SystemExit("PostgreSQL did not come up on 127.0.0.1:5432")


def checkpoint(dsn):
    # Start each timed phase with no dirty buffers left over from the previous one.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


# --- CPU accounting -----------------------------------------------------------------------------
# The machine is shared, so wall-clock rates are noisy; CPU seconds spent per event by each side
# (gunicorn workers, PostgreSQL backends, this client) say where the time goes regardless.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def backend_pids(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU seconds used by gunicorn's workers, the database's backends and the task cluster's processes
    between start() and stop()."""

    def __init__(self, dsn, master_pid, cluster_pid=None):
        self.dsn, self.master_pid, self.cluster_pid = dsn, master_pid, cluster_pid

    def snapshot(self):
        workers = {pid: cpu_seconds(pid) for pid in children(self.master_pid)}
        backends = {pid: cpu_seconds(pid) for pid in backend_pids(self.dsn)}
        cluster = {pid: cpu_seconds(pid) for pid in process_tree(self.cluster_pid)} if self.cluster_pid else {}
        return workers, backends, cluster, time.process_time()

    def start(self):
        self.before = self.snapshot()

    def stop(self):
        after = self.snapshot()
        used = []
        for side in (0, 1, 2):
            used.append(sum(cpu - self.before[side].get(pid, 0.0) for pid, cpu in after[side].items()))
        used.append(after[3] - self.before[3])
        return used  # gunicorn, postgres, cluster, client


# --- the app ------------------------------------------------------------------------------------


def app_env(dsn, var_dir, detection, redis_url):
    env = dict(os.environ)
    for name in ("REDIS_URL", "Q_USE_REDIS", "Q_NAME"):
        env.pop(name, None)
    if redis_url:
        # Its own queue name: a task left over from another run never reaches this run's cluster.
        env.update(REDIS_URL=redis_url, Q_USE_REDIS="1", Q_NAME=f"bench-ingest-{os.getpid()}")
    env.update(
        INGEST_DETECTION=detection,
        DATABASE_URL=dsn,
        OPSVIEW_VAR_DIR=str(var_dir),
        OPSVIEW_DEBUG="0",
        SECRET_KEY="bench-only-not-secret",
        # A throw-away Fernet key: the benchmark stores no connector credentials.
        OPSVIEW_CREDENTIALS_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        OPSVIEW_SSL_REDIRECT="0",  # plain HTTP on the loopback
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="opsview.settings",
    )
    return env


def forget_drain_request(redis_url):
    """A drain asked for by an earlier run's last batch would keep this run's first batch from asking."""
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).delete(":1:queues:detection-drain-queued")


class Cluster(Child):
    """The django-q2 task cluster (``manage.py qcluster``)."""

    def __init__(self, env, log_path):
        super().__init__([PY, "manage.py", "qcluster"], env, log_path)


# --- the data -----------------------------------------------------------------------------------


def make_events(count, run_id):
    """Deterministic, varied events: mostly successes, some failures with an error, a few skips."""
    rng = random.Random(20261130)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    record_types = ("time_entry", "time_entry", "time_entry", "invoice", "project", "person")
    events = []
    for n in range(count):
        record_type = rng.choice(record_types)
        roll = rng.random()
        occurred = start + timedelta(seconds=n * 7 + rng.randrange(7))
        event = {
            "event_id": f"bench-{n:08d}",
            "run": run_id,
            "record_type": record_type,
            "external_id": f"{record_type[:2].upper()}-{rng.randrange(1_000_000)}",
            "source_system": "harvest",
            "target_system": "tryton",
            "outcome": "succeeded" if roll < 0.9 else "failed" if roll < 0.98 else "skipped",
            "payload": {
                "hours": rng.randrange(1, 33) / 4,
                "project": f"PR-{rng.randrange(400)}",
                "person": f"P-{rng.randrange(600)}",
                "work_date": occurred.date().isoformat(),
                "billable": roll < 0.8,
                "notes": "Sprint work on the integration backlog",
            },
            "correlation_id": f"job-{n // 5000}",
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if event["outcome"] == "failed":
            event["error_code"] = "PERIOD_CLOSED"
            event["error_message"] = f"Posting period {occurred:%Y-%m} is closed for company 1"
        events.append(event)
    return events


def copy_rows(events, ids):
    """The same events as rows of ``telemetry_syncevent``, payload as JSON text (encoded before timing)."""
    received = datetime.now(UTC)
    return [
        (
            ids["workspace"],
            e["event_id"],
            e["run"],
            e["record_type"],
            e["external_id"],
            ids["harvest"],
            ids["erp"],
            e["outcome"],
            e.get("error_code", ""),
            e.get("error_message", ""),
            orjson.dumps(e["payload"]).decode(),
            e["correlation_id"],
            datetime.fromisoformat(e["occurred_at"]),
            received,
        )
        for e in events
    ]


# --- the measurements ---------------------------------------------------------------------------


COPY_ROUNDS = 3


def time_copy(dsn, rows):
    """Rows per second of one plain COPY into a bare table, in one transaction, commit included."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_syncevent")
        conn.execute(
            "CREATE TABLE bench_copy_syncevent (LIKE telemetry_syncevent INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        conn.execute("ALTER TABLE bench_copy_syncevent ADD PRIMARY KEY (id)")
    checkpoint(dsn)
    statement = sql.SQL("COPY bench_copy_syncevent ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    with psycopg.connect(dsn) as conn:
        backend = conn.info.backend_pid
        db_cpu, client_cpu = cpu_seconds(backend), time.process_time()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        db_cpu, client_cpu = cpu_seconds(backend) - db_cpu, time.process_time() - client_cpu
        copied = conn.execute("SELECT count(*) FROM bench_copy_syncevent").fetchone()[0]
    if copied != len(rows):
        raise SystemExit(f"COPY stored {copied} rows, expected {len(rows)}")
    return elapsed, db_cpu, client_cpu


LONG_MESSAGE_BATCHES = 5
LONG_MESSAGE_CHARS = 4000


def long_message_bodies(run_id):
    """Batches of 100 failed events, each with a different one-word 4,000-character error message."""
    rng = random.Random(4000)
    letters = "abcdefghijklmnopqrstuvwxyz"
    bodies = []
    for b in range(LONG_MESSAGE_BATCHES):
        items = []
        for n in range(100):
            word = "".join(rng.choices(letters, k=LONG_MESSAGE_CHARS))
            items.append(
                {
                    "event_id": f"long-{b:02d}-{n:03d}",
                    "run": run_id,
                    "record_type": "time_entry",
                    "external_id": f"TE-long-{b}-{n}",
                    "source_system": "harvest",
                    "target_system": "tryton",
                    "outcome": "failed",
                    "error_code": "REJECTED",
                    "error_message": word,
                    "payload": {"hours": 1},
                    "occurred_at": "2026-11-20T10:00:00Z",
                }
            )
        bodies.append(orjson.dumps({"items": items}))
    return bodies


def time_long_messages(base, token, run_id):
    """The slowest of the long-message batches, in ms, each sent alone."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    worst = 0.0
    with httpx.Client(base_url=base, headers=headers, timeout=300) as http:
        for body in long_message_bodies(run_id):
            started = time.perf_counter()
            response = http.post(URL, content=body)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"a long-message batch failed: {response.status_code} {response.text[:300]}")
            worst = max(worst, elapsed)
    return worst


BIG_BATCHES = 8
BIG_ITEMS = 1000
BIG_PAYLOAD_BYTES = 10_000


def big_bodies(run_id, count):
    """Batches of ``BIG_ITEMS`` failed events with ``BIG_PAYLOAD_BYTES`` payloads: about 10 MB each, under
    INGEST_MAX_BODY_BYTES (10 MiB). Failures, because they are what detection reads a payload for."""
    bodies = []
    for b in range(count):
        items = []
        for n in range(BIG_ITEMS):
            item = {
                "event_id": f"big-{b:02d}-{n:04d}",
                "run": run_id,
                "record_type": "time_entry",
                "external_id": f"TE-big-{b}-{n}",
                "source_system": "harvest",
                "target_system": "tryton",
                "outcome": "failed",
                "error_code": "REJECTED",
                "error_message": "Rejected by the ERP",
                "payload": {"hours": 1, "notes": ""},
                "occurred_at": "2026-11-21T10:00:00Z",
            }
            item["payload"]["notes"] = "x" * (BIG_PAYLOAD_BYTES - len(orjson.dumps(item["payload"])))
            items.append(item)
        bodies.append(orjson.dumps({"items": items}))
    return bodies


def wait_detected(dsn, timeout=300):
    """Wait until every outbox note is done; seconds waited."""
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            pending = conn.execute("SELECT count(*) FROM queues_detectionoutbox WHERE done_at IS NULL").fetchone()[0]
            if not pending:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"{pending} outbox note(s) still pending after {timeout}s: the drain fell behind")
            time.sleep(0.05)


def detect_lags(dsn, workspace_id):
    """Each batch's delay from its note (written just before the batch commits) to the commit of the drain
    that detected from it, in ms, for the benchmark's workspace; and how many drain transactions there were
    (one moment marks all the notes of one)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM done_at - created_at) * 1000, done_at FROM queues_detectionoutbox "
            "WHERE workspace_id = %s",
            [workspace_id],
        ).fetchall()
    return sorted(float(lag) for lag, _ in rows), len({done for _, done in rows})


def percentile(values, share):
    return values[min(len(values) - 1, int(len(values) * share))] if values else 0.0


def expected_exceptions(events):
    """One exception per record that failed (by the key detection uses: target, source, type, external id)."""
    return len({(e["record_type"], e["external_id"]) for e in events if e["outcome"] == "failed"})


def send_all(base, token, bodies, clients):
    """POST every body from ``clients`` threads pulling from one queue; returns (elapsed, created, latencies)."""
    work = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    created, latencies, failures = [], [], []
    ready = threading.Barrier(clients + 1)

    def client():
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            ready.wait()
            while not failures:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                sent = time.perf_counter()
                try:
                    response = http.post(URL, content=body)
                except httpx.HTTPError as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    return
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    failures.append(f"HTTP {response.status_code}: {response.text[:500]}")
                    return
                created.append(response.json()["created"])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} request(s) failed; first: {failures[0]}")
    return elapsed, sum(created), latencies


def warm_up(base, token, workers, threads):
    """Let every worker import its views and open its database connection (GETs, nothing is written)."""
    headers = {"Authorization": f"Bearer {token}"}

    def hit():
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for _ in range(5):
                http.get("/api/v1/whoami/").raise_for_status()

    pool = [threading.Thread(target=hit) for _ in range(workers * threads * 2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def main():
    args = parse_args()
    dsn = f"{PG}/{args.db}"
    var_dir = Path(tempfile.mkdtemp(prefix="opsview-bench-"))
    env = app_env(dsn, var_dir, args.detection, args.redis)
    outbox = args.detection == "outbox"
    log(
        f"bench-ingest: {args.events} events in batches of {args.batch}, {args.clients} clients, "
        f"gunicorn {args.workers} worker(s) x {args.threads} thread(s), database {args.db}, detection "
        + ("behind the response (outbox, task cluster)" if outbox else "in each batch's transaction")
        + f", {'Redis' if args.redis else 'database'} broker"
    )
    ensure_postgres()
    try:
        recreate_database(args.db)
        started = time.perf_counter()
        manage(env, "migrate", "--no-input")
        ids = orjson.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        log(f"database migrated and seeded in {time.perf_counter() - started:.1f}s")

        started = time.perf_counter()
        events = make_events(args.events, ids["run"])
        bodies = [orjson.dumps({"items": events[i : i + args.batch]}) for i in range(0, len(events), args.batch)]
        rows = copy_rows(events, ids)
        size = sum(map(len, bodies))
        log(
            f"generated {len(events)} events: {len(bodies)} bodies, {size / 1e6:.1f} MB "
            f"({size / len(events):.0f} B/event), in {time.perf_counter() - started:.1f}s"
        )

        # Three times, the median kept: the first COPY on a new cluster also creates the WAL files that later ones
        # reuse, and one COPY of under a second moved by half from run to run.
        copies = sorted(time_copy(dsn, rows) for _ in range(COPY_ROUNDS))
        copy_elapsed, db_cpu, client_cpu = copies[len(copies) // 2]
        copy_rate = len(rows) / copy_elapsed
        log(
            f"COPY: {len(rows)} rows in {copy_elapsed:.2f}s = {copy_rate:,.0f} rows/s, the median of "
            + ", ".join(f"{len(rows) / elapsed:,.0f}" for elapsed, _, _ in copies)
            + " (bare table: same columns, PK on id, no FKs, no unique, no other indexes)"
        )
        log(f"CPU per row: postgres {db_cpu / len(rows) * 1e6:.1f} us, client {client_cpu / len(rows) * 1e6:.1f} us")
        forget_drain_request(args.redis)

        with (
            Gunicorn(env, args.workers, args.threads, var_dir / "gunicorn.log") as server,
            Cluster(env, var_dir / "cluster.log") if outbox else contextlib.nullcontext() as cluster,
        ):
            # The kernel keeps each process's peak (VmHWM): a sample every few seconds reads it, at little
            # cost to the run (each sample reads every process's /proc entry).
            web_memory = MemoryWatch(server.process.pid, every=3)
            task_memory = MemoryWatch(cluster.pid, every=3) if cluster else None
            server.wait_healthy()
            warm_up(server.base, ids["token"], args.workers, args.threads)
            # One batch of another firm's: the task cluster's worker imports detection and drains once.
            warm_events = [{**e, "run": None} for e in make_events(args.batch, None)]
            for e in warm_events:
                e["event_id"] = "warm-" + e["event_id"]
            send_all(server.base, ids["warm_token"], [orjson.dumps({"items": warm_events})], 1)
            if outbox:
                wait_detected(dsn)
            checkpoint(dsn)
            log(f"gunicorn up on {server.base}; sending {len(bodies)} requests")
            meter = CpuMeter(dsn, server.process.pid, cluster.pid if cluster else None)
            meter.start()
            elapsed, created, latencies = send_all(server.base, ids["token"], bodies, args.clients)
            caught_up = wait_detected(dsn) if outbox else 0.0
            app_cpu, db_cpu, task_cpu, client_cpu = meter.stop()
            with psycopg.connect(dsn) as conn:
                stored, opened = (
                    conn.execute(
                        f"SELECT count(*) FROM {table} WHERE workspace_id = %s", [ids["workspace"]]
                    ).fetchone()[0]
                    for table in ("telemetry_syncevent", "queues_exceptionitem")
                )
            lags, drains = detect_lags(dsn, ids["workspace"]) if outbox else ([0.0], 0)
            long_ms = time_long_messages(server.base, ids["token"], ids["run"])
            log(
                f"long messages: slowest of {LONG_MESSAGE_BATCHES} batches of 100 failed events with "
                f"{LONG_MESSAGE_CHARS:,}-character one-word messages: {long_ms:.0f} ms"
            )
            big = big_bodies(ids["run"], args.big_batches)
            if big:
                started = time.perf_counter()
                send_all(server.base, ids["token"], big, args.clients)
                if outbox:
                    wait_detected(dsn)
                log(
                    f"big batches: {len(big)} of {BIG_ITEMS} failed events with {BIG_PAYLOAD_BYTES:,}-byte payloads "
                    f"({max(map(len, big)) / 1e6:.1f} MB each) from {args.clients} clients, stored and detected in "
                    f"{time.perf_counter() - started:.1f}s"
                )
            web_peak = web_memory.stop()
            task_peak = task_memory.stop() if task_memory else 0.0
        rate = created / elapsed
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
        log(
            f"API: {created} events created in {elapsed:.2f}s = {rate:,.0f} events/s "
            f"({len(bodies) / elapsed:.1f} requests/s, latency p50 {p50:.0f} ms, p95 {p95:.0f} ms)"
        )
        log(f"telemetry_syncevent holds {stored} events; {opened} exceptions opened")
        lag_p99 = percentile(lags, 0.99)
        if outbox:
            log(
                f"detection behind the response: {len(lags)} batches in {drains} drain transactions; delay from a "
                f"batch's commit to its exceptions p50 {percentile(lags, 0.5):.0f} ms, p99 {lag_p99:.0f} ms, "
                f"max {lags[-1]:.0f} ms (target p99 < 2000); "
                f"caught up {caught_up * 1000:.0f} ms after the last response"
            )
        busy = app_cpu + db_cpu + task_cpu + client_cpu
        log(
            f"CPU per event: gunicorn {app_cpu / created * 1e6:.1f} us, postgres {db_cpu / created * 1e6:.1f} us, "
            f"task cluster {task_cpu / created * 1e6:.1f} us, client {client_cpu / created * 1e6:.1f} us; "
            f"{busy / (elapsed + caught_up):.2f} of {os.cpu_count()} cores busy with this run"
        )
        log(
            f"peak memory: a web worker {web_peak:.0f} MB"
            + (f", a task worker {task_peak:.0f} MB" if outbox else "")
            + " (limit 300 MB)"
        )
        if created != args.events or stored != args.events:
            raise SystemExit(f"expected {args.events} events, created {created}, stored {stored}")
        if opened != expected_exceptions(events):
            raise SystemExit(f"expected {expected_exceptions(events)} exceptions, found {opened}")
        ratio = rate / copy_rate
        log(f"ratio {ratio:.2f} (target >= 0.25): {'met' if ratio >= 0.25 else 'MISSED'}")
    finally:
        if args.keep:
            log(f"kept database {args.db} and {var_dir}")
        else:
            drop_database(args.db)
            shutil.rmtree(var_dir, ignore_errors=True)
    # The summary is the last line, after the clean-up messages.
    log(
        f"events_per_s={rate:.0f} copy_rows_per_s={copy_rate:.0f} ratio={ratio:.2f} "
        f"long_message_batch_ms={long_ms:.0f} detect_lag_p99_ms={lag_p99:.0f} web_worker_peak_mb={web_peak:.0f}"
        + (f" task_worker_peak_mb={task_peak:.0f}" if outbox else "")
    )


if __name__ == "__main__":
    main()
