"""The sync runs' filters: a run's status on the runs page, an event's outcome on a run's page.

Both match the value exactly, as the links and the select send it: a value no run or event has lists
nothing (the page then says so), rather than being dropped and listing everything.
"""

import django_filters

from opsview.telemetry.models import SyncEvent, SyncRun


class SyncRunFilterSet(django_filters.FilterSet):
    """The runs of ``queryset`` with the asked ``status``; ``asked`` is the value the page shows back."""

    status = django_filters.CharFilter(label="Status")

    class Meta:
        model = SyncRun
        fields = []

    @property
    def asked(self):
        """The status in use, or None: the select marks it."""
        return self.form.cleaned_data.get("status") if self.is_valid() else None


class SyncEventFilterSet(django_filters.FilterSet):
    """A run's events with the asked ``outcome``; ``asked`` is the value the page shows back."""

    outcome = django_filters.CharFilter(label="Outcome")

    class Meta:
        model = SyncEvent
        fields = []

    @property
    def asked(self):
        """The outcome in use, or None: the links mark it and the empty list names it."""
        return self.form.cleaned_data.get("outcome") if self.is_valid() else None
