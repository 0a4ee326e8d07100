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


def in_one_pass(queryset):
    """True where ``percentiles_in_one_pass`` works: PostgreSQL, whose percentiles are aggregates."""
    return connections[queryset.db].vendor == "postgresql"


def percentiles_in_one_pass(queryset, expression, groups, fractions=MEDIAN_AND_P90):
    """Percentiles and aggregates of several groups of ``queryset``'s rows, in one query; PostgreSQL only.

    ``groups`` maps a name to ``(condition, also)``: a ``Q`` choosing the group's
    rows and its aggregates, which should be filtered by that condition too.
    Returns ``{name: ({fraction: value}, {aggregate: value})}``, as ``percentiles``
    does for each group; this is how a dashboard reads a period and the one before
    it in one scan.
    """
    aggregates = {}
    for name, (condition, also) in groups.items():
        for i, fraction in enumerate(fractions):
            aggregates[f"_p{i}_{name}"] = PercentileCont(expression, fraction, filter=condition)
        aggregates.update({f"{aggregate}_{name}": value for aggregate, value in also.items()})
    result = queryset.aggregate(**aggregates)
    return {
        name: (
            {fraction: result[f"_p{i}_{name}"] for i, fraction in enumerate(fractions)},
            {aggregate: result[f"{aggregate}_{name}"] for aggregate in also},
        )
        for name, (_, also) in groups.items()
    }


def percentiles(queryset, expression, fractions=MEDIAN_AND_P90, also=None):
    """``({fraction: value}, {name: value})``: percentiles of ``expression`` over ``queryset``, and aggregates ``also``.

    NULLs are left out; a percentile is None when there are no values. On
    PostgreSQL the percentiles and ``also`` come from one query, one pass.
    """
    also = also or {}
    if in_one_pass(queryset):
        # The ordered-set aggregate leaves NULLs out by itself.
        return percentiles_in_one_pass(queryset, expression, {"all": (None, also)}, fractions)["all"]
    extras = queryset.aggregate(**also) if also else {}
    values = queryset.annotate(_pv=expression).filter(_pv__isnull=False)
    count = values.count()
    if count == 0:
        return dict.fromkeys(fractions), extras
    ordered = values.order_by("_pv").values_list("_pv", flat=True)
    result = {}
    for fraction in fractions:
        position = fraction * (count - 1)
        low = math.floor(position)
        around = [float(v) for v in ordered[low : low + 2]]
        weight = position - low
        if len(around) == 1 or weight == 0:
            result[fraction] = around[0]
        else:
            result[fraction] = around[0] + (around[1] - around[0]) * weight
    return result, extras
