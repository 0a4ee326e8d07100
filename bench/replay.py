"""Replay benchmark: 2,000 replays through two django-q2 workers to a local webhook target, on PostgreSQL.

Run with ``make bench-replay`` (or ``.venv/bin/python bench/replay.py --help``). It

1. (re)creates a dedicated PostgreSQL database (``opsview_replay_bench`` on 127.0.0.1:5432, user postgres)
   and migrates it;
2. starts a webhook target on 127.0.0.1 (a threaded ``http.server``) that counts the idempotency
   keys it receives;
3. reports 2,000 failed sync events to that target through the queues' own detection, which opens
   2,000 exceptions, and asks for their replay as an operator would (dry run, then the confirmed count);
4. runs ``manage.py qcluster`` with ``Q_WORKERS=2`` until every replay is finished, then stops it;
5. drops the database (unless ``--keep``).

The last line is ``replays_per_s=N sent=N received=N duplicates=N``: replays finished per second of
cluster time, replays that succeeded, requests the target received, and keys it received more than once.
"""

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import ROOT, Receiver, drop_database, log, recreate_database, setup_django  # noqa: E402


def build(records, url):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from opsview.queues import sync_failures
    from opsview.queues.models import ExceptionItem
    from opsview.replay.services import request_replay
    from opsview.systems.models import System
    from opsview.telemetry.models import SyncEvent
    from opsview.workspaces.models import Membership, Workspace
    from opsview.workspaces.roles import Role

    workspace = Workspace.objects.create(name="Bench Replay", slug="bench-replay")
    source = System.objects.create(workspace=workspace, slug="harvest", name="Harvest", kind="time_tracking")
    target = System(
        workspace=workspace,
        slug="middleware",
        name="Middleware",
        kind="billing",
        vendor="webhook",
        connector_settings={"url": url},
    )
    target.credentials = {"secret": "bench-secret"}
    target.save()
    operator = get_user_model().objects.create_user("bench-operator")
    Membership.objects.create(user=operator, workspace=workspace, role=Role.OPERATOR)
    at = timezone.now() - timedelta(hours=1)
    events = [
        SyncEvent(
            workspace=workspace,
            event_id=f"bench-{i}",
            record_type="time_entry",
            external_id=f"TE-{i}",
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
    items = ExceptionItem.objects.for_workspace(workspace)
    plan = request_replay(operator, workspace, items, dry_run=True)
    started = time.monotonic()
    replays = request_replay(operator, workspace, items, confirm_count=plan.count, selection=plan.selection)
    log(f"requested {len(replays)} replays in {time.monotonic() - started:.2f} s (dry run showed {plan.count})")
    return len(replays)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="opsview_replay_bench")
    parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for the cluster")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    recreate_database(args.database)
    setup_django(args.database, var_dir="bench-replay")
    from django.db import connections

    from opsview.replay.models import ACTIVE, Replay, ReplayStatus

    target = Receiver()
    requested = build(args.records, target.url)
    connections.close_all()

    env = {**os.environ, "Q_WORKERS": str(args.workers), "LOG_LEVEL": "WARNING"}
    started = time.monotonic()
    cluster = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.monotonic() - started < args.timeout:
            if not Replay.objects.filter(status__in=ACTIVE).exists():
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        cluster.terminate()
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()
    statuses = Counter(Replay.objects.values_list("status", flat=True))
    sent = statuses.get(ReplayStatus.SUCCEEDED, 0)
    received = sum(target.accepted.values())
    duplicates = sum(1 for n in target.accepted.values() if n > 1)
    done = requested - sum(statuses.get(s, 0) for s in ACTIVE)
    log(f"{done} of {requested} replays finished in {elapsed:.1f} s with {args.workers} workers: {dict(statuses)}")
    if not args.keep:
        drop_database(args.database)
    log(f"replays_per_s={done / elapsed:.1f} sent={sent} received={received} duplicates={duplicates}")


if __name__ == "__main__":
    main()
