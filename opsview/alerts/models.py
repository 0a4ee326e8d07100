"""Alerts: the rules admins set per workspace, who chose to receive what and how, and every alert that fired.

An ``Alert`` is one message about one subject (a group, a system, a manager's projects before a cut-off);
its rows are also the throttle's memory: a rule says nothing again about the same subject within its
throttle window. A ``Receipt`` is one user's copy of an alert, sent at once or waiting for their digest.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from opsview.queues.models import Kind
from opsview.workspaces.roles import Role
from opsview.workspaces.scoping import WorkspaceOwned


class RuleKind(models.TextChoices):
    NEW_GROUP = "new_group", "A new exception group appears"
    GROUP_GREW = "group_grew", "A group grows past a number of items or an amount"
    PAST_SLA = "past_sla", "Exceptions pass their SLA"
    SYNC_SUCCESS_LOW = "sync_success_low", "A system's sync success rate falls under a threshold"
    SYSTEM_SILENT = "system_silent", "A system is silent (no sync run)"
    UNAPPROVED_BEFORE_CUTOFF = "unapproved_before_cutoff", "Unapproved time before the billing cut-off"
    CONNECTION_FAILING = "connection_failing", "A system's connection fails"


# Rules about exception groups: the only ones an exception kind narrows.
GROUP_KINDS = (RuleKind.NEW_GROUP, RuleKind.GROUP_GREW, RuleKind.PAST_SLA)


class How(models.TextChoices):
    AT_ONCE = "at_once", "At once"
    DIGEST = "digest", "Daily digest"
    OFF = "off", "Off"


# What a member receives from a rule that names their role until they choose otherwise.
DEFAULT_HOW = {Role.ADMIN: How.AT_ONCE, Role.OPERATOR: How.AT_ONCE, Role.MANAGER: How.DIGEST, Role.EXECUTIVE: How.OFF}


class Rule(WorkspaceOwned):
    """When to alert, in one workspace, and to whom: one kind of condition with the thresholds it needs."""

    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    name = models.CharField(max_length=120, help_text="What the alerts' subject and the pages call it.")
    is_active = models.BooleanField(default=True, help_text="An inactive rule is kept but never checked.")
    items = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text="Group grew: alert when a group holds at least this many open or snoozed exceptions.",
    )
    money = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Group grew: alert when a group holds up at least this much money at stake, in the "
        "workspace's reporting currency (other currencies are not converted).",
    )
    success_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Sync success: alert when a system's success rate over the window is under this percentage.",
    )
    window_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 31)],
        help_text="Sync success: the hours the rate is counted over, up to now.",
    )
    silent_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 31)],
        help_text="System silent: alert when no sync run was reported by or for the system in this many hours.",
    )
    days_before = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(27)],
        help_text="Unapproved time: start reminding this many days before the billing cut-off (0: on the day).",
    )
    system = models.ForeignKey(
        "systems.System",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only this system (where exceptions failed, the system synced, or where time is tracked).",
    )
    exception_kind = models.CharField(
        max_length=24,
        choices=Kind.choices,
        blank=True,
        help_text="Group rules only: only exceptions of this kind.",
    )
    throttle_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 31)],
        help_text="At most one message per subject (a group, a system, a manager's projects) in this many hours.",
    )
    channels = models.ManyToManyField(
        "notify.Channel", blank=True, related_name="+", help_text="Chat channels that also get each alert, at once."
    )
    roles = models.JSONField(
        default=list,
        blank=True,
        help_text="Roles that receive it by e-mail. By default admins and operators at once, project managers "
        "in the daily digest (and only about their own projects), executives not until they choose to; "
        "each person can change this under My alerts.",
    )
    baseline_group_id = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="New groups: the last group there was at the first check."
    )
    checked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The last check. The first records what is there without sending; later ones alert.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    AUDIT_TYPE = "alerts.rule"

    class Meta:
        ordering = ["kind", "name", "id"]

    def __str__(self):
        return self.name

    @property
    def kind_label(self):
        return RuleKind(self.kind).label

    def default_how(self, role):
        """What ``role`` receives without a choice of its own: nothing unless the rule names the role."""
        return DEFAULT_HOW.get(role, How.OFF) if role in self.roles else How.OFF


class Preference(WorkspaceOwned):
    """A member's choice for one rule: at once, in the daily digest, or off.

    Without a row the rule's default for the member's role applies: at once for admins and operators,
    the daily digest for project managers, off for executives (who may choose to receive).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="preferences")
    how = models.CharField(
        max_length=10,
        choices=How.choices,
        help_text="At once, daily digest or off. Default: at once for admins and operators, daily digest for "
        "project managers, off for executives.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "rule"], name="one_alert_preference_per_rule")]

    def __str__(self):
        return f"{self.rule}: {self.get_how_display()}"


class Alert(WorkspaceOwned):
    """One message a rule fired about one subject, with the page behind it."""

    # A manager sees an alert only when every project it concerns is theirs (see rules.Finding.manager_id).
    MANAGER_SCOPE = "manager"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="alerts")
    subject_key = models.CharField(
        max_length=80, help_text="What it is about: group:<id>, system:<id> or manager:<person id>:<cut-off>."
    )
    title = models.CharField(max_length=255)
    lines = models.JSONField(default=list, blank=True)
    link = models.CharField(max_length=500, help_text="The path of the filtered page behind it.")
    fired_at = models.DateTimeField(default=timezone.now)
    measure = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="The figure it fired on (items, money, rate), to tell a group that grew since.",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The project manager whose projects are all it concerns; empty when it is not about one "
        "manager's projects only.",
    )
    baseline = models.BooleanField(
        default=False, help_text="Recorded at the rule's first check, as the state it starts from: not sent."
    )
    deliveries = models.ManyToManyField("notify.Delivery", blank=True, related_name="+")

    class Meta:
        ordering = ["-fired_at", "-id"]
        indexes = [models.Index(fields=["rule", "subject_key", "fired_at"], name="alert_throttle_idx")]

    def __str__(self):
        return self.title


class Digest(WorkspaceOwned):
    """One user's daily digest in one workspace: the alerts that waited for it, sent as one message."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField(help_text="The workspace's calendar day it was sent for.")
    sent_at = models.DateTimeField(default=timezone.now)
    deliveries = models.ManyToManyField("notify.Delivery", blank=True, related_name="+")

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user", "local_date"], name="one_alert_digest_per_day")
        ]


class Receipt(WorkspaceOwned):
    """One user's copy of an alert: sent at once, or waiting for (then in) one digest."""

    MANAGER_SCOPE = "alert__manager"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    how = models.CharField(max_length=10, choices=[c for c in How.choices if c[0] != How.OFF])
    digest = models.ForeignKey(Digest, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="one_alert_receipt_per_user")]
        indexes = [models.Index(fields=["workspace", "how", "digest"], name="alert_digest_waiting_idx")]
