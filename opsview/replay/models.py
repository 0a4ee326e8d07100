"""Replays: a failed record sent to its target system again, in the background, exactly once in effect.

A replay belongs to one exception. Its idempotency key is derived from the record and the
version of the payload sent, so a double click, two operators or a worker that retries after
a crash all carry the same key: the target (or its lookup) recognises the second send. At
most one replay of an exception is active (queued, running or waiting to retry) at a time.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsview.workspaces.scoping import WorkspaceOwned, WorkspaceQuerySet


class ReplayStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Waiting to retry"
    SUCCEEDED = "succeeded", "Succeeded"
    DUPLICATE = "duplicate", "Already there"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (ReplayStatus.QUEUED, ReplayStatus.RUNNING, ReplayStatus.RETRYING)
CLAIMABLE = (ReplayStatus.QUEUED, ReplayStatus.RETRYING)


class Replay(WorkspaceOwned):
    MANAGER_SCOPE = "exception__project__manager__user"

    exception = models.ForeignKey("queues.ExceptionItem", on_delete=models.CASCADE, related_name="replays")
    batch = models.UUIDField(default=uuid.uuid4, help_text="Replays requested together share it.")
    target_system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    idempotency_key = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=ReplayStatus.choices, default=ReplayStatus.QUEUED)
    original_payload = models.JSONField(null=True, blank=True, help_text="The payload as last reported.")
    edited_payload = models.JSONField(null=True, blank=True, help_text="The operator's edit, when there is one.")
    payload = models.JSONField(null=True, blank=True, help_text="What is sent: the edit or original, mapped.")
    mappings_applied = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    last_error_code = models.CharField(max_length=80, blank=True)
    last_error = models.TextField(blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    verified = models.BooleanField(default=False, help_text="Read back from the target after sending.")
    result = models.JSONField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # A double click or two operators at once: the second active replay is not created.
            models.UniqueConstraint(
                fields=["exception"], condition=Q(status__in=ACTIVE), name="one_active_replay_per_exception"
            )
        ]
        indexes = [models.Index(fields=["workspace", "batch"]), models.Index(fields=["exception", "requested_at"])]

    def __str__(self):
        return f"replay of {self.record_type} {self.external_id}"

    @property
    def is_active(self):
        return self.status in ACTIVE

    @property
    def gave_up(self):
        return self.status == ReplayStatus.FAILED and self.attempts >= self.max_attempts


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Accepted"
    DUPLICATE = "duplicate", "Already there"
    FAILED = "failed", "Refused"
    CONNECTION = "connection", "Could not connect"
    CANCELLED = "cancelled", "Not sent"


class ReplayAttempt(WorkspaceOwned):
    """One try at sending a replay: what was asked, what the target answered.

    Kept on the replay, never as a sync event: the exception keeps the kind, group and
    fingerprint its integration job's failure gave it, and the sync KPIs count only the
    jobs' own outcomes.
    """

    MANAGER_SCOPE = "replay__exception__project__manager__user"

    replay = models.ForeignKey(Replay, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(default=timezone.now)
    request = models.JSONField(default=dict, help_text="What was sent: target, record, idempotency key, fields.")
    response = models.JSONField(null=True, blank=True, help_text="What the target answered.")
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["replay", "number"])]

    def __str__(self):
        return f"attempt {self.number} of {self.replay}"


class SourceResend(WorkspaceOwned):
    """An operator's choice to let the source job resend a record instead of replaying it.

    The exception stays open, with its money, until a later succeeded sync event for its
    record resolves it; this row only says who chose to wait, and when.
    """

    MANAGER_SCOPE = "exception__project__manager__user"

    exception = models.OneToOneField("queues.ExceptionItem", on_delete=models.CASCADE, related_name="source_resend")
    mapping = models.ForeignKey("queues.Mapping", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    def __str__(self):
        return f"waiting for the source to resend {self.exception}"
