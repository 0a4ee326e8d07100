"""Replay benchmark: failed records replayed through the production profile to targets that fail as real ones do.

Run with ``make bench-replay`` (``BENCH_ARGS="--records 400 --slow-records 120"`` for a quick run; ``--help``). It

1. (re)creates a PostgreSQL database (``opsview_replay_bench`` on 127.0.0.1:5432, user postgres), migrates it,
   and sets up a workspace (rolled up, as a running deployment's is) with a webhook target system and an
   operator with a personal API token;
2. runs the phases below; in each, the target system points at a target of the phase's own on 127.0.0.1
   (``bench.support.Receiver``), N failed sync events to it are reported through the queues' own detection
   (N exceptions), and the production profile starts (``scripts/serve-production.sh``: gunicorn and the
   django-q2 cluster, Redis database ``--redis-db`` with a queue name of its own) with the phase's task
   workers. The operator's script asks for the replays through the operations API under gunicorn
   (``POST /api/v1/replays/`` with the personal token, 1,000 ids a request): the dry runs, then the confirmed
   counts. The clock runs from the first confirming request until no replay of the phase is left queued,
   running or waiting to retry;
3. drops the database (unless ``--keep``).

The phases:

- **faults** (the headline), 4 task workers: the target keeps one record per idempotency key, as an ERP with a
  unique reference does (a key it already stored is answered 200 and stored no more), and fails as real targets
  do after storing the record: 10 % of the requests are answered 500, 5 % only after the sender stopped
  waiting (``REPLAY_TIMEOUT_SECONDS``, ``--replay-timeout``: 0.5 s here, 30 s by default). Retries with backoff
  resend them with the same key. The peak memory of the task cluster's processes is watched
  (``bench.support.MemoryWatch``) and the CPU of gunicorn, the cluster and the database's backends counted;
- **slow target**: it answers every request in 200 ms, no faults; with 1, 2 and 4 task workers;
- **embedded broker**: as the first phase, with django-q2's ORM broker (``Q_USE_REDIS=0``, the embedded
  profile's) instead of Redis.

The last line is ``replays_per_s=N sent=N received=N duplicates=N deliveries=N slow_target_replays_per_s=N
task_worker_peak_mb=N embedded_replays_per_s=N cpu_ms_per_replay=N slow_by_workers=1:N,2:N,4:N``:
replays finished per second in the faults phase; replays opsview reports delivered (succeeded, or found
already there); distinct records the target stored; records it stored more than once (by record type and
external id: a resend under another key would do it); requests it answered, however late (more than records
once faults are injected); the slow target's replays per second with 4 workers; the largest peak resident
memory of one task cluster process; the embedded broker's replays per second; CPU milliseconds per replay of
gunicorn, the cluster and PostgreSQL's backends (not the target's nor Redis's). It exits 1 when a phase's time
runs out, when ``sent`` and ``received`` differ, a record is stored twice or a replay is not delivered, or when
the slow target's throughput does not grow with the workers.

Measured on the 2-core dev machine while three other benchmarks ran, default sizes (2,000 replays, 800 for each
slow phase), load average 5-6: ``replays_per_s=103.8 sent=2000 received=2000 duplicates=0 deliveries=2320
slow_target_replays_per_s=53.0 task_worker_peak_mb=95 embedded_replays_per_s=95.5 cpu_ms_per_replay=6.5
slow_by_workers=1:16.8,2:30.9,4:53.0`` (web 1.5 ms, task cluster 3.8 ms, PostgreSQL 1.2 ms of CPU a replay; of the
19 s, about 9 are the target's waits: 121 timeouts of 0.5 s and 320 retry backoffs, spread over 16 sends in
flight); at load average 9-11, 89.8/s (49.1/s against the slow target).

Before (a task per replay, each building an HTTP client with its own TLS context, five writes of its own, and
django-q2 saving every task's result), this bench gave 4.9 replays/s (83.5 ms of CPU a replay, 78 of them in
the task cluster) and 2.4, 5.2 and 4.4/s against the slow target with 1, 2 and 4 workers (load 7-13; the old
code has no replay timeout, so its "timeouts" were 1 s answers); the old bench (2 workers, ORM broker, a target
without faults that held each answer 40 ms for Nagle's algorithm) gave 7.8/s, 5.0/s on Redis (load 1-8).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    PG,
    MemoryWatch,
    Receiver,
    drop_database,
    log,
    process_tree,
    recreate_database,
    setup_django,
    start_production,
    stop_production,
)

MAX_IDS = 1000  # ids in one operations API request (opsview.api.people.MAX_IDS)
SLOW_SECONDS = 0.2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def setup():
    """The firm the phases replay in: a time tracking source, a webhook target, an operator with a personal token."""
    from django.contrib.auth import get_user_model

    from opsview.accounts.tokens import issue_personal_token
    from opsview.kpis.rollups import rollup_missing_days
    from opsview.systems.models import System
    from opsview.workspaces.models import Membership, Workspace
    from opsview.workspaces.roles import Role

    workspace = Workspace.objects.create(name="Bench Replay", slug="bench-replay")
    source = System.objects.create(workspace=workspace, slug="harvest", name="Harvest", kind="time_tracking")
    target = System(workspace=workspace, slug="middleware", name="Middleware", kind="billing", vendor="webhook")
    target.credentials = {"secret": "bench-secret"}
    target.save()
    operator = get_user_model().objects.create_user("bench-operator")
    Membership.objects.create(user=operator, workspace=workspace, role=Role.OPERATOR)
    _, token = issue_personal_token(operator, "month-end replay script")
    # A new workspace's first hourly roll-up computes six months of days: done here, as a deployment has it done
    # already, so that it does not run beside the replays (and hold the cluster's stop).
    started = time.monotonic()
    rollup_missing_days(workspaces=[workspace])
    log(f"the workspace's roll-ups took {time.monotonic() - started:.1f} s")
    return workspace, source, target, token


def add_failures(workspace, source, target, name, records, url):
    """``records`` failed sync events to ``target``, now at ``url``, through the queues' own detection; the
    ids of the exceptions they opened."""
    from django.utils import timezone

    from opsview.queues import sync_failures
    from opsview.queues.models import ExceptionItem
    from opsview.telemetry.models import SyncEvent

    target.connector_settings = {"url": url}
    target.save(update_fields=["connector_settings"])
    at = timezone.now() - timedelta(hours=1)
    events = [
        SyncEvent(
            workspace=workspace,
            event_id=f"bench-{name}-{i}",
            record_type="time_entry",
            external_id=f"TE-{name}-{i}",
            source_system=source,
            target_system=target,
            outcome="failed",
            error_code="HTTP_503",
            error_message="Service unavailable",
            payload={"hours": 7.5, "bill_rate": 150, "currency": "EUR"},
            occurred_at=at,
        )
        for i in range(records)
    ]
    for start in range(0, records, 1000):
        chunk = SyncEvent.objects.bulk_create(events[start : start + 1000])
        sync_failures.on_sync_events(workspace, chunk)
    mine = ExceptionItem.objects.for_workspace(workspace).filter(external_id__startswith=f"TE-{name}-")
    return list(mine.order_by("pk").values_list("pk", flat=True))


def cpu_seconds(pids):
    """User and system CPU seconds of each of ``pids`` so far, with that of children they waited for."""
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    return used


def backend_pids(database):
    import psycopg

    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {pid for (pid,) in rows}


class CpuMeter:
    """CPU seconds of the web (gunicorn), the task cluster and the database's backends meanwhile."""

    def __init__(self, server_pid, database):
        self.server_pid, self.cluster_pid, self.database = server_pid, cluster_pid(server_pid), database
        self.before = self.snapshot()

    def snapshot(self):
        server, cluster = process_tree(self.server_pid), process_tree(self.cluster_pid)
        return {
            "web": cpu_seconds(server - cluster),
            "cluster": cpu_seconds(cluster),
            "database": cpu_seconds(backend_pids(self.database)),
        }

    def used(self):
        """CPU seconds by part since the meter started."""
        after = self.snapshot()
        return {part: sum(cpu - self.before[part].get(pid, 0.0) for pid, cpu in after[part].items()) for part in after}


