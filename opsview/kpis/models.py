"""Daily roll-ups of KPIs too costly to compute live over months of history at scale.

A django-q2 schedule computes each finished day once, with the same functions
that define the KPIs live (see ``opsview.kpis.rollups``); ``RollupDay`` records
which days of a workspace are done and when.
"""

from django.db import models
from django.utils import timezone

from opsview.workspaces.scoping import WorkspaceOwned


class RollupDay(WorkspaceOwned):
    """One local day of a workspace whose roll-ups are all written, and when."""

    day = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "day"], name="rollup_day_per_workspace")]
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day} rolled up"


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

    def __str__(self):
        return f"{self.project_id} {self.day} {self.currency} {self.value}"


class DailySync(WorkspaceOwned):
    """Succeeded and failed record events of one flow between two systems on one local day."""

    day = models.DateField()
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    target_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    flow = models.CharField(max_length=80, blank=True)
    succeeded = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day} {self.flow} {self.succeeded}/{self.failed}"


class PostingTime(WorkspaceOwned):
    """When a time entry first reached an ERP system, and how long after its approval."""

    MANAGER_SCOPE = "project__manager__user"

    time_entry = models.OneToOneField("records.TimeEntry", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("records.Project", on_delete=models.CASCADE, related_name="+")
    system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    posted_at = models.DateTimeField()
    days = models.FloatField(help_text="Days, with fractions, from approval to posting.")

    class Meta:
        indexes = [models.Index(fields=["workspace", "posted_at"])]
        ordering = ["-posted_at"]

    def __str__(self):
        return f"{self.time_entry_id} posted after {self.days:.2f} days"


class DailyBillingLag(WorkspaceOwned):
    """Invoiced time of one project and system on invoices issued on one day, counted by days from work to invoice."""

    MANAGER_SCOPE = "project__manager__user"

    day = models.DateField(help_text="The invoices' issue date.")
    project = models.ForeignKey("records.Project", on_delete=models.CASCADE, related_name="+")
    system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    lag_days = models.IntegerField(help_text="Issue date − work date; negative for time worked after the invoice.")
    entries = models.PositiveIntegerField()
    hours = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day} {self.project_id}: {self.entries} entries after {self.lag_days} days"


class FirstArrival(WorkspaceOwned):
    """A time entry's or invoice's first succeeded sync event to an ERP system, on the local day it occurred:
    the records straight-through processing counts (``opsview.kpis.straight_through.first_arrivals``).

    Whether a person touched the record is not kept: an exception may open for it any day after. The KPI
    reads it live from the exceptions, for the rolled-up records of its period.
    """

    day = models.DateField()
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    target_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    arrived_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]
        ordering = ["-day"]

    def __str__(self):
        return f"{self.record_type} {self.external_id} reached {self.target_system_id} on {self.day}"
