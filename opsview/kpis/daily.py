"""Reading the daily roll-ups: which days of a period are rolled up, and as of when."""

from opsview.kpis.models import RollupDay


def rolled_up(scope):
    """``{"days": set of rolled-up days in the period, "computed_at": newest computation or None}``."""
    # One query: a period holds at most a year of days, so the newest time is found here, not asked for again.
    rows = scope.rows(RollupDay).filter(day__range=(scope.start, scope.end)).values_list("day", "computed_at")
    rows = list(rows.order_by())
    return {"days": {day for day, _ in rows}, "computed_at": max((at for _, at in rows), default=None)}


def rolled_up_days(scope):
    """The rolled-up days of the period, as a set (one query, when the computation time is not needed)."""
    return set(scope.rows(RollupDay).filter(day__range=(scope.start, scope.end)).values_list("day", flat=True))