def cluster_pid(server_pid):
    """The task cluster's leader among the production script's processes (``manage.py qcluster``)."""
    for pid in sorted(process_tree(server_pid)):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"qcluster" in cmdline.read():
                    return pid
        except OSError:
            continue
    raise SystemExit("no task cluster among the production profile's processes")


def ask_for_replays(base, token, ids):
    """What the operator's script does: dry-run each 1,000 ids, then confirm each count. Seconds of the
    confirming requests, and when the first of them was sent."""
    chunks = [ids[i : i + MAX_IDS] for i in range(0, len(ids), MAX_IDS)]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300) as http:
        plans = []
        for chunk in chunks:
            dry = http.post("/api/v1/replays/", json={"ids": chunk, "dry_run": True})
            if dry.status_code != 200:
                raise SystemExit(f"the dry run answered {dry.status_code}: {dry.text[:300]}")
            plans.append(dry.json())
        started = time.monotonic()
        for chunk, plan in zip(chunks, plans, strict=True):
            body = {"ids": chunk, "confirm_count": plan["count"], "selection": plan["selection"]}
            queued = http.post("/api/v1/replays/", json=body)
            if queued.status_code != 202:
                raise SystemExit(f"the confirmation answered {queued.status_code}: {queued.text[:300]}")
    return started, time.monotonic() - started


