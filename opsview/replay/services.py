"""Asking for replays: a dry run of what would be sent, and the request that queues them.

``request_replay`` takes the actor, the workspace and the exceptions (a queryset: one, a
selection or a whole group), like the queue actions. It plans in a bounded number of
queries, refuses a bulk replay whose confirmed count or selection no longer matches the
dry run, creates the replays and queues one task each.
"""

import hashlib
import uuid
from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import transaction

from opsview.audit.trail import record, record_many
from opsview.queues.models import PENDING, SYNC_KINDS, ExceptionItem
from opsview.queues.services import ActionRefused
from opsview.replay import payloads, tasks
from opsview.replay.models import ACTIVE, Replay, ReplayStatus
from opsview.systems.connection import connection_problem, not_connected_message
from opsview.workspaces.permissions import ACT, require

NOT_REPLAYABLE_TYPES = ("pull",)  # a pull's own failure is fixed by the next pull, not by sending anything


def idempotency_key(workspace_id, system_id, record_type, external_id, payload):
    """The same for every send of one record with one payload version: retries and double clicks share it."""
    version = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    ident = f"{workspace_id}|{system_id}|{record_type}|{external_id}|{version}"
    return "opsview-replay-" + hashlib.sha256(ident.encode()).hexdigest()[:48]


@dataclass
class Planned:
    """One exception's replay as it would be sent."""

    item: ExceptionItem
    original: object
    edited: object
    payload: dict
    mappings: list
    key: str


@dataclass
class Plan:
    """A dry run: what would be sent, to which system; ``selection`` fingerprints the exceptions chosen."""

    rows: list = field(default_factory=list)
    skipped: int = 0
    not_connected: list = field(default_factory=list)  # (system, what a person reads), refused before queueing
    blocked: int = 0  # exceptions left out because their system is not connected

    @property
    def count(self):
        return len(self.rows)

    @property
    def selection(self):
        ids = ",".join(str(p.item.pk) for p in sorted(self.rows, key=lambda p: p.item.pk))
        return hashlib.sha256(ids.encode()).hexdigest()[:16]

    @property
    def systems(self):
        return sorted({p.item.system.name for p in self.rows})


def replayable(actor, workspace, items):
    """The visible, pending sync exceptions of ``items`` that have no replay under way."""
    return (
        ExceptionItem.objects.visible_to(actor, workspace)
        .filter(pk__in=items.values("pk"), status__in=PENDING, kind__in=SYNC_KINDS)
        .exclude(record_type__in=NOT_REPLAYABLE_TYPES)
        .exclude(replays__status__in=ACTIVE)
    )


def plan_replay(actor, workspace, items, payload_override=None):
    """What a replay of ``items`` would send; ``payload_override`` (one item only) is the edited payload."""
    require(actor, workspace, ACT)
    chosen = list(items.values_list("pk", flat=True)) if hasattr(items, "values_list") else [i.pk for i in items]
    rows = list(
        replayable(actor, workspace, ExceptionItem.objects.filter(pk__in=chosen))
        .select_related("system", "source_system", "last_event")
        .order_by("pk")
    )
    not_connected = {}
    for system in {r.system_id: r.system for r in rows}.values():
        problem = connection_problem(system)
        if problem:
            not_connected[system.pk] = (system, not_connected_message(system, problem))
    blocked = sum(1 for r in rows if r.system_id in not_connected)
    rows = [r for r in rows if r.system_id not in not_connected]
    if payload_override is not None and len(rows) != 1:
        if not_connected:
            raise ActionRefused(" ".join(message for _, message in not_connected.values()))
        raise ActionRefused("An edited payload replays one exception at a time.")
    mappings = payloads.mappings_for(workspace, {(r.source_system_id, r.system_id) for r in rows})
    plan = Plan(
        skipped=len(set(chosen)) - len(rows) - blocked, not_connected=list(not_connected.values()), blocked=blocked
    )
    for item in rows:
        pair_mappings = mappings[(item.source_system_id, item.system_id)]
        original = payloads.original_payload(item)
        base = payloads.with_identity(original, item)
        edited = None
        if payload_override is not None:
            edited = payload_override
            if isinstance(edited, str):
                shown, _ = payloads.apply_mappings(base, pair_mappings, item.record_type)  # what the editor showed
                edited = payloads.parse_edit(edited, payloads.schema_for(item.system.vendor, item.record_type), shown)
            base = payloads.with_identity(edited, item)
        payload, applied = payloads.apply_mappings(base, pair_mappings, item.record_type)
        key = idempotency_key(workspace.pk, item.system_id, item.record_type, item.external_id, payload)
        plan.rows.append(Planned(item, original, edited, payload, applied, key))
    return plan


class AlreadyQueued(ActionRefused):
    """Another person's replay of the same exceptions was queued first."""


