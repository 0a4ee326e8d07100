"""Sync telemetry: runs of integration jobs and what happened to each record."""

from django.db import models
from django.utils import timezone

from opsview.workspaces.scoping import WorkspaceOwned


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = {RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED}


class RecordIndex(models.Index):
    """Sync events by their record: on PostgreSQL a hash of the record's external id, elsewhere the B-tree its fields
    name.

    A record's events are only ever looked up by its id's equality (its history on an exception's page, an earlier
    arrival of the same record), never by a range. Ingest writes one entry per event in random order: the B-tree on
    (firm, record type, id, time) cost PostgreSQL 4.4 us an event, a hash of the id 0.8 us (200,000 bench events).
    SQLite keeps the B-tree: without statistics its planner would rather scan a firm's events by time than use an
    index on the id alone, for each event a roll-up looks an earlier arrival up for.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        hashed = models.Index(fields=["external_id"], name=self.name)
        return hashed.create_sql(model, schema_editor, using=" USING hash", **kwargs)


class SyncRun(WorkspaceOwned):
    """One execution of an integration job between two systems."""

    reported_by = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    flow = models.CharField(max_length=80, help_text="Which job, e.g. 'time_entries_to_billing'.")
    source_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    target_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=128, blank=True, help_text="The job's own run id, if it has one.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    records_total = models.PositiveIntegerField(null=True, blank=True)
    records_succeeded = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    records_skipped = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["workspace", "started_at"])]

    def __str__(self):
        return f"{self.flow} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self):
        return self.status in FINISHED_STATUSES


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SyncEvent(WorkspaceOwned):
    """What happened to one record in one run. Idempotent by ``event_id``.

    The busiest table by far (tens of millions of rows a year). Its foreign keys
    are not enforced by the database: its one writer, ``opsview.ingest.events.store_events``,
    takes references its callers checked against the workspace (the ingest API every
    one it receives), and the per-row checks cost about a third of PostgreSQL's time
    per inserted event (bench/ingest.py). Deletes still cascade through the ORM.

    The systems have no index of their own: every query that names a system also names the
    workspace and a record or a period, which the indexes below serve; a firm has a handful
    of systems, so an index by system finds a large share of its events, and the two cost
    every inserted event two more index entries. Deleting a system (nothing in the app
    does) reads the table through.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    event_id = models.CharField(max_length=128)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_constraint=False
    )
    record_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    source_system = models.ForeignKey(
        "systems.System", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    target_system = models.ForeignKey(
        "systems.System", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    payload = models.JSONField(null=True, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "event_id"], name="sync_event_id_per_workspace")]
        indexes = [
            RecordIndex(
                fields=["workspace", "record_type", "external_id", "occurred_at"], name="sync_event_record_idx"
            ),
            # The last day's success rate of every firm (the portfolio) is read from the index only.
            models.Index(fields=["workspace", "occurred_at"], include=["outcome"], name="sync_event_time_idx"),
            # Failures are one event in fifty: what blocks a manager's projects, the failed events of a day and the
            # queue's backfill find them without reading the other forty-nine.
            models.Index(
                fields=["workspace", "occurred_at"], condition=models.Q(outcome="failed"), name="sync_event_failed_idx"
            ),
        ]

    def __str__(self):
        return f"{self.record_type} {self.external_id} {self.outcome}"
