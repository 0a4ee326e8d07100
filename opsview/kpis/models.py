"""Daily roll-ups of KPIs too costly to compute live over months of history."""

from django.db import models
from django.utils import timezone

from opsview.workspaces.scoping import WorkspaceOwned


class WipRollup(WorkspaceOwned):
    """One day of a workspace whose invoice-ready backlog was rolled up, and when."""

    day = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "day"], name="wip_rollup_day_per_workspace")]
        ordering = ["-day"]


class DailyWip(WorkspaceOwned):
    """Invoice-ready backlog of one project in one currency at the end of one day."""

    MANAGER_SCOPE = "project__manager__user"

    day = models.DateField()
    project = models.ForeignKey("records.Project", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    entries = models.PositiveIntegerField()
    hours = models.DecimalField(max_digits=14, decimal_places=2)
    value = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "day", "currency"], name="daily_wip_per_project_day_currency")
        ]
        indexes = [models.Index(fields=["workspace", "day"])]
        ordering = ["-day"]
