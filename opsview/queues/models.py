"""Exceptions: records that need a person, grouped by cause, with their settings.

An exception is keyed by its record and the track it fails on (``key``): one
per record and target system for sync failures, one per record and rule for
business states. It is never deleted: a resolved one reopens when its record
fails again, and counts the recurrence.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from opsview.queues.titles import readable_cause
from opsview.workspaces.scoping import WorkspaceOwned, WorkspaceQuerySet


class Kind(models.TextChoices):
    POSTING_FAILURE = "posting_failure", "ERP posting failure"
    SYNC_ERROR = "sync_error", "Sync error"
    MISSING_MAPPING = "missing_mapping", "Missing mapping"
    VALIDATION_REJECTED = "validation_rejected", "Validation rejected"
    UNAPPROVED_TIME = "unapproved_time", "Time unapproved past cut-off"
    UNBILLED_TIME = "unbilled_time", "Approved time not invoiced"
    UNPOSTED_INVOICE = "unposted_invoice", "Invoice not posted to ERP"
    RECONCILIATION = "reconciliation", "Reconciliation gap"
    ALERT_UNDELIVERED = "alert_undelivered", "Alert not delivered"


SYNC_KINDS = (Kind.POSTING_FAILURE, Kind.SYNC_ERROR, Kind.MISSING_MAPPING, Kind.VALIDATION_REJECTED)
STATE_KINDS = (Kind.UNAPPROVED_TIME, Kind.UNBILLED_TIME, Kind.UNPOSTED_INVOICE)


class Status(models.TextChoices):
    OPEN = "open", "Open"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


# Still waiting for someone: these count as "open work" and resolve by themselves.
PENDING = (Status.OPEN, Status.SNOOZED)

# Between a record's business ids and its error in ExceptionItem.searchable; searches are cleared of it.
SEARCH_SEPARATOR = "\n"


class Resolution(models.TextChoices):
    FIXED_AT_SOURCE = "fixed_at_source", "Fixed at source"
    REPLAYED = "replayed", "Replayed"
    DUPLICATE = "duplicate", "Duplicate"
    NOT_AN_ERROR = "not_an_error", "Not an error"
    WRITTEN_OFF = "written_off", "Written off"
    AUTOMATIC = "automatic", "Resolved by itself"


# What a person may choose; AUTOMATIC is only ever set by opsview.
USER_RESOLUTIONS = [c for c in Resolution.choices if c[0] != Resolution.AUTOMATIC]


class MappingKind(models.TextChoices):
    PROJECT = "project", "Project"
    CLIENT = "client", "Client"
    PERSON = "person", "Person"
    TAX_CODE = "tax_code", "Tax code"


class ExceptionGroup(WorkspaceOwned):
    """Exceptions with the same cause: same fingerprint, handled together."""

    fingerprint = models.CharField(max_length=40)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=40)
    error_code = models.CharField(max_length=80, blank=True)
    message = models.TextField(help_text="The error message with ids and numbers taken out.")
    mapping_kind = models.CharField(max_length=12, choices=MappingKind.choices, blank=True)
    mapping_value = models.CharField(max_length=200, blank=True, help_text="The unknown value, for missing mappings.")
    fix_guide = models.TextField(blank=True, help_text="What this error means and how to fix it at the source.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "fingerprint"], name="group_fingerprint_per_ws")]
        ordering = ["-last_seen_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"[:255]

    @property
    def title(self):
        """The cause in words, for pages and alerts: no "<id>" or "<n>" placeholders."""
        return readable_cause(self.message, self.mapping_value)


# References empty on most new exceptions: nobody is assigned to it or has resolved it yet, a state rule's names no
# event, a failure of a record opsview has not seen names no record, and an invoice's names no time entry.
SPARSE_REFERENCES = ("assignee", "resolved_by", "last_event", "time_entry", "invoice", "project", "client")


class ExceptionItemQuerySet(WorkspaceQuerySet):
    def pending(self):
        """Still waiting for someone (open or snoozed): the open work, which resolves by itself."""
        return self.filter(status__in=PENDING)

    def past_sla(self, now):
        """Open exceptions whose SLA deadline is before ``now``: the one definition of "past SLA".

        A snoozed exception waits by someone's decision and is not late.
        """
        return self.filter(status=Status.OPEN, sla_due_at__lt=now)


class ExceptionItem(WorkspaceOwned):
    """One record that needs a person, with the money it holds up."""

    MANAGER_SCOPE = "project__manager__user"

    # Each index costs every new exception an entry (a month-end drain opens thousands). The firm and the group
    # have none of their own: indexes below lead with them. A mostly empty reference is indexed where it is set
    # (SPARSE_REFERENCES), which still finds the exceptions of a user or a record being deleted.
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(
        max_length=255, help_text="The record and the track it fails on; see tracking.sync_key and tracking.state_key."
    )
    group = models.ForeignKey(ExceptionGroup, on_delete=models.PROTECT, related_name="items", db_index=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    system = models.ForeignKey(
        "systems.System", on_delete=models.CASCADE, related_name="+", help_text="Where the record failed."
    )
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    title = models.CharField(
        max_length=200, blank=True, help_text="The record in business words: invoice number, person, day, project."
    )
    search_text = models.TextField(
        blank=True,
        help_text="Lower-case business ids of the record (number, project, client, person, amount) the queue "
        "search finds it by; see tracking.describe.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    # What the queue search reads (filtersets.matches): the record's business ids, a line break, the error.
    # Kept by the database, so the many writers of error messages (ingest repeats are one raw UPDATE) never leave
    # it behind; one column, so a firm's search is one condition its per-firm trigram index answers (migration
    # 0011). The line break keeps a search from matching across the two parts: a search cannot contain one.
    searchable = models.GeneratedField(
        expression=Lower(
            Concat(
                "search_text",
                models.Value(SEARCH_SEPARATOR),
                "error_code",
                models.Value(" "),
                "error_message",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0, help_text="The money the record holds up.")
    currency = models.CharField(max_length=3, blank=True)
    record_date = models.DateField(help_text="Work date, issue date or failure date: what age is counted from.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    sla_due_at = models.DateTimeField()
    occurrences = models.PositiveIntegerField(default=1)
    recurrences = models.PositiveIntegerField(default=0, help_text="Times it came back after being resolved.")
    last_recurred_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Checked by the database, unlike SyncEvent's own references: pruning old events (ingest.retention) relies on
    # this key to refuse deleting an event that detection pointed an exception at after the prune chose it, and
    # the detail page and replays read the event through it.
    last_event = models.ForeignKey(
        "telemetry.SyncEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    time_entry = models.ForeignKey(
        "records.TimeEntry", null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    invoice = models.ForeignKey("records.Invoice", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    project = models.ForeignKey("records.Project", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    client = models.ForeignKey("records.Client", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)

    objects = ExceptionItemQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="exception_key_per_ws")]
        indexes = [
            # The default order of the queue, whole and by kind: money at stake, then age.
            models.Index(fields=["workspace", "status", "-amount", "record_date", "id"], name="queue_money_idx"),
            models.Index(
                fields=["workspace", "kind", "status", "-amount", "record_date", "id"], name="queue_kind_money_idx"
            ),
            models.Index(fields=["group", "status"], name="queue_group_idx"),
            # Narrow, so the counts per kind and status always in view are one index-only scan.
            models.Index(fields=["workspace", "kind", "status"], name="queue_counts_idx"),
            models.Index(fields=["workspace", "status", "sla_due_at"], name="queue_sla_idx"),
            models.Index(fields=["workspace", "record_type", "external_id"], name="queue_record_idx"),
            # Money at stake counts each record once: its exceptions arrive grouped, in record order, from
            # the index alone (queues.money.money_at_stake).
            models.Index(
                fields=["workspace", "status", "source_system", "record_type", "external_id"],
                include=["amount", "currency"],
                name="queue_record_money_idx",
            ),
            # Exception volume (new, resolved and open per day) and resolution time read a period's exceptions
            # from these alone, not every exception the firm ever had.
            models.Index(fields=["workspace", "first_seen_at"], include=["resolved_at"], name="queue_seen_idx"),
            models.Index(
                fields=["workspace", "resolved_at"],
                include=["first_seen_at"],
                condition=models.Q(resolved_at__isnull=False),
                name="queue_resolved_idx",
            ),
            *(
                models.Index(
                    fields=[field], condition=models.Q(**{f"{field}__isnull": False}), name=f"queue_{field}_idx"
                )
                for field in SPARSE_REFERENCES
            ),
        ]

    def __str__(self):
        # Rows loaded with .only() (ingest's set-based writers) name themselves without a query per row.
        title = "" if "title" in self.get_deferred_fields() else self.title
        return title or f"{self.record_type} {self.external_id}"

    @property
    def record_ref(self):
        """What identifies the record across its exceptions; see queues.money.money_at_stake."""
        return (self.source_system_id, self.record_type, self.external_id)

    @property
    def is_pending(self):
        """This row's side of ``ExceptionItemQuerySet.pending``."""
        return self.status in PENDING

    @property
    def is_past_sla(self):
        """This row's side of ``ExceptionItemQuerySet.past_sla``, now."""
        return self.status == Status.OPEN and self.sla_due_at < timezone.now()

    @property
    def age_days(self):
        return (timezone.localdate() - self.record_date).days


