"""What a reconciliation run writes, and what a person may ask of it: each run's exceptions, gaps and
balances in one transaction; "Run now" permission-checked and audited."""

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from opsview.audit.trail import record
from opsview.queues.classify import fingerprint
from opsview.queues.models import ExceptionItem, Kind, Resolution, Status
from opsview.queues.policies import policies_for
from opsview.queues.stakes import refresh_stakes_of
from opsview.queues.tracking import GroupSpec, ensure_groups, reopen_recurring, resolve_automatically
from opsview.reconcile.causes import BY_CODE
from opsview.reconcile.engine import reconcile
from opsview.reconcile.figures import period_suffix
from opsview.reconcile.models import Gap, ProjectBalance, ReconciliationRun, RunState, Trigger, active_runs
from opsview.workspaces.permissions import ACT, require

TASK = "opsview.reconcile.tasks.run_requested"


class RunRefused(Exception):
    """The run cannot be queued now; the message says why."""


def request_run(actor, workspace, period):
    """Queue a reconciliation of ``period`` now (operators and admins); audited. Returns the queued run."""
    require(actor, workspace, ACT)
    if active_runs(ReconciliationRun.objects.for_workspace(workspace).filter(period=period.label)).exists():
        raise RunRefused(f"A reconciliation of {period.label} is already queued or running; its result shows here.")
    run = ReconciliationRun.objects.create(
        workspace=workspace, period=period.label, trigger=Trigger.MANUAL, requested_by=actor
    )
    task_id = async_task(TASK, run.pk, task_name=f"reconcile {workspace.slug} {period.label}", group="reconcile")
    record(workspace, actor, "reconciliation.request", run, after={"period": period.label, "task": task_id})
    return run


def run_reconciliation(workspace, period, trigger, user=None, run=None, now=None):
    """Compare the systems over ``period`` and write what was found, in one transaction: new gaps open
    reconciliation exceptions, gaps found again refresh theirs, gaps no longer found resolve by themselves.
    Returns the ``ReconciliationRun``; a manual run is audited in its requester's name."""
    now = now or timezone.now()
    if run is None:
        run = ReconciliationRun.objects.create(
            workspace=workspace, period=period.label, trigger=trigger, requested_by=user, requested_at=now
        )
    ReconciliationRun.objects.filter(pk=run.pk).update(status=RunState.RUNNING, started_at=now)
    try:
        result = reconcile(workspace, period, now)
        with transaction.atomic():
            counts = _write(workspace, run, result, now)
            run.status, run.started_at, run.finished_at = RunState.SUCCEEDED, now, timezone.now()
            run.gaps_found = len(result.gaps)
            run.opened, run.reopened, run.resolved = counts
            run.totals, run.unreported = result.totals, result.unreported
            run.save()
            if trigger == Trigger.MANUAL:
                after = {"period": period.label, "gaps": run.gaps_found, "opened": run.opened, "resolved": run.resolved}
                record(workspace, run.requested_by or user, "reconciliation.run", run, after=after)
    except Exception as problem:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=RunState.FAILED, finished_at=timezone.now(), message=str(problem)[:2000]
        )
        raise
    return run


def _write(workspace, run, result, now):
    gaps = {g.key: g for g in result.gaps}
    ours = ExceptionItem.objects.for_workspace(workspace).filter(kind=Kind.RECONCILIATION)
    of_period = ours.filter(key__startswith="reconciliation:", key__endswith=period_suffix(result.period))
    existing = {x.key: x for x in of_period.filter(key__in=list(gaps))}
    stale = [
        x for x in of_period.pending().only("id", "key", "status", "record_type", "external_id") if x.key not in gaps
    ]
    note = f"Reconciliation run {run.pk} of {run.period} found both sides in agreement."
    resolve_automatically(workspace, stale, now, note)
    policy = policies_for(workspace)
    opened = _open(workspace, [g for k, g in gaps.items() if k not in existing], now, policy[Kind.RECONCILIATION].sla)
    back = [x for x in existing.values() if x.status == Status.RESOLVED and x.resolution == Resolution.AUTOMATIC]
    reopen_recurring(workspace, back, now, f"Reconciliation run {run.pk} found the gap again.", policy)
    _refresh(existing, gaps, now)
    items = {x.key: x for x in of_period.filter(key__in=list(gaps)).only("id", "key")}
    refresh_stakes_of(workspace.pk, [x.pk for x in stale] + [x.pk for x in items.values()])
    _keep_gaps(workspace, run, gaps, items, now)
    ProjectBalance.objects.bulk_create(
        [
            ProjectBalance(workspace=workspace, run=run, **vars(balance))
            for balance in result.projects
            if balance.project_id is not None or balance.gap_count
        ],
        batch_size=1000,
    )
    return opened, len(back), len(stale)


