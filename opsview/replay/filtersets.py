"""The replays page's filter: the replays requested together, named by their batch."""

import uuid

import django_filters

from opsview.common.filtersets import FilterSet
from opsview.replay.models import Replay


class ReplayFilterSet(FilterSet):
    """The replays of ``queryset`` in the asked ``batch``, or all of them when none is asked."""

    # A plain Filter, not a UUIDFilter: a batch that cannot exist lists nothing instead of being dropped.
    batch = django_filters.Filter(method="in_batch", label="Requested together")

    class Meta:
        model = Replay
        fields = []

    def in_batch(self, replays, name, value):
        try:
            return replays.filter(batch=uuid.UUID(value))
        except ValueError:
            return replays.none()