def check_confirmation(plan, confirm_count, selection):
    """Refuse, saying what is wrong, unless ``confirm_count`` and ``selection`` repeat the dry run's."""
    typed = str(confirm_count if confirm_count is not None else "").strip()
    if not typed:
        raise ActionRefused(f"Type the number of records to replay ({plan.count}) to confirm.")
    if not (typed.isascii() and typed.isdigit()):
        raise ActionRefused(f"'{typed}' is not a number: type {plan.count}, the number of records to replay.")
    if selection != plan.selection:
        raise ActionRefused(
            f"The records changed since the dry run: {plan.count} would be replayed now. Check them and confirm again."
        )
    if int(typed) != plan.count:
        raise ActionRefused(f"You typed {typed}, but {plan.count} records would be replayed. Type {plan.count}.")


def request_replay(
    actor, workspace, items, payload_override=None, dry_run=False, confirm_count=None, selection=None, plan=None
):
    """Plan the replay of ``items``; unless ``dry_run``, create and queue it. Returns the plan or the replays.

    A bulk replay (more than one exception) runs only when ``confirm_count`` and ``selection`` repeat
    the dry run's count and selection: what the operator confirmed is what is sent. ``plan`` is this
    person's plan of the same ``items`` made a moment ago (the operations API plans every firm's part
    before confirming the whole), not made again.
    """
    plan = plan or plan_replay(actor, workspace, items, payload_override)
    if dry_run:
        return plan
    _refuse_unless_sendable(plan)
    if plan.count > 1:
        check_confirmation(plan, confirm_count, selection)
    with transaction.atomic():
        return _queue(actor, workspace, plan, uuid.uuid4())


def request_replay_across(actor, parts, dry_run=False, confirm_count=None, selection=None):
    """The replay of a selection that spans the person's firms: ``parts`` is ``[(workspace, items)]``, one per
    firm. Each firm's part is planned with its own permission check, mappings and connected systems; the
    dry run and the confirmation are of the whole (the count typed is the total). Returns the plan (the
    firms' rows together) or the replays, one batch across the firms, each audited in its own firm.

    All or nothing: a firm whose system is not connected refuses the whole request.
    """
    plans = [(workspace, plan_replay(actor, workspace, items)) for workspace, items in parts]
    plan = Plan(
        rows=[row for _, p in plans for row in p.rows],
        skipped=sum(p.skipped for _, p in plans),
        not_connected=[nc for _, p in plans for nc in p.not_connected],
        blocked=sum(p.blocked for _, p in plans),
    )
    if dry_run:
        return plan
    _refuse_unless_sendable(plan)
    if plan.count > 1:
        check_confirmation(plan, confirm_count, selection)
    batch = uuid.uuid4()
    with transaction.atomic():
        replays = []
        for workspace, firm_plan in plans:
            if firm_plan.rows:
                try:
                    replays += _queue(actor, workspace, firm_plan, batch)
                except AlreadyQueued:
                    continue  # this firm's part was queued by someone else: the others still go
        if not replays:
            raise AlreadyQueued(
                "Someone else queued these replays a moment ago; nothing was queued twice. Follow them under Replays."
            )
    return replays


def _refuse_unless_sendable(plan):
    if plan.not_connected:
        raise ActionRefused(" ".join(message for _, message in plan.not_connected) + " Nothing was queued.")
    if not plan.rows:
        raise ActionRefused("Nothing to replay: none of these is an open sync failure without a replay under way.")


def _queue(actor, workspace, plan, batch):
    """Create the replays of ``plan`` (one firm's) in ``batch``, audit them in ``workspace`` and queue their
    tasks; inside the caller's transaction."""
    Replay.objects.bulk_create(
        [
            Replay(
                workspace=workspace,
                exception=p.item,
                batch=batch,
                target_system_id=p.item.system_id,
                record_type=p.item.record_type,
                external_id=p.item.external_id,
                idempotency_key=p.key,
                original_payload=p.original,
                edited_payload=p.edited,
                payload=p.payload,
                mappings_applied=p.mappings,
                max_attempts=settings.REPLAY_MAX_ATTEMPTS,
                requested_by=actor,
            )
            for p in plan.rows
        ],
        ignore_conflicts=True,  # a replay requested at the same moment by someone else stays the only one
        batch_size=500,
    )
    replays = list(Replay.objects.filter(workspace=workspace, batch=batch).order_by("pk"))
    if not replays:
        # Everything was queued by someone else between the dry run and this confirmation.
        raise AlreadyQueued(
            f"Someone else queued {'this replay' if plan.count == 1 else 'these replays'} a moment ago; "
            "nothing was queued twice. Follow them under Replays."
        )
    created = {r.exception_id for r in replays}
    done = [p for p in plan.rows if p.item.pk in created]
    for p in done:
        if p.edited is not None:
            record(
                workspace,
                actor,
                "exception.edit_payload",
                p.item,
                before={"payload": p.original},
                after={"payload": p.edited},
                note="Edited before replaying.",
            )
    record_many(
        workspace,
        actor,
        "exception.replay",
        [
            (p.item, None, {"replay": ReplayStatus.QUEUED, "to": p.item.system.name, "idempotency_key": p.key})
            for p in done
        ],
    )
    tasks.enqueue([(replay.pk, replay.target_system_id) for replay in replays])
    return replays
