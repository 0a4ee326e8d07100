"""Soak: the production profile under mixed load for a bounded time, then every event and exception checked.

Run with ``make bench-soak`` (``SOAK_SECONDS`` sets the duration, default 300). It

1. (re)creates a PostgreSQL database (``opsview_soak`` on 127.0.0.1:5432), migrates it and sets up one
   workspace: a time tracking system with four integration tokens, an ERP, a webhook target system
   pointing at a local receiver, two operators and an executive;
2. starts ``scripts/serve-production.sh`` (gunicorn and the django-q2 cluster, Redis broker at
   127.0.0.1:6379 in a database and queue name of its own) on a free loopback port;
3. for ``SOAK_SECONDS``: four clients ingest sync events (some failing, so exceptions open; some
   failing again after a fix) and time entry states, with duplicate events inside batches and whole
   batches resent, honouring 429 and retrying 5xx and dropped connections with the same body; two
   operators signed in through the login page claim, resolve and replay exceptions through the queue
   pages; an executive reads the dashboards; the cluster sends the replays to the receiver, which
   answers 503 to one request in twenty;
4. waits (bounded) for the replays to finish, stops the server with TERM, and checks the invariants
   below against the database; prints p50/p95/p99 per endpoint;
5. drops the database (unless ``--keep``).

Invariants checked (any broken one is printed and makes the exit status 1):

* every event id in a batch the API acknowledged is stored once: ``lost`` = acknowledged ids missing,
  ``doubled`` = ids stored more than once; the ``created`` counts the API returned add up to the rows;
* every exception is in a consistent state: open or snoozed ones carry no resolution, resolved ones carry
  a resolution, a time and (unless automatic) a person and an audit entry; ignored ones a note;
* every stored failed event of an ingested record has its exception;
* no replay is left queued, running or waiting after the drain, and at most one is active per exception;
* a succeeded replay's exception is resolved, unless its record failed again after the replay;
* the receiver accepted each idempotency key at most once, and every succeeded replay's key once.

The last line is ``sent=N stored=N lost=N doubled=N p99_ms=N`` (p99 over every request of the run).
``SOAK_REDIS_DB`` (default 13) chooses the Redis database; the queue name carries this process's id, so
two soaks, or a soak and another deployment on the same Redis, never take each other's tasks.
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.soak_checks import MAX_TRIES, check  # noqa: E402
from bench.support import (  # noqa: E402
    Receiver,
    drop_database,
    log,
    recreate_database,
    setup_django,
    start_production,
    stop_production,
)

PASSWORD = "soak-password-not-secret"
ERRORS = [
    ("PERIOD_CLOSED", "Posting period 2026-10 is closed"),
    ("", "Unknown project code 'ACME-01'"),
    ("TIMEOUT", "Read timed out after 30 s"),
    ("VALIDATION", "Tax code missing on line 1"),
]


class Stats:
    """Latencies per endpoint and the run's ledger of events, shared by every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.statuses = Counter()
        self.acked_ids, self.created, self.unacked_batches, self.rejected = set(), 0, 0, []
        self.failed_records = set()  # (external_id) of records whose failures the API acknowledged

    def timed(self, endpoint, send):
        started = time.perf_counter()
        response = send()
        with self.lock:
            self.latencies[endpoint].append(time.perf_counter() - started)
            self.statuses[(endpoint, response.status_code)] += 1
        return response


