"""Utilization: how much of the people's capacity went into billable work."""

from datetime import timedelta

from django.db.models import Count, Q, Sum

from opsview.kpis.expressions import hours
from opsview.records.models import Person, TimeEntryStatus


def weekdays(start, end):
    """Monday-to-Friday days from ``start`` to ``end`` inclusive."""
    days = (end - start).days + 1
    full_weeks, rest = divmod(days, 7)
    return full_weeks * 5 + sum(1 for n in range(rest) if (start + timedelta(days=n)).weekday() < 5)


def utilization(scope):
    """Billable hours ÷ capacity hours.

    Billable hours are billable time entries worked in the period, rejected
    ones left out. Capacity is each person's weekly capacity × weekdays in the
    period ÷ 5, for the active people of the workspace, or, when the view is
    narrowed to some projects (a filter, or a manager's own), for the people who
    recorded time on them in the period.
    """
    entries = (
        scope.time_entries().filter(work_date__range=(scope.start, scope.end)).exclude(status=TimeEntryStatus.REJECTED)
    )
    recorded = entries.aggregate(billable=Sum("hours", filter=Q(billable=True)), total=Sum("hours"))
    people = scope.rows(Person)
    if scope.is_narrowed:
        people = people.filter(pk__in=entries.values("person_id"))
    else:
        people = people.filter(is_active=True)
    staff = people.aggregate(weekly=Sum("weekly_capacity_hours"), count=Count("id"))
    days = weekdays(scope.start, scope.end)
    capacity = hours((staff["weekly"] or 0) * days / 5)
    billable = hours(recorded["billable"])
    return {
        "billable_hours": billable,
        "recorded_hours": hours(recorded["total"]),
        "capacity_hours": capacity,
        "people": staff["count"] or 0,
        "weekdays": days,
        "rate": round(float(billable / capacity), 4) if capacity else None,
    }
