"""What each kind of rule finds in a workspace now: one function per kind, a few queries each, never one per item.

Each returns ``Finding``s: the subject, what the message says, and the filtered page that shows what it is
about. Whether a finding is sent (the throttle, a group that did not grow) is decided in ``services``.
The definitions are the queues' and the KPIs' own: pending and past SLA are ``ExceptionItem``'s querysets,
money at stake is ``queues.money``, the sync success rate is the KPI's events and ratio, unapproved time
is the KPI's ``unapproved_entries``.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone

from opsview.alerts.models import RuleKind
from opsview.alerts.throttle import last_alerts, quiet
from opsview.kpis.approval import unapproved_entries
from opsview.kpis.expressions import hours
from opsview.kpis.scope import Scope
from opsview.kpis.sync import success_rate, sync_events_behind
from opsview.queues.models import ExceptionGroup, ExceptionItem
from opsview.queues.money import money_at_stake, stake_money
from opsview.systems.models import ConnectionStatus, System
from opsview.telemetry.models import Outcome, SyncRun

# Under this many succeeded-or-failed events in the window a rate says little: two failures of two
# are not an outage worth a message.
MIN_SYNC_EVENTS = 10
# People listed by name in an unapproved-time reminder; the page behind it lists them all.
MAX_PEOPLE = 15


@dataclass
class Finding:
    """One subject a rule would alert about now.

    ``measure`` is the figure it fired on (to tell a group that grew since); ``manager_id`` the user who
    manages every project it concerns, when there is one such user, so that manager may receive it.
    """

    subject: str
    title: str
    lines: list = field(default_factory=list)
    link: str = ""
    measure: Decimal | None = None
    manager_id: int | None = None


def local_now(workspace, now):
    return timezone.localtime(now, ZoneInfo(workspace.time_zone))


def _group_items(rule):
    items = ExceptionItem.objects.for_workspace(rule.workspace_id).pending()
    if rule.system_id:
        items = items.filter(system_id=rule.system_id)
    if rule.exception_kind:
        items = items.filter(kind=rule.exception_kind)
    return items


def _per_group(items, **extra):
    """Per group: items, the crude sum of amounts, and the one managing user when every item has the same."""
    return {
        row["group_id"]: row
        for row in items.order_by()
        .values("group_id")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            managers=Count("project__manager__user", distinct=True),
            manager=Max("project__manager__user"),
            unmanaged=Count("id", filter=Q(project__manager__user__isnull=True)),
            **extra,
        )
    }


def _unquiet(rule, rows, now):
    """``rows`` by group id without the groups the throttle keeps quiet."""
    hushed = quiet(rule, [f"group:{group_id}" for group_id in rows], now)
    return {group_id: row for group_id, row in rows.items() if f"group:{group_id}" not in hushed}


def _manager(row):
    return row["manager"] if row["managers"] == 1 and row["unmanaged"] == 0 else None


def _groups(ids):
    return ExceptionGroup.objects.select_related("system").in_bulk(list(ids))


def _group_lines(group, items, stake):
    return [
        f"{group.get_kind_display()} in {group.system.name}: {group.title}"[:300],
        f"{items:,} exception{'s' if items != 1 else ''} waiting, {stake_money(stake)} at stake",
    ]


def group_link(group_id, **params):
    path = reverse("queue-group", args=[group_id])
    return f"{path}?{urlencode(params)}" if params else path


def new_groups(rule, now):
    """Groups with open or snoozed exceptions that did not exist at the rule's first check."""
    if rule.baseline_group_id is None:
        return []
    items = _group_items(rule).filter(group_id__gt=rule.baseline_group_id)
    rows = _unquiet(rule, _per_group(items), now)
    groups = _groups(rows)
    found = []
    for group_id, row in sorted(rows.items()):
        group = groups[group_id]
        stake = money_at_stake(items.filter(group_id=group_id))
        lines = _group_lines(group, row["n"], stake)
        lines.append(f"First seen {local_now(rule.workspace, group.first_seen_at):%Y-%m-%d %H:%M}")
        found.append(
            Finding(
                f"group:{group_id}",
                f"New exception group: {group.get_kind_display()} in {group.system.name}",
                lines,
                group_link(group_id, status="pending"),
                Decimal(row["n"]),
                _manager(row),
            )
        )
    return found


