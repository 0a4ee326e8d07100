"""The sync runs' filters: a run's status and system on the runs page, an event's outcome on a run's page.

Both match the value exactly, as the links and the select send it: a value no run or event has lists
nothing (the page then says so), rather than being dropped and listing everything.
"""

import django_filters
from django.db.models import Q

from opsview.common.filtersets import FilterSet
from opsview.telemetry.models import SyncEvent, SyncRun


class SyncRunFilterSet(FilterSet):
    """The runs of ``queryset`` with the asked ``status``, and of the asked ``system`` (reporting, source or
    target: a silent system's alert leads here)."""

    status = django_filters.CharFilter(label="Status")
    system = django_filters.NumberFilter(method="of_system", label="System", min_value=1, max_value=2**62)

    class Meta:
        model = SyncRun
        fields = []

    def of_system(self, runs, name, value):
        system = int(value)
        return runs.filter(Q(reported_by_id=system) | Q(source_system_id=system) | Q(target_system_id=system))


class SyncEventFilterSet(FilterSet):
    """A run's events with the asked ``outcome``."""

    outcome = django_filters.CharFilter(label="Outcome")

    class Meta:
        model = SyncEvent
        fields = []
