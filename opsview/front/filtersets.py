"""The sync runs' filters: a run's status on the runs page, an event's outcome on a run's page.

Both match the value exactly, as the links and the select send it: a value no run or event has lists
nothing (the page then says so), rather than being dropped and listing everything.
"""

import django_filters

from opsview.common.filtersets import FilterSet
from opsview.telemetry.models import SyncEvent, SyncRun


class SyncRunFilterSet(FilterSet):
    """The runs of ``queryset`` with the asked ``status``."""

    status = django_filters.CharFilter(label="Status")

    class Meta:
        model = SyncRun
        fields = []


class SyncEventFilterSet(FilterSet):
    """A run's events with the asked ``outcome``."""

    outcome = django_filters.CharFilter(label="Outcome")

    class Meta:
        model = SyncEvent
        fields = []