def _spec(gap):
    cause = BY_CODE[gap.cause]
    fp = fingerprint(gap.system_id, gap.record_type, gap.cause.upper(), cause.label, cause=gap.cause)
    return GroupSpec(fp, Kind.RECONCILIATION, gap.system_id, gap.record_type, gap.cause.upper(), cause.label)


def _search_text(gap):
    words = [gap.title, gap.number, gap.external_id, *gap.records[:20], f"{gap.money_at_stake:.2f}"]
    return " | ".join(dict.fromkeys(w for w in words if w)).lower()


def _open(workspace, new, now, sla):
    if not new:
        return 0
    specs = {}
    for gap in new:
        spec = _spec(gap)
        specs.setdefault(spec.fingerprint, spec)
    groups = ensure_groups(workspace, specs, now)
    items = [
        ExceptionItem(
            workspace=workspace,
            key=gap.key,
            group=groups[_spec(gap).fingerprint],
            kind=Kind.RECONCILIATION,
            system_id=gap.system_id,
            source_system_id=gap.source_system_id,
            record_type=gap.record_type,
            external_id=gap.external_id,
            title=gap.title,
            search_text=_search_text(gap),
            error_code=gap.cause.upper(),
            error_message=gap.message,
            amount=gap.money_at_stake,
            currency=gap.currency,
            record_date=gap.record_date,
            first_seen_at=now,
            last_seen_at=now,
            sla_due_at=now + sla,
            invoice_id=gap.invoice_id,
            project_id=gap.project_id,
            client_id=gap.client_id,
        )
        for gap in sorted(new, key=lambda g: g.key)
    ]
    ExceptionItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=500)
    return len(items)


def _refresh(existing, gaps, now):
    """A gap found again keeps its exception: its figures and money at stake are this run's."""
    changed = []
    for key, item in existing.items():
        gap = gaps[key]
        item.amount, item.error_message, item.title = gap.money_at_stake, gap.message, gap.title
        item.search_text, item.last_seen_at = _search_text(gap), now
        changed.append(item)
    ExceptionItem.objects.bulk_update(
        changed, ["amount", "error_message", "title", "search_text", "last_seen_at"], batch_size=500
    )


def _keep_gaps(workspace, run, gaps, items, now):
    """Each exception's two sides, as this run found them (one ``Gap`` row per exception)."""
    current = {g.exception_id: g for g in Gap.objects.for_workspace(workspace).filter(exception__in=items.values())}
    fresh, changed = [], []
    for key, found in gaps.items():
        item = items[key]
        row = current.get(item.pk) or Gap(workspace=workspace, exception_id=item.pk)
        row.period, row.cause, row.last_run, row.project_id = run.period, found.cause, run, found.project_id
        row.source_label, row.source_count = found.source.label[:200], found.source.count
        row.source_hours, row.source_amount = found.source.hours, found.source.amount
        row.target_label, row.target_count = found.target.label[:200], found.target.count
        row.target_hours, row.target_amount = found.target.hours, found.target.amount
        row.money_at_stake, row.currency = found.money_at_stake, found.currency
        row.records, row.records_total = found.records[: Gap.RECORD_LIMIT], found.records_total
        row.updated_at = now
        (changed if row.pk else fresh).append(row)
    Gap.objects.bulk_create(fresh, batch_size=500)
    fields = [f.name for f in Gap._meta.fields if f.name not in ("id", "workspace", "exception")]
    Gap.objects.bulk_update(changed, fields, batch_size=500)