def _stake_in(stake, currency):
    # SQLite's SUM of the raw query answers a float: compared with a threshold in cents, as money.
    amounts = (Decimal(str(r["amount"])) for r in stake["by_currency"] if r["currency"] == currency)
    return sum(amounts, Decimal(0)).quantize(Decimal("0.01"))


def grown_groups(rule, now):
    """Groups holding at least ``items`` open or snoozed exceptions, or ``money`` at stake in the workspace's
    currency; ``measure`` is the item count (the money when only money is set)."""
    items = _group_items(rule)
    rows = _per_group(items)
    currency = rule.workspace.currency
    # Only groups past a threshold are looked at further: the throttle's query then reads a few subjects.
    candidates = {}
    for group_id, row in rows.items():
        by_items = rule.items is not None and row["n"] >= rule.items
        # The crude sum counts a record once per exception and every currency: never below the money at stake.
        maybe_money = rule.money is not None and (row["total"] or 0) >= rule.money
        if by_items or maybe_money:
            candidates[group_id] = by_items
    candidates = _unquiet(rule, candidates, now)
    before = last_alerts(rule, [f"group:{group_id}" for group_id in candidates])
    groups = _groups(candidates)
    found = []
    for group_id, by_items in sorted(candidates.items()):
        row, group = rows[group_id], groups[group_id]
        stake = money_at_stake(items.filter(group_id=group_id))
        money = _stake_in(stake, currency)
        by_money = rule.money is not None and money >= rule.money
        measure = Decimal(row["n"]) if rule.items is not None else money
        earlier = before.get(f"group:{group_id}")
        # Past the threshold is not news by itself: a group alerts again only once it grew since.
        if not (by_items or by_money) or (earlier and earlier[1] is not None and measure <= earlier[1]):
            continue
        passed = []
        if by_items:
            passed.append(f"{rule.items:,} items")
        if by_money:
            passed.append(stake_money({"by_currency": [{"amount": rule.money, "currency": currency}]}))
        found.append(
            Finding(
                f"group:{group_id}",
                f"Exception group past {' and '.join(passed)}: {group.get_kind_display()} in {group.system.name}",
                _group_lines(group, row["n"], stake),
                group_link(group_id, status="pending"),
                measure,
                _manager(row),
            )
        )
    return found


def late_groups(rule, now):
    """Groups with exceptions past their SLA (``ExceptionItem.past_sla``), with the latest deadline passed."""
    items = _group_items(rule).past_sla(now)
    rows = _unquiet(rule, _per_group(items, latest=Max("sla_due_at"), oldest=Min("sla_due_at")), now)
    before = last_alerts(rule, [f"group:{group_id}" for group_id in rows])
    # A group alerts when one of its exceptions passed its SLA since its last alert: not for the same ones again.
    rows = {
        group_id: row
        for group_id, row in rows.items()
        if f"group:{group_id}" not in before or row["latest"] > before[f"group:{group_id}"][0]
    }
    groups = _groups(rows)
    found = []
    for group_id, row in sorted(rows.items()):
        group = groups[group_id]
        stake = money_at_stake(items.filter(group_id=group_id))
        overdue = now - row["oldest"]
        found.append(
            Finding(
                f"group:{group_id}",
                f"Past SLA: {row['n']:,} exception{'s' if row['n'] != 1 else ''} in "
                f"{group.get_kind_display()} in {group.system.name}",
                [
                    f"{group.get_kind_display()} in {group.system.name}: {group.title}"[:300],
                    f"{row['n']:,} past SLA, {stake_money(stake)} at stake",
                    f"The oldest is {_duration(overdue)} past its SLA",
                ],
                group_link(group_id, past_sla=1),
                Decimal(row["n"]),
                _manager(row),
            )
        )
    return found