class Phase:
    """One run: failures to a target of its own, the production profile with ``workers`` task workers, the replays."""

    def __init__(self, args, name, records, workers, receiver, firm, env=None, watch=False):
        self.args, self.name, self.records, self.workers = args, name, records, workers
        self.receiver, self.firm, self.env, self.watch = receiver, firm, env, watch
        self.ok, self.peak_mb, self.cpu_ms = True, 0.0, 0.0

    def run(self):
        from django.db import connections

        from opsview.replay.models import ACTIVE, Replay, ReplayStatus

        workspace, source, target, token = self.firm
        ids = add_failures(workspace, source, target, self.name, self.records, self.receiver.url)
        connections.close_all()
        env = {
            "Q_WORKERS": str(self.workers),
            "REPLAY_TIMEOUT_SECONDS": str(self.args.replay_timeout),
            # A replay that failed five tries in a row waits this long for its next (production: minutes).
            "REPLAY_BACKOFF_SECONDS": "1,2",
            **(self.env or {}),
        }
        var_dir = Path(tempfile.mkdtemp(prefix=f"opsview-bench-replay-{self.name}-"))
        process, log_file, base = start_production(
            self.args.database,
            var_dir,
            redis_db=self.args.redis_db,
            queue=f"opsview-bench-replay-{os.getpid()}-{self.name}",
            env=env,
        )
        try:
            memory = MemoryWatch(cluster_pid(process.pid)) if self.watch else None
            meter = CpuMeter(process.pid, self.args.database)
            started, self.request_s = ask_for_replays(base, token, ids)
            replays = Replay.objects.filter(exception_id__in=ids)
            deadline = started + self.args.timeout
            waiting = Replay.objects.filter(workspace=workspace, status__in=ACTIVE)  # earlier phases' are done
            while time.monotonic() < deadline and waiting.exists():
                time.sleep(0.1)
            self.elapsed = time.monotonic() - started
            self.cpu = {part: seconds * 1000 / len(ids) for part, seconds in meter.used().items()}
            self.cpu_ms = sum(self.cpu.values())
            if memory:
                self.peak_mb = memory.stop()
            connections.close_all()
        finally:
            clean = stop_production(process, log_file)
            if not clean:
                log(f"{self.name}: the production profile did not stop cleanly on TERM (see {var_dir}/server.log)")
        statuses = Counter(replays.values_list("status", flat=True))
        connections.close_all()
        self.sent = statuses[ReplayStatus.SUCCEEDED] + statuses[ReplayStatus.DUPLICATE]
        self.done = len(ids) - sum(statuses[s] for s in ACTIVE)
        self.rate = self.done / self.elapsed
        target = self.receiver
        self.received, self.duplicates, self.deliveries = len(target.stored), target.duplicates, target.requests
        log(
            f"{self.name}: {self.done} of {len(ids)} replays finished in {self.elapsed:.1f} s with {self.workers} "
            f"task workers ({self.rate:.1f}/s; confirming requests {self.request_s:.1f} s; CPU a replay: "
            + ", ".join(f"{part} {ms:.1f} ms" for part, ms in self.cpu.items())
            + f"): {dict(statuses)}; target: {self.deliveries} "
            f"requests, {self.received} records, {target.repeats} repeated keys, {target.errors} answered 500 after "
            f"storing, {target.hangs} answered after the timeout, {self.duplicates} stored twice"
        )
        problems = []
        if self.done < len(ids):
            problems.append(f"time ran out after {self.args.timeout} s with {len(ids) - self.done} replays unfinished")
        if self.sent != len(ids):
            problems.append(f"{len(ids) - self.sent} replays not delivered")
        if self.received != self.sent:
            problems.append(f"the target stored {self.received} records, opsview reports {self.sent} delivered")
        if self.duplicates:
            problems.append(f"{self.duplicates} records stored twice")
        for problem in problems:
            log(f"FAILED ({self.name}): {problem} (the server's log: {var_dir}/server.log)")
        self.ok = not problems
        if self.ok and clean:
            shutil.rmtree(var_dir, ignore_errors=True)
        self.receiver.stop()
        return self


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2_000, help="replays in the faults and embedded phases")
    parser.add_argument("--slow-records", type=int, default=800, help="replays in each slow target phase")
    parser.add_argument("--workers", type=int, default=4, help="task workers of the faults and embedded phases")
    parser.add_argument("--replay-timeout", type=float, default=0.5, help="REPLAY_TIMEOUT_SECONDS for the phases")
    parser.add_argument("--database", default="opsview_replay_bench")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", 2)))
    parser.add_argument("--timeout", type=int, default=600, help="seconds each phase may take")
    parser.add_argument("--skip-embedded", action="store_true", help="leave out the ORM broker phase")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    recreate_database(args.database)
    setup_django(args.database, var_dir="bench-replay")
    firm = setup()
    log(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    def faulty():
        hang = args.replay_timeout * 2  # well past the sender's timeout
        return Receiver(dedupe=True, error_after_store=0.10, hang_after_store=0.05, hang=hang)

    main_phase = Phase(args, "faults", args.records, args.workers, faulty(), firm, watch=True).run()
    slow = {}
    for workers in (1, 2, 4):
        target = Receiver(dedupe=True, delay=SLOW_SECONDS)
        slow[workers] = Phase(args, f"slow-{workers}", args.slow_records, workers, target, firm).run()
    phases = [main_phase, *slow.values()]
    embedded = None
    if not args.skip_embedded:
        embedded = Phase(args, "embedded", args.records, args.workers, faulty(), firm, env={"Q_USE_REDIS": "0"}).run()
        phases.append(embedded)
    rates = [slow[w].rate for w in (1, 2, 4)]
    grows = rates[0] < rates[1] < rates[2]
    if not grows:
        log(f"FAILED: the slow target's throughput does not grow with the workers: {rates}")
    log(f"load average at end: {os.getloadavg()[0]:.1f}")
    if not args.keep:
        drop_database(args.database)
    log(
        f"replays_per_s={main_phase.rate:.1f} sent={main_phase.sent} received={main_phase.received} "
        f"duplicates={main_phase.duplicates} deliveries={main_phase.deliveries} "
        f"slow_target_replays_per_s={slow[4].rate:.1f} task_worker_peak_mb={main_phase.peak_mb:.0f} "
        + (f"embedded_replays_per_s={embedded.rate:.1f} " if embedded else "")
        + f"cpu_ms_per_replay={main_phase.cpu_ms:.1f} "
        f"slow_by_workers={','.join(f'{w}:{slow[w].rate:.1f}' for w in (1, 2, 4))}"
    )
    if not (grows and all(phase.ok for phase in phases)):
        sys.exit(1)


if __name__ == "__main__":
    main()
