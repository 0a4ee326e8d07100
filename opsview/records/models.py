"""Business states reported by the connected systems: clients, projects, people,
time entries and invoices, each keyed by (system, external id)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsview.workspaces.scoping import WorkspaceOwned


class SourceRecord(WorkspaceOwned):
    """A record as its source system last reported it.

    ``source_version`` and ``source_updated_at`` come from the source and decide
    whether a later report is newer; an older one is never applied.
    """

    system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=128)
    source_version = models.BigIntegerField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["system", "external_id"], name="%(class)s_unique_per_system"),
        ]

    def __str__(self):
        return self.external_id


class Client(SourceRecord):
    # A manager sees the clients of their own projects only.
    MANAGER_SCOPE = "projects__manager__user"

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, blank=True)

    class Meta(SourceRecord.Meta):
        ordering = ["name"]

    def __str__(self):
        return self.name


class Person(SourceRecord):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    weekly_capacity_hours = models.DecimalField(max_digits=6, decimal_places=2, default=40)
    is_active = models.BooleanField(default=True)
    # The opsview login of this person, when they use opsview (managers do).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta(SourceRecord.Meta):
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self):
        return self.name


class Project(SourceRecord):
    MANAGER_SCOPE = "manager__user"

    code = models.CharField(max_length=60, blank=True)
    name = models.CharField(max_length=200)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="projects")
    manager = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed")
    is_billable = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)

    class Meta(SourceRecord.Meta):
        ordering = ["name"]

    def __str__(self):
        return f"{self.code} {self.name}".strip()


class TimeEntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TimeEntry(SourceRecord):
    MANAGER_SCOPE = "project__manager__user"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="time_entries")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="time_entries")
    work_date = models.DateField()
    hours = models.DecimalField(max_digits=7, decimal_places=2)
    billable = models.BooleanField(default=True)
    bill_rate = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=TimeEntryStatus.choices)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    invoice_reference = models.CharField(max_length=64, blank=True, help_text="Invoice number it was billed on.")
    # Kept by records.sides.refresh_sides_held wherever the entry's hours or the postings carrying it change: the
    # reconciled share of a year's period reads it from an index instead of looking up 35,000 entries' postings.
    sides_held = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,  # the demo's and benches' loaders write rows by COPY, naming their own columns
        help_text="Which target systems hold its hours, as records.sides computes them: 1 the ERP, 2 billing on an "
        "invoice, 3 both, 0 neither.",
    )

    class Meta(SourceRecord.Meta):
        ordering = ["-work_date", "id"]
        verbose_name_plural = "time entries"
        indexes = [
            # Unapproved hours (a firm's, as of a past day too, and every firm's on the portfolio) and the
            # reconciled share of a period's approved hours are read from the index only.
            models.Index(
                fields=["workspace", "status", "work_date"],
                include=["hours", "approved_at", "billable", "sides_held"],
                name="timeentry_by_status",
            ),
            models.Index(fields=["workspace", "project", "work_date"]),
            # Utilization sums a period's hours; on PostgreSQL the included columns let it read the index only.
            models.Index(
                fields=["workspace", "work_date"], include=["status", "billable", "hours"], name="timeentry_worked_on"
            ),
            # Billing lag finds a day's invoiced entries by the invoices' numbers.
            models.Index(fields=["workspace", "invoice_reference"], name="timeentry_invoice_reference"),
        ]


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    POSTED = "posted", "Posted to ERP"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(SourceRecord):
    MANAGER_SCOPE = "project__manager__user"

    number = models.CharField(max_length=64)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True, help_text="When the ERP accepted the posting.")
    erp_reference = models.CharField(
        max_length=64, blank=True, help_text="The ERP's own number for the posting, beside the billing number."
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta(SourceRecord.Meta):
        ordering = ["-issue_date", "number"]
        indexes = [models.Index(fields=["workspace", "number"]), models.Index(fields=["workspace", "status"])]

    def __str__(self):
        return self.number


class Posting(SourceRecord):
    """A document or line as a target system (an ERP, a billing system) holds it, carrying one source record.

    What reconciliation compares each source record with: a timesheet line in the ERP, a time line on an
    invoice in billing, an invoice posted in the ERP. The target reports it (its own id is ``external_id``);
    ``source_system`` and ``source_external_id`` name the record it carries. Integration jobs send them to
    the ingest API; opsview records one itself when a replay is verified at the target.
    """

    record_type = models.CharField(max_length=40, help_text="What it carries: time_entry or invoice.")
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    source_external_id = models.CharField(max_length=128, help_text="The carried record's id in its source.")
    number = models.CharField(
        max_length=64,
        blank=True,
        help_text="Invoice number: the invoice's own for an invoice, the invoice it is on for a time line.",
    )
    hours = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    posted_on = models.DateField(null=True, blank=True, help_text="The date it carries in the target.")
    is_cancelled = models.BooleanField(default=False, help_text="Cancelled or reversed in the target.")

    class Meta(SourceRecord.Meta):
        ordering = ["-posted_on", "external_id"]
        indexes = [
            models.Index(
                fields=["workspace", "record_type", "source_system", "source_external_id"], name="posting_carries"
            ),
            models.Index(fields=["workspace", "record_type", "number"], name="posting_number"),
        ]

    def __str__(self):
        return f"{self.record_type} {self.source_external_id} in {self.external_id}"