class RecordAtStake(WorkspaceOwned):
    """A record that open exceptions hold up, with its money counted once, as ``queues.money`` counts it.

    Kept by ``queues.stakes.refresh_stakes`` in the transaction of every write that opens, closes or
    revalues exceptions, so the portfolio adds up 50 firms' records instead of grouping a million open
    exceptions by record on every visit.

    A row carries no project, so it says nothing of a manager's share of a firm: it is read only for the firms
    a user sees whole (``workspaces.scoping.seen_whole``, in ``kpis.exceptions``), never through ``visible_to``.
    """

    # No index of their own: the record's unique key leads with the firm, and every change of an exception writes
    # here (a deleted system's rows are found by reading the table, which nothing but a system's deletion does).
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+", db_index=False)
    record_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="The largest of its open exceptions'.")
    currency = models.CharField(max_length=3, blank=True)
    exceptions = models.PositiveIntegerField(help_text="Its open exceptions.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source_system", "record_type", "external_id"], name="stake_per_record"
            )
        ]
        # A firm's money at stake per currency, from the index alone.
        indexes = [models.Index(fields=["workspace", "currency"], include=["amount", "exceptions"], name="stakes_idx")]


class StakeChange(WorkspaceOwned):
    """A change of a firm's money at stake in one currency: what ``RecordAtStake`` rows of one write added up to
    after it, less what they added up to before.

    A firm's money at stake is the sum of its changes, so the portfolio adds up a few rows per firm instead of a
    year's million records (``queues.stakes``). Every write of ``RecordAtStake`` appends its change in the same
    transaction; appending never waits for another writer, where one total row per firm would make every writer
    of the firm queue for it. ``fold_stake_changes`` folds a firm's changes into one row per currency.
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3, blank=True)
    records = models.IntegerField(help_text="Records at stake added (negative: removed).")
    amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="Money at stake added.")
    exceptions = models.IntegerField(help_text="Open exceptions added.")


class Comment(WorkspaceOwned):
    MANAGER_SCOPE = "exception__project__manager__user"

    exception = models.ForeignKey(ExceptionItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class KindSetting(WorkspaceOwned):
    """A workspace's threshold, SLA and fix guide for one kind; missing rows use DEFAULTS."""

    kind = models.CharField(max_length=24, choices=Kind.choices)
    threshold_days = models.PositiveIntegerField(
        help_text="Unapproved time: days after the work date. Unbilled time: days after approval. "
        "Unposted invoices: days after the issue date. Unused for sync failures."
    )
    sla_hours = models.PositiveIntegerField(help_text="Hours from first seen to resolved before it is past SLA.")
    fix_guide = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind"], name="kind_setting_per_ws")]