def _duration(delta):
    total = int(delta.total_seconds() // 3600)
    return f"{total // 24} days" if total >= 48 else f"{total} hour{'s' if total != 1 else ''}"


def _systems(rule):
    systems = System.objects.for_workspace(rule.workspace_id).filter(is_active=True)
    return systems.filter(pk=rule.system_id) if rule.system_id else systems


def low_sync_success(rule, now):
    """Systems whose sync success rate (succeeded ÷ succeeded + failed record events sent to them, the KPI's
    definition) over the last ``window_hours`` is under ``success_percent``, from at least MIN_SYNC_EVENTS."""
    since = now - timedelta(hours=rule.window_hours)
    today = local_now(rule.workspace, now).date()
    first_day = local_now(rule.workspace, since).date()
    scope = Scope(workspace=rule.workspace, start=first_day, end=today, now=now)
    events = sync_events_behind(scope).filter(occurred_at__gte=since, occurred_at__lte=now)
    if rule.system_id:
        events = events.filter(target_system_id=rule.system_id)
    rows = (
        events.order_by()
        .values("target_system_id")
        .annotate(
            succeeded=Count("id", filter=Q(outcome=Outcome.SUCCEEDED)),
            failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
        )
    )
    threshold = Decimal(rule.success_percent) / 100
    low = {}
    for row in rows:
        counted = row["succeeded"] + row["failed"]
        rate = success_rate(row["succeeded"], row["failed"])
        if counted >= MIN_SYNC_EVENTS and rate is not None and Decimal(str(rate)) < threshold:
            low[row["target_system_id"]] = (row, Decimal(str(rate)))
    hushed = quiet(rule, [f"system:{system_id}" for system_id in low], now)
    low = {system_id: found for system_id, found in low.items() if f"system:{system_id}" not in hushed}
    names = dict(_systems(rule).filter(pk__in=low).values_list("pk", "name"))
    found = []
    for system_id, (row, rate) in sorted(low.items()):
        if system_id not in names:
            continue  # an inactive system says nothing
        link = (
            reverse("sync-events")
            + "?"
            + urlencode(
                {"target": system_id, "outcome": "failed", "start": first_day.isoformat(), "end": today.isoformat()}
            )
        )
        found.append(
            Finding(
                f"system:{system_id}",
                f"Sync success to {names[system_id]} at {rate:.0%} over {rule.window_hours} hours",
                [
                    f"{row['succeeded']:,} records succeeded and {row['failed']:,} failed in the last "
                    f"{rule.window_hours} hours ({rate:.1%}; alert under {rule.success_percent}%)",
                ],
                link,
                rate,
            )
        )
    return found


def silent_systems(rule, now):
    """Active systems no sync run was reported by, from or to in the last ``silent_hours`` (nor since they
    were added, for systems that never had one)."""
    since = now - timedelta(hours=rule.silent_hours)
    systems = {s.pk: s for s in _systems(rule).filter(created_at__lt=since)}
    hushed = quiet(rule, [f"system:{system_id}" for system_id in systems], now)
    systems = {system_id: s for system_id, s in systems.items() if f"system:{system_id}" not in hushed}
    if not systems:
        return []
    runs = SyncRun.objects.for_workspace(rule.workspace_id)
    last = {}
    for column in ("reported_by", "source_system", "target_system"):
        for system_id, at in (
            runs.filter(**{f"{column}_id__in": list(systems)})
            .order_by()
            .values_list(f"{column}_id")
            .annotate(at=Max("started_at"))
        ):
            last[system_id] = max(at, last.get(system_id, at))
    found = []
    for system_id, system in sorted(systems.items()):
        seen = last.get(system_id)
        if seen is not None and seen >= since:
            continue
        if seen is None:
            fact = f"No sync run since it was added on {local_now(rule.workspace, system.created_at):%Y-%m-%d}"
        else:
            fact = (
                f"Last sync run started {local_now(rule.workspace, seen):%Y-%m-%d %H:%M}, {_duration(now - seen)} ago"
            )
        found.append(
            Finding(
                f"system:{system_id}",
                f"{system.name} silent: no sync run for {rule.silent_hours} hours",
                [fact, f"Expected at least one every {rule.silent_hours} hours"],
                reverse("sync-runs") + "?" + urlencode({"system": system_id}),
            )
        )
    return found


def failing_connections(rule, now):
    """Active systems whose connection is failing: the last connection test, pull, replay or token refresh
    could not reach them or was refused (``System.connection_status``), with the system's own words."""
    systems = {s.pk: s for s in _systems(rule).connected().filter(connection_status=ConnectionStatus.FAILING)}
    hushed = quiet(rule, [f"system:{system_id}" for system_id in systems], now)
    found = []
    for system_id, system in sorted(systems.items()):
        if f"system:{system_id}" in hushed:
            continue
        lines = [system.connection_detail or "It could not be reached."]
        if system.connection_checked_at:
            lines.append(f"Since {local_now(rule.workspace, system.connection_checked_at):%Y-%m-%d %H:%M}")
        found.append(
            Finding(
                f"system:{system_id}",
                f"{system.name}: connection failing",
                lines,
                reverse("system-edit", args=[system_id]),
            )
        )
    return found


def next_cutoff(workspace, today):
    """The billing cut-off on or after ``today``: this month's, or next month's once it has passed."""
    cutoff = workspace.billing_cutoff(today.year, today.month)
    if cutoff < today:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        cutoff = workspace.billing_cutoff(year, month)
    return cutoff


def unapproved_before_cutoff(rule, now):
    """Within ``days_before`` days of the billing cut-off: per project manager (a person with a login), the
    draft or submitted hours on their projects worked up to the cut-off, and the people to chase."""
    workspace = rule.workspace
    today = local_now(workspace, now).date()
    cutoff = next_cutoff(workspace, today)
    days_left = (cutoff - today).days
    if days_left > rule.days_before:
        return []
    scope = Scope(workspace=workspace, start=cutoff - timedelta(days=30), end=cutoff, now=now)
    # Before the cut-off the scope's as-of moment is now: the entries are those draft or submitted now.
    entries = unapproved_entries(scope).filter(project__manager__user__isnull=False)
    if rule.system_id:
        entries = entries.filter(system_id=rule.system_id)
    rows = (
        entries.order_by()
        .values("project__manager_id", "project__manager__user_id", "project__manager__name", "person__name")
        .annotate(sum_hours=Sum("hours"))
        .order_by("project__manager_id", "-sum_hours", "person__name")
    )
    per_manager = {}
    for row in rows:
        per_manager.setdefault((row["project__manager_id"], row["project__manager__user_id"]), []).append(row)
    hushed = quiet(rule, [f"manager:{person_id}:{cutoff.isoformat()}" for person_id, _ in per_manager], now)
    when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
    found = []
    for (person_id, user_id), people in per_manager.items():
        if f"manager:{person_id}:{cutoff.isoformat()}" in hushed:
            continue
        total = hours(sum((p["sum_hours"] for p in people), Decimal(0)))
        lines = [
            f"Billing cut-off {cutoff:%a %d %b %Y}, {when}: approve or chase these hours first",
            f"Projects managed by {people[0]['project__manager__name']}",
        ]
        lines += [f"{p['person__name']}: {hours(p['sum_hours'])} h" for p in people[:MAX_PEOPLE]]
        if len(people) > MAX_PEOPLE:
            lines.append(f"and {len(people) - MAX_PEOPLE} more people")
        link = (
            reverse("time-entries")
            + "?"
            + urlencode({"status": "unapproved", "manager": person_id, "end": cutoff.isoformat()})
        )
        found.append(
            Finding(
                f"manager:{person_id}:{cutoff.isoformat()}",
                f"{total} unapproved hours on your projects before the {cutoff:%d %b} billing cut-off",
                lines,
                link,
                total,
                user_id,
            )
        )
    return found


EVALUATORS = {
    RuleKind.NEW_GROUP: new_groups,
    RuleKind.GROUP_GREW: grown_groups,
    RuleKind.PAST_SLA: late_groups,
    RuleKind.SYNC_SUCCESS_LOW: low_sync_success,
    RuleKind.SYSTEM_SILENT: silent_systems,
    RuleKind.UNAPPROVED_BEFORE_CUTOFF: unapproved_before_cutoff,
    RuleKind.CONNECTION_FAILING: failing_connections,
}


def findings(rule, now):
    """What ``rule`` finds in its workspace at ``now``."""
    return EVALUATORS[rule.kind](rule, now)
