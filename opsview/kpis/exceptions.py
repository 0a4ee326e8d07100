"""Exception volume, resolution time and items past SLA, read from the exception queues.

The queues live in their own app (``opsview.queues``); these KPIs reach its
items only through ``ExceptionSource``, which names the model and the fields
they need. Where the queues are not installed the KPIs say so
(``available: False``) instead of guessing.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from opsview.kpis.expressions import ElapsedDays, rounded
from opsview.kpis.percentiles import percentiles
from opsview.queues.money import money_at_stake


@dataclass(frozen=True)
class ExceptionSource:
    """Which model holds exception items and what its fields are called.

    ``due`` is a field name or an expression giving each item's SLA deadline;
    ``paths`` are the lookups the scope's client, project, manager and system
    filters take on the model.
    """

    model: str = "queues.ExceptionItem"
    first_seen: str = "first_seen_at"
    resolved: str = "resolved_at"
    due: object = "sla_due_at"
    status: str = "status"
    open_statuses: tuple = ("open",)
    kind: str = "kind"
    amount: str = "amount"
    currency: str = "currency"
    # What identifies a record across its exceptions: its source system, type and id there.
    record: tuple = ("source_system_id", "record_type", "external_id")
    paths: dict = field(
        default_factory=lambda: {
            "client": "client_id", "project": "project_id", "manager": "project__manager_id", "system": "system_id",
        }
    )  # fmt: skip

    def items(self, scope):
        """The scope's exception items, or None when the model is not installed."""
        app_label, model_name = self.model.split(".")
        if not apps.is_installed(f"opsview.{app_label}"):
            return None
        return scope.narrow(scope.rows(apps.get_model(app_label, model_name)), **self.paths)


QUEUE_ITEMS = ExceptionSource()
UNAVAILABLE = {"available": False, "detail": "The exception queues are not installed here."}


def exception_volume(scope, source=QUEUE_ITEMS):
    """Open, new and resolved exceptions per day.

    New: first seen that local day; resolved: resolved that day; open: first
    seen by the end of the day and not resolved by then.
    """
    items = source.items(scope)
    if items is None:
        return UNAVAILABLE
    first, resolved = source.first_seen, source.resolved

    def per_day(name):
        in_period = items.filter(**{f"{name}__gte": scope.start_at, f"{name}__lt": scope.end_at})
        by_day = in_period.annotate(day=TruncDate(name, tzinfo=scope.tz)).values("day").annotate(n=Count("id"))
        return {row["day"]: row["n"] for row in by_day.order_by()}

    new, done = per_day(first), per_day(resolved)
    still_open = Q(**{f"{resolved}__isnull": True}) | Q(**{f"{resolved}__gte": scope.start_at})
    open_count = items.filter(still_open, **{f"{first}__lt": scope.start_at}).count()
    days = []
    for n in range(scope.days):
        day = scope.start + timedelta(days=n)
        open_count += new.get(day, 0) - done.get(day, 0)
        days.append({"day": day, "new": new.get(day, 0), "resolved": done.get(day, 0), "open": open_count})
    return {
        "available": True,
        "new": sum(new.values()),
        "resolved": sum(done.values()),
        "open_at_end": open_count,
        "days": days,
    }


def exception_resolution_time(scope, source=QUEUE_ITEMS):
    """Median and 90th percentile time from first seen to resolved, in hours, of exceptions resolved in the period."""
    items = source.items(scope)
    if items is None:
        return UNAVAILABLE
    resolved = items.filter(**{f"{source.resolved}__gte": scope.start_at, f"{source.resolved}__lt": scope.end_at})
    elapsed_hours = ElapsedDays(F(source.resolved), F(source.first_seen)) * 24
    stats, counted = percentiles(resolved, elapsed_hours, also={"resolved": Count("id")})
    return {
        "available": True,
        "resolved": counted["resolved"],
        "median_hours": rounded(stats[0.5]),
        "p90_hours": rounded(stats[0.9]),
    }


def items_past_sla(scope, source=QUEUE_ITEMS):
    """Open exceptions whose SLA deadline has passed, now, per kind."""
    items = source.items(scope)
    if items is None:
        return UNAVAILABLE
    due = F(source.due) if isinstance(source.due, str) else source.due
    late = items.filter(**{f"{source.status}__in": source.open_statuses}).alias(_due=due)
    late = late.filter(_due__lt=scope.current_time)
    kinds = late.values(source.kind).annotate(items=Count("id")).order_by("-items", source.kind)
    by_kind = [{"kind": row[source.kind], "items": row["items"]} for row in kinds]
    return {"available": True, "items": sum(k["items"] for k in by_kind), "by_kind": by_kind}


def exception_money_at_stake(scope, source=QUEUE_ITEMS):
    """Money at stake in open exceptions, now: the value of each record that has at least one open exception
    (time at its bill rate, an invoice's amount), counted once however many open exceptions the record has,
    per currency; with the number of those records and of the open exceptions.
    """
    items = source.items(scope)
    if items is None:
        return UNAVAILABLE
    return {"available": True, **money_at_stake(items.filter(**{f"{source.status}__in": source.open_statuses}))}
