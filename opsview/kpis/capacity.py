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
    return utilizations(scope)[0]


def utilizations(*scopes):
    """``utilization`` of each of ``scopes``, which differ in their periods only: the hours of every period in
    one query, and the capacity of every period in one more."""
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    counted = span.time_entries().exclude(status=TimeEntryStatus.REJECTED)

    def worked(scope):
        return Q(work_date__range=(scope.start, scope.end))

    sums = {}
    for i, scope in enumerate(scopes):
        sums[f"billable{i}"] = Sum("hours", filter=worked(scope) & Q(billable=True))
        sums[f"total{i}"] = Sum("hours", filter=worked(scope))
    recorded = counted.filter(work_date__range=(span.start, span.end)).aggregate(**sums)
    people = span.rows(Person)
    if span.is_narrowed:
        # Who recorded time on the projects in view, period by period.
        staffs = {}
        for i, scope in enumerate(scopes):
            in_period = Q(pk__in=counted.filter(worked(scope)).values("person_id"))
            staffs[f"weekly{i}"] = Sum("weekly_capacity_hours", filter=in_period)
            staffs[f"count{i}"] = Count("id", filter=in_period)
        staff = people.aggregate(**staffs)
    else:
        active = people.filter(is_active=True).aggregate(weekly=Sum("weekly_capacity_hours"), count=Count("id"))
        staff = {f"{name}{i}": active[name] for i in range(len(scopes)) for name in ("weekly", "count")}
    results = []
    for i, scope in enumerate(scopes):
        days = weekdays(scope.start, scope.end)
        capacity = hours((staff[f"weekly{i}"] or 0) * days / 5)
        billable = hours(recorded[f"billable{i}"])
        results.append(
            {
                "billable_hours": billable,
                "recorded_hours": hours(recorded[f"total{i}"]),
                "capacity_hours": capacity,
                "people": staff[f"count{i}"] or 0,
                "weekdays": days,
                "rate": round(float(billable / capacity), 4) if capacity else None,
            }
        )
    return results
