"""Percentiles computed in the database, with PostgreSQL's ``percentile_cont`` semantics on both backends.

PostgreSQL has the ordered-set aggregate. SQLite has none, so there we count the
values and read the one or two around each percentile's position with ORDER BY
and OFFSET, interpolating linearly as ``percentile_cont`` does. No rows but
those one or two ever leave the database.
"""

import math

from django.db import connections
from django.db.models import Aggregate, FloatField

MEDIAN_AND_P90 = (0.5, 0.9)


class PercentileCont(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``; PostgreSQL only."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction lies between 0 and 1.")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentiles(queryset, expression, fractions=MEDIAN_AND_P90, also=None):
    """``({fraction: value}, {name: value})``: percentiles of ``expression`` over ``queryset``, and aggregates ``also``.

    NULLs are left out; a percentile is None when there are no values. On
    PostgreSQL the percentiles and ``also`` come from one query, one pass.
    """
    also = also or {}
    if connections[queryset.db].vendor == "postgresql":
        # The ordered-set aggregate leaves NULLs out by itself.
        aggregates = {f"_p{i}": PercentileCont(expression, fraction) for i, fraction in enumerate(fractions)}
        result = queryset.aggregate(**aggregates, **also)
        return {fraction: result.pop(f"_p{i}") for i, fraction in enumerate(fractions)}, result
    extras = queryset.aggregate(**also) if also else {}
    values = queryset.annotate(_pv=expression).filter(_pv__isnull=False)
    count = values.count()
    if count == 0:
        return dict.fromkeys(fractions), extras
    ordered = values.order_by("_pv").values_list("_pv", flat=True)
    result = {}
    for fraction in fractions:
        low, weight = _position(fraction, count)
        around = list(ordered[low : low + 2])
        result[fraction] = _between(around[0], around[-1], weight)
    return result, extras


def percentiles_of_each(queryset, expression, conditions, fractions=MEDIAN_AND_P90, also=None):
    """``percentiles`` of the rows of ``queryset`` meeting each of ``conditions`` (Q objects): a list of
    ``({fraction: value}, {name: value})``, one per condition. On PostgreSQL one query answers them all."""
    also = also or {}
    if connections[queryset.db].vendor != "postgresql":
        return [percentiles(queryset.filter(condition), expression, fractions, also) for condition in conditions]
    aggregates = {}
    for n, condition in enumerate(conditions):
        for i, fraction in enumerate(fractions):
            aggregates[f"_p{n}_{i}"] = PercentileCont(expression, fraction, filter=condition)
        for name, aggregate in also.items():
            counted = aggregates[f"_a{n}_{name}"] = aggregate.copy()
            counted.filter = condition if aggregate.filter is None else aggregate.filter & condition
    result = queryset.aggregate(**aggregates)
    return [
        (
            {fraction: result[f"_p{n}_{i}"] for i, fraction in enumerate(fractions)},
            {name: result[f"_a{n}_{name}"] for name in also},
        )
        for n in range(len(conditions))
    ]


def _position(fraction, count):
    """Where ``percentile_cont(fraction)`` falls among ``count`` ordered values: (index below, weight of the next)."""
    position = fraction * (count - 1)
    low = math.floor(position)
    return low, position - low


def _between(below, above, weight):
    return float(below) + (float(above) - float(below)) * weight


def percentile_of_counts(counts, fraction):
    """``percentile_cont(fraction)`` of values given as ``{value: how many times}``; None when there are none.

    For distributions the database has already grouped, such as days of billing
    lag: the same interpolation as PostgreSQL's, over the values in order.
    """
    total = sum(counts.values())
    if total == 0:
        return None
    low, weight = _position(fraction, total)
    ordered = sorted((value, n) for value, n in counts.items() if n)

    def value_at(index):
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        return ordered[-1][0]

    return _between(value_at(low), value_at(low + 1) if weight else value_at(low), weight)
