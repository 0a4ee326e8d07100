"""The replays page's filter: the replays requested together, named by their batch."""

import uuid

import django_filters

from opsview.replay.models import Replay


class ReplayFilterSet(django_filters.FilterSet):
    """The replays of ``queryset`` in the asked ``batch`` (``asked``), or all of them when none is asked."""

    # A plain Filter, not a UUIDFilter: a batch that cannot exist lists nothing instead of being dropped.
    batch = django_filters.Filter(method="in_batch", label="Requested together")

    class Meta:
        model = Replay
        fields = []

    @property
    def asked(self):
        """The batch asked for, as typed, or None: the page's heading says when it lists one batch."""
        return self.form.cleaned_data.get("batch") if self.is_valid() else None

    def in_batch(self, replays, name, value):
        try:
            return replays.filter(batch=uuid.UUID(value))
        except ValueError:
            return replays.none()