class QueueSettings(WorkspaceOwned):
    """Workspace-wide queue settings: which payload fields are masked."""

    masked_fields = models.TextField(
        blank=True, help_text="Payload field names to mask, one per line (case, '_' and '-' do not matter)."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="queue_settings_per_ws")]
        verbose_name_plural = "queue settings"


class Mapping(WorkspaceOwned):
    """A value the target system does not know, mapped to one it does; used from then on."""

    kind = models.CharField(max_length=12, choices=MappingKind.choices)
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    target_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    source_value = models.CharField(max_length=200)
    target_value = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "source_system", "target_system", "source_value"],
                name="one_mapping_per_value",
            )
        ]
        ordering = ["kind", "source_value"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.source_value} → {self.target_value}"


class SavedView(WorkspaceOwned):
    """A user's named queue filter, kept as the query string of the queue page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user", "name"], name="saved_view_name_per_user")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class DetectionOutbox(WorkspaceOwned):
    """One ingest batch's new sync events whose exceptions are still to be opened or resolved.

    Written in the batch's own transaction and marked done in the transaction that changes the
    exceptions (``opsview.queues.outbox``), so a batch's detection is never lost nor done twice.
    """

    event_ids = models.JSONField(null=True, help_text="Ids of the new failed and succeeded events; cleared when done.")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Drains that failed on this note alone.")

    class Meta:
        indexes = [
            # The drain reads the pending rows in order; done rows are many more and never read again.
            models.Index(
                fields=["failures", "id"], condition=models.Q(done_at__isnull=True), name="outbox_pending_idx"
            ),
            models.Index(fields=["done_at"], name="outbox_done_idx"),
        ]
