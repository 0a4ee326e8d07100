"""Reconciliation runs, each project's three-way balance per run, and each gap's two sides."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsview.reconcile.causes import CAUSES
from opsview.workspaces.scoping import WorkspaceOwned


class Trigger(models.TextChoices):
    DAILY = "daily", "Daily"
    PERIOD_CLOSE = "period_close", "Period close"
    MANUAL = "manual", "Run now"


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


# A queued or running run not finished after this is taken as lost (no task cluster, a killed worker): it no
# longer shows as running nor holds back "Run now". A month's comparison takes well under a minute.
LOST_AFTER = timedelta(hours=1)


def active_runs(runs, now=None):
    """The runs among ``runs`` still queued or running, and not lost."""
    since = (now or timezone.now()) - LOST_AFTER
    return runs.filter(status__in=[RunState.QUEUED, RunState.RUNNING], requested_at__gte=since)


class ReconciliationRun(WorkspaceOwned):
    """One comparison of the three systems over one period."""

    period = models.CharField(max_length=7, help_text="The month compared, YYYY-MM.")
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    gaps_found = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True, help_text="The workspace's three-way totals.")
    unreported = models.JSONField(default=list, blank=True, help_text="Sides that have never reported anything.")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["workspace", "period", "-requested_at"], name="recon_run_period")]

    def __str__(self):
        return f"Reconciliation {self.period} ({self.get_trigger_display()})"

    @property
    def is_active(self):
        return self.status in (RunState.QUEUED, RunState.RUNNING)


class ProjectBalance(WorkspaceOwned):
    """A project's hours on each side in one run's period, and its gaps."""

    MANAGER_SCOPE = "project__manager__user"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="balances")
    project = models.ForeignKey("records.Project", null=True, blank=True, on_delete=models.SET_NULL)
    approved_hours = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    billable_hours = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    erp_hours = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    invoiced_hours = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    transit_hours = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    known_hours = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    reconciled_hours = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Approved hours in the ERP and on an invoice as approved."
    )
    gap_count = models.PositiveIntegerField(default=0)
    money_at_stake = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["-gap_count", "-money_at_stake", "id"]


class Gap(WorkspaceOwned):
    """Both sides of one reconciliation exception, as its latest run found them."""

    MANAGER_SCOPE = "project__manager__user"
    RECORD_LIMIT = 200

    exception = models.OneToOneField("queues.ExceptionItem", on_delete=models.CASCADE, related_name="gap")
    period = models.CharField(max_length=7)
    cause = models.CharField(max_length=32, choices=[(c.code, c.label) for c in CAUSES])
    last_run = models.ForeignKey(ReconciliationRun, on_delete=models.SET_NULL, null=True, related_name="gaps")
    project = models.ForeignKey("records.Project", null=True, blank=True, on_delete=models.SET_NULL)
    source_label = models.CharField(max_length=200, help_text="The side the record came from.")
    source_count = models.PositiveIntegerField(default=0)
    source_hours = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    source_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    target_label = models.CharField(max_length=200, help_text="The side where the gap is.")
    target_count = models.PositiveIntegerField(default=0)
    target_hours = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    target_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    money_at_stake = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True)
    records = models.JSONField(default=list, help_text="Ids of the records on one side only or differing (capped).")
    records_total = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "period", "cause"], name="recon_gap_period")]

    def __str__(self):
        return f"{self.get_cause_display()} {self.period}"

    @property
    def records_left_out(self):
        return max(self.records_total - len(self.records), 0)
