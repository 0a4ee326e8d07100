"""Reading the daily roll-ups: which days of a period are rolled up, and as of when."""

from django.db.models import Max

from opsview.kpis.models import RollupDay


def rolled_up(scope):
    """``{"days": set of rolled-up days in the period, "computed_at": newest computation or None}``."""
    days = scope.rows(RollupDay).filter(day__range=(scope.start, scope.end))
    return {"days": set(days.values_list("day", flat=True)), "computed_at": days.aggregate(at=Max("computed_at"))["at"]}


def rolled_up_days(scope):
    """The rolled-up days of the period, as a set (one query, when the computation time is not needed)."""
    return set(scope.rows(RollupDay).filter(day__range=(scope.start, scope.end)).values_list("day", flat=True))
