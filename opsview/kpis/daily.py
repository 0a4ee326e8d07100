"""Reading the daily roll-ups: which days of a period are rolled up, and as of when."""

from opsview.kpis.models import RollupDay


def rolled_up(scope):
    """``{"days": set of rolled-up days in the period, "computed_at": newest computation or None}``."""
    return rolled_up_each(scope)[0]


def rolled_up_each(*scopes):
    """``rolled_up`` of each of ``scopes``, which differ in their periods only, in one query."""
    start, end = min(s.start for s in scopes), max(s.end for s in scopes)
    # One query: a period holds at most a year of days, so the newest time is found here, not asked for again.
    rows = list(scopes[0].rows(RollupDay).filter(day__range=(start, end)).values_list("day", "computed_at").order_by())
    found = []
    for scope in scopes:
        mine = [(day, at) for day, at in rows if scope.start <= day <= scope.end]
        found.append({"days": {day for day, _ in mine}, "computed_at": max((at for _, at in mine), default=None)})
    return found


def rolled_up_days(scope):
    """The rolled-up days of the period, as a set (one query, when the computation time is not needed)."""
    return set(scope.rows(RollupDay).filter(day__range=(scope.start, scope.end)).values_list("day", flat=True))
