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


def percentiles(queryset, expression, fractions=MEDIAN_AND_P90):
    """``{fraction: value}`` of ``expression`` over ``queryset``'s rows, NULLs left out; None when there are none."""
    if connections[queryset.db].vendor == "postgresql":
        # The ordered-set aggregate leaves NULLs out by itself.
        aggregates = {f"p{i}": PercentileCont(expression, fraction) for i, fraction in enumerate(fractions)}
        result = queryset.aggregate(**aggregates)
        return {fraction: result[f"p{i}"] for i, fraction in enumerate(fractions)}
    values = queryset.annotate(_pv=expression).filter(_pv__isnull=False)
    count = values.count()
    if count == 0:
        return dict.fromkeys(fractions)
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
    return result
