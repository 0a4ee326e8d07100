"""The soak's checks: every acknowledged event stored once, every exception and replay in a consistent state.

The invariants are listed in bench/soak.py's docstring; ``check`` returns the broken ones in words.
"""

from collections import Counter

from bench.support import log

MAX_TRIES = 30  # per request: a client gives up (and says so) rather than loop forever


def check(workspace, stats, receiver):
    """Returns (stored, lost, doubled, broken invariants)."""
    from django.db.models import CharField, Count, Exists, OuterRef, Q
    from django.db.models.functions import Cast

    from opsview.audit.models import AuditEntry
    from opsview.queues.models import PENDING, ExceptionItem, Resolution, Status
    from opsview.replay.models import ACTIVE, Replay, ReplayStatus
    from opsview.telemetry.models import SyncEvent

    broken = []
    events = SyncEvent.objects.filter(workspace=workspace, event_id__startswith="soak-")
    stored_ids = set(events.values_list("event_id", flat=True))
    stored = events.count()
    doubled = stored - len(stored_ids)
    lost = len(stats.acked_ids - stored_ids)
    if stats.created != stored:
        broken.append(f"the API said it created {stats.created} events; {stored} are stored")
    if stats.unacked_batches:
        broken.append(f"{stats.unacked_batches} batches were never acknowledged after {MAX_TRIES} tries")
    broken += [f"refused: {r}" for r in stats.rejected[:5]]

    items = ExceptionItem.objects.filter(workspace=workspace)
    audited = AuditEntry.objects.filter(action="exception.resolve", target_id=Cast(OuterRef("pk"), CharField()))
    inconsistent = {
        "open or snoozed with a resolution": items.filter(status__in=PENDING).filter(
            ~Q(resolution="") | Q(resolved_at__isnull=False)
        ),
        "resolved without a resolution or time": items.filter(status=Status.RESOLVED).filter(
            Q(resolution="") | Q(resolved_at__isnull=True)
        ),
        "resolved by a person without one named": items.filter(
            status=Status.RESOLVED, resolved_by__isnull=True
        ).exclude(resolution=Resolution.AUTOMATIC),
        "resolved by a person without an audit entry": items.filter(status=Status.RESOLVED)
        .exclude(resolution=Resolution.AUTOMATIC)
        .exclude(Exists(audited)),
        "snoozed without an end": items.filter(status=Status.SNOOZED, snoozed_until__isnull=True),
    }
    for what, rows in inconsistent.items():
        if n := rows.count():
            broken.append(f"{n} exceptions {what}")
    with_exception = set(items.values_list("external_id", flat=True))
    failed_ingested = set(events.filter(outcome="failed").values_list("external_id", flat=True).distinct())
    if missing := failed_ingested - with_exception:
        broken.append(f"{len(missing)} failed records have no exception, e.g. {sorted(missing)[:3]}")

    replays = Replay.objects.filter(workspace=workspace)
    if n := replays.filter(status__in=ACTIVE).count():
        broken.append(f"{n} replays still queued, running or waiting after the drain")
    if n := replays.values("exception").filter(status__in=ACTIVE).annotate(n=Count("id")).filter(n__gt=1).count():
        broken.append(f"{n} exceptions with more than one active replay")
    succeeded = replays.filter(status=ReplayStatus.SUCCEEDED).select_related("exception")
    for replay in succeeded:
        item = replay.exception  # open again only if its record failed after the replay
        if item.status != Status.RESOLVED and item.last_seen_at <= replay.finished_at:
            broken.append(f"replay {replay.pk} succeeded but exception {item.pk} is {item.status}")
    twice = {k: n for k, n in receiver.accepted.items() if n > 1}
    if twice:
        broken.append(f"{len(twice)} idempotency keys accepted more than once by the receiver")
    keys = set(succeeded.values_list("idempotency_key", flat=True))
    if unseen := keys - set(receiver.accepted):
        broken.append(f"{len(unseen)} succeeded replays never reached the receiver")
    log(
        f"exceptions: {dict(Counter(items.values_list('status', flat=True)))}; "
        f"replays: {dict(Counter(replays.values_list('status', flat=True)))}; receiver: {receiver.requests} "
        f"requests, {receiver.refused} answered 503, {len(receiver.accepted)} keys"
    )
    return stored, lost, doubled, broken
