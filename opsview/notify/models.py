"""Where messages go (chat channels; e-mail goes to each user's address) and every delivery, as sent and answered."""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsview.systems import credentials
from opsview.workspaces.scoping import WorkspaceOwned, WorkspaceQuerySet


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack (incoming webhook)"
    TEAMS = "teams", "Microsoft Teams (workflow webhook)"
    WEBHOOK = "webhook", "Signed webhook (JSON)"


class ChannelQuerySet(WorkspaceQuerySet):
    def active(self):
        return self.filter(is_active=True)


def masked_url(url):
    """A webhook URL as pages show it: its host and the last characters of the rest, never its token."""
    if not url:
        return ""
    parts = urlsplit(url)
    rest = (parts.path + ("?" + parts.query if parts.query else "")).rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/{credentials.mask(rest)}"


class Channel(WorkspaceOwned):
    """A chat room or endpoint an admin set up to receive the workspace's alerts."""

    name = models.CharField(max_length=120, help_text="How people know it, e.g. '#finance-alerts'.")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # The webhook URL (its path is the credential) and the signing secret, encrypted together.
    secrets_encrypted = models.TextField(blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="channel_name_per_workspace")]
        ordering = ["name"]

    def __str__(self):
        return self.name

    def _secrets(self):
        return credentials.decrypt(self.secrets_encrypted)

    def set_secrets(self, url=None, secret=None):
        """Replace the URL and/or the signing secret; ``None`` keeps what is stored."""
        values = self._secrets() if self.secrets_encrypted else {}
        if url is not None:
            values["url"] = url
        if secret is not None:
            values["secret"] = secret
        self.secrets_encrypted = credentials.encrypt(values)

    @property
    def url(self):
        """The webhook URL, for sending only; never render it."""
        return self._secrets().get("url", "")

    @property
    def secret(self):
        """The signing secret, for sending only; never render it."""
        return self._secrets().get("secret", "")

    def masked_url(self):
        try:
            return masked_url(self.url)
        except credentials.CredentialsUnreadable as problem:
            return str(problem)

    def masked_secret(self):
        if self.kind != ChannelKind.WEBHOOK:
            return ""
        try:
            return credentials.mask(self.secret) if self.secret else "none"
        except credentials.CredentialsUnreadable as problem:
            return str(problem)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


# A delivery a worker may still send.
SENDABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class Delivery(WorkspaceOwned):
    """One message to one user (by e-mail) or one channel: what, to whom, when, and what came back."""

    uid = models.UUIDField(default=uuid.uuid4, editable=False, help_text="The message id receivers see (webhook-id).")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.CharField(max_length=254, blank=True, help_text="The e-mail address, or the masked webhook URL.")
    topic = models.CharField(max_length=120, blank=True)
    subject = models.CharField(max_length=255)
    body = models.TextField(help_text="The message as plain text, as the e-mail's text part shows it.")
    lines = models.JSONField(default=list)
    link = models.URLField(max_length=1000)
    link_label = models.CharField(max_length=80, default="Open in opsview")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took its current attempt.")
    last_error = models.TextField(blank=True, help_text="The last failed attempt's answer; never a secret.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP or SMTP status.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "status", "-created_at"], name="delivery_log_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__isnull=True) | models.Q(user__isnull=True), name="delivery_one_recipient"
            )
        ]

    def __str__(self):
        return f"{self.subject[:120]} → {self.recipient}"

    @property
    def recipient(self):
        """Who it is for, in words: the channel's name, or the user's name and address."""
        if self.channel_id:
            return self.channel.name
        return self.address or (self.user.get_username() if self.user else "a removed user")

    @property
    def is_email(self):
        return self.channel_id is None