def percentile(values, fraction):
    """Nearest-rank percentile of ``values`` (sorted here), in milliseconds."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))] * 1000


# --- the setup --------------------------------------------------------------------------------------------------


def build(receiver_url, clients):
    from django.contrib.auth import get_user_model

    from opsview.records.models import Client, Person, Project
    from opsview.systems.models import ApiToken, System
    from opsview.workspaces.models import Membership, Workspace
    from opsview.workspaces.roles import Role

    workspace = Workspace.objects.create(name="Soak", slug="soak")
    harvest = System.objects.create(workspace=workspace, slug="harvest", name="Harvest", kind="time_tracking")
    System.objects.create(workspace=workspace, slug="tryton", name="Tryton", kind="erp")
    target = System(
        workspace=workspace,
        slug="middleware",
        name="Middleware",
        kind="billing",
        vendor="webhook",
        connector_settings={"url": receiver_url},
    )
    target.credentials = {"secret": "soak-secret"}
    target.save()
    client = Client.objects.create(workspace=workspace, system=harvest, external_id="C-1", name="Globex")
    person = Person.objects.create(workspace=workspace, system=harvest, external_id="P-1", name="Wendy Worker")
    Project.objects.create(
        workspace=workspace,
        system=harvest,
        external_id="PR-1",
        code="GX1",
        name="Globex Rollout",
        client=client,
        manager=person,
    )
    users = {}
    for name, role in (("olivia", Role.OPERATOR), ("otto", Role.OPERATOR), ("erin", Role.EXECUTIVE)):
        users[name] = get_user_model().objects.create_user(name, f"{name}@example.com", PASSWORD)
        Membership.objects.create(user=users[name], workspace=workspace, role=role)
    tokens = [ApiToken.issue(harvest, f"soak client {n}")[1] for n in range(clients)]
    return workspace, tokens


# --- the load ---------------------------------------------------------------------------------------------------


def ingest_client(number, base, token, deadline, stats):
    """Sends event batches (with duplicates and resends) and time entry states until the deadline."""
    rng = random.Random(number)
    headers = {"Authorization": f"Bearer {token}"}
    acked_items, failing, seq = [], [], 0

    def post(http, endpoint, url, body):
        for _ in range(MAX_TRIES):
            try:
                response = stats.timed(endpoint, lambda: http.post(url, json=body))
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            if response.status_code == 429:
                time.sleep(min(float(response.headers.get("Retry-After", 1)), 10))
                continue
            if response.status_code >= 500:
                time.sleep(0.5)
                continue
            return response
        return None

    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        batch_no = 0
        while time.monotonic() < deadline:
            batch_no += 1
            items = []
            for _ in range(rng.randint(20, 80)):
                seq += 1
                occurred = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                item = {
                    "event_id": f"soak-{number}-{seq}",
                    "record_type": "time_entry",
                    "source_system": "harvest",
                    "target_system": "middleware",
                    "occurred_at": occurred,
                    "correlation_id": f"job-{number}",
                    "payload": {"hours": rng.randint(1, 32) / 4, "bill_rate": 150, "currency": "EUR"},
                }
                roll = rng.random()
                if roll < 0.12:
                    code, message = rng.choice(ERRORS)
                    external_id = rng.choice(failing) if failing and rng.random() < 0.2 else f"TE-{number}-{seq}"
                    failing.append(external_id)
                    item.update(outcome="failed", external_id=external_id, error_code=code, error_message=message)
                else:
                    item.update(outcome="succeeded", external_id=f"TE-{number}-{seq}")
                items.append(item)
            if acked_items and rng.random() < 0.3:  # events this job already sent, inside a new batch
                items += rng.sample(acked_items, min(5, len(acked_items)))
            body = {"items": items}
            response = post(http, "POST /api/v1/sync-events/", "/api/v1/sync-events/", body)
            if response is None:
                with stats.lock:
                    stats.unacked_batches += 1
                continue
            if response.status_code != 200:
                with stats.lock:
                    stats.rejected.append(f"{response.status_code}: {response.text[:300]}")
                continue
            with stats.lock:
                stats.acked_ids.update(i["event_id"] for i in items)
                stats.created += response.json()["created"]
                stats.failed_records.update(i["external_id"] for i in items if i["outcome"] == "failed")
            acked_items += [i for i in items if i["event_id"].startswith(f"soak-{number}-")][-200:]
            acked_items = acked_items[-400:]
            if rng.random() < 0.1:  # a job that lost the answer sends the same batch again
                again = post(http, "POST /api/v1/sync-events/", "/api/v1/sync-events/", body)
                if again is not None and again.status_code == 200 and again.json()["created"] != 0:
                    with stats.lock:
                        stats.rejected.append(f"a resent batch created {again.json()['created']} events")
            if batch_no % 4 == 0:
                entries = [
                    {
                        "external_id": f"TE-S{number}-{rng.randint(1, 300)}",
                        "version": batch_no // 4,
                        "person": "P-1",
                        "project": "PR-1",
                        "work_date": "2026-11-16",
                        "hours": "6.25",
                        "billable": True,
                        "bill_rate": 140,
                        "currency": "EUR",
                        "status": rng.choice(["submitted", "approved"]),
                    }
                    for _ in range(20)
                ]
                for entry in entries:
                    if entry["status"] == "approved":
                        entry["approved_at"] = "2026-11-17T09:00:00Z"
                response = post(
                    http, "POST /api/v1/states/time-entries/", "/api/v1/states/time-entries/", {"items": entries}
                )
                if response is not None and response.status_code != 200:
                    with stats.lock:
                        stats.rejected.append(f"states {response.status_code}: {response.text[:300]}")


class Session:
    """A person signed in through the login page, cookies kept by hand (production marks them Secure)."""

    def __init__(self, base, username, stats):
        self.http, self.cookies, self.stats = httpx.Client(base_url=base, timeout=60), {}, stats
        self.get("/login/", "GET /login/")
        response = self.post("/login/", "POST /login/", {"username": username, "password": PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"{username} could not sign in: {response.status_code}")

    def _keep(self, response):
        for cookie in response.cookies.jar:
            self.cookies[cookie.name] = cookie.value
        return response

    def _headers(self):
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, url, endpoint):
        return self._keep(self.stats.timed(endpoint, lambda: self.http.get(url, headers=self._headers())))

    def post(self, url, endpoint, data):
        data = {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        return self._keep(self.stats.timed(endpoint, lambda: self.http.post(url, data=data, headers=self._headers())))


def operator(username, base, workspace, deadline, stats, errors):
    """Claims, resolves and replays open exceptions through the pages until the deadline."""
    from django.db import connection

    from opsview.queues.models import ExceptionItem, Status

    rng = random.Random(username)
    try:
        session = Session(base, username, stats)
        while time.monotonic() < deadline:
            session.get("/queues/", "GET /queues/")
            open_items = ExceptionItem.objects.filter(workspace=workspace, status=Status.OPEN, replays__isnull=True)
            pks = list(open_items.order_by("-id").values_list("pk", flat=True)[:50])
            if not pks:
                time.sleep(0.5)
                continue
            pk = rng.choice(pks)
            session.get(f"/queues/{pk}/", "GET /queues/<pk>/")
            session.post("/queues/actions/", "POST /queues/actions/ claim", {"action": "claim", "one": pk})
            if rng.random() < 0.5:
                session.post("/replays/request/", "POST /replays/request/", {"one": pk})
            else:
                session.post(
                    "/queues/actions/",
                    "POST /queues/actions/ resolve",
                    {
                        "action": "resolve",
                        "one": pk,
                        "resolution": "fixed_at_source",
                        "note": "Period reopened, posted at the source",
                    },
                )
            time.sleep(rng.uniform(0.1, 0.4))
    except Exception as error:  # the run reports it; the other threads carry on
        errors.append(f"operator {username}: {type(error).__name__}: {error}")
    finally:
        connection.close()


def reader(base, deadline, stats, errors):
    """The executive reads the dashboards and lists until the deadline."""
    pages = ["/", "/dashboards/executive/", "/dashboards/projects/", "/records/sync-events/", "/replays/", "/runs/"]
    try:
        session = Session(base, "erin", stats)
        while time.monotonic() < deadline:
            for page in pages:
                response = session.get(page, f"GET {page}")
                if response.status_code != 200:
                    errors.append(f"GET {page} answered {response.status_code}")
            time.sleep(0.2)
    except Exception as error:
        errors.append(f"reader: {type(error).__name__}: {error}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 300)))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", default="opsview_soak")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("SOAK_REDIS_DB", 13)))
    parser.add_argument("--drain", type=int, default=120, help="seconds to wait for replays after the load")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="opsview-soak-"))
    recreate_database(args.database)
    os.environ["OPSVIEW_VAR_DIR"] = str(var_dir)
    setup_django(args.database)
    from django.db import connections

    from opsview.queues.models import DetectionOutbox
    from opsview.replay.models import ACTIVE, Replay

    receiver = Receiver(failure_rate=0.05)  # one request in twenty answered 503
    workspace, tokens = build(receiver.url, args.clients)
    connections.close_all()
    process, log_file, base = start_production(
        args.database,
        var_dir,
        redis_db=args.redis_db,
        queue=f"opsview-soak-{os.getpid()}",
        # Short waits so that retried replays finish within the run; the production defaults are minutes.
        env={"Q_WORKERS": "2", "WEB_WORKERS": "2", "WEB_THREADS": "4", "REPLAY_BACKOFF_SECONDS": "2,5"},
    )
    log(
        f"soak: {args.seconds} s on {base} (gunicorn 2x4, 2 task workers, Redis db {args.redis_db}), "
        f"{args.clients} ingest clients, 2 operators, 1 dashboard reader; logs in {var_dir}"
    )
    stats, errors, clean_stop = Stats(), [], False
    try:
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=ingest_client, args=(n, base, t, deadline, stats)) for n, t in enumerate(tokens)
        ]
        threads += [
            threading.Thread(target=operator, args=(u, base, workspace, deadline, stats, errors))
            for u in ("olivia", "otto")
        ]
        threads.append(threading.Thread(target=reader, args=(base, deadline, stats, errors)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 600)
        drain_until = time.monotonic() + args.drain
        # The last batches' exceptions open behind their responses (INGEST_DETECTION=outbox): wait for them.
        while DetectionOutbox.objects.filter(done_at__isnull=True).exists() and time.monotonic() < drain_until:
            time.sleep(0.2)
        while Replay.objects.filter(workspace=workspace, status__in=ACTIVE).exists():
            if time.monotonic() > drain_until:
                break
            time.sleep(1)
        connections.close_all()
    finally:
        clean_stop = stop_production(process, log_file)
    if not clean_stop:
        errors.append("the production profile did not stop cleanly on TERM")

    log(f"{'endpoint':<40} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    everything = []
    for endpoint, values in sorted(stats.latencies.items()):
        everything += values
        log(
            f"{endpoint:<40} {len(values):>8} {percentile(values, 0.5):>8.0f} {percentile(values, 0.95):>8.0f} "
            f"{percentile(values, 0.99):>8.0f}"
        )
    answers = Counter()
    for (_, status), n in stats.statuses.items():
        answers[status] += n
    log(f"answers by status: {dict(sorted(answers.items()))}")
    stored, lost, doubled, broken = check(workspace, stats, receiver)
    broken = errors + broken
    for problem in broken:
        log(f"BROKEN: {problem}")
    log("all invariants hold" if not broken else f"{len(broken)} invariants broken")
    if not args.keep:
        drop_database(args.database)
        if not broken:
            shutil.rmtree(var_dir, ignore_errors=True)  # kept when something broke: the server's log is there
    p99 = percentile(everything, 0.99) if everything else 0
    log(f"sent={len(stats.acked_ids)} stored={stored} lost={lost} doubled={doubled} p99_ms={p99:.0f}")
    if broken or lost or doubled:
        sys.exit(1)


if __name__ == "__main__":
    main()
