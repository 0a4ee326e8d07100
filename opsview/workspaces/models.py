import hashlib
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from opsview.workspaces import credentials
from opsview.workspaces.roles import Role
from opsview.workspaces.scoping import WorkspaceOwned, WorkspaceQuerySet


class WorkspaceManager(models.Manager):
    def visible_to(self, user):
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user).distinct()


class Workspace(models.Model):
    """One client firm's data. Every other row belongs to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    currency = models.CharField(max_length=3, default="EUR", help_text="Reporting currency, ISO 4217.")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="Where month ends fall, e.g. Europe/Berlin.")
    event_retention_days = models.PositiveIntegerField(
        default=400, help_text="Sync events older than this many days are removed by `manage.py prune`, "
        "except those an open exception still needs.",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)
    # Branding, for partners who run opsview for their clients: shown in the header of every page.
    accent_color = models.CharField(
        max_length=7, blank=True, validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #2456a6.")],
        help_text="Header and highlight colour, #rrggbb; empty for opsview's blue.",
    )  # fmt: skip
    logo_updated_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Set while it has a logo.")

    objects = WorkspaceManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:80]
        super().save(*args, **kwargs)


class WorkspaceLogo(models.Model):
    """A workspace's logo image, kept apart so loading a workspace never loads its bytes."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="logo")
    content = models.BinaryField()
    content_type = models.CharField(max_length=40)

    def __str__(self):
        return f"logo of {self.workspace}"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_role_per_workspace")]
        ordering = ["workspace__name"]

    def __str__(self):
        return f"{self.user} in {self.workspace} as {self.role}"


class SystemKind(models.TextChoices):
    TIME_TRACKING = "time_tracking", "Time tracking"
    BILLING = "billing", "Billing"
    ERP = "erp", "ERP"
    PSA = "psa", "PSA"
    OTHER = "other", "Other"


class ConnectionStatus(models.TextChoices):
    UNTESTED = "untested", "Not tested yet"
    OK = "ok", "Connected"
    FAILING = "failing", "Failing"


class System(WorkspaceOwned):
    """A connected application: time tracking, billing, ERP or PSA."""

    slug = models.SlugField(max_length=60, help_text="Short name integration jobs use, e.g. 'harvest'.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=SystemKind.choices)
    vendor = models.CharField(max_length=40, blank=True, help_text="harvest, clockify, xero, tryton, webhook…")
    is_active = models.BooleanField(default=True)
    connector_settings = models.JSONField(
        default=dict, blank=True, help_text="Non-secret connector settings, e.g. base URL, database, poll schedule."
    )
    credentials_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # What the last connection test, pull or replay learnt about reaching the system.
    connection_status = models.CharField(
        max_length=10, choices=ConnectionStatus.choices, default=ConnectionStatus.UNTESTED, editable=False
    )
    connection_detail = models.TextField(blank=True, editable=False, help_text="In the vendor's words, never secrets.")
    connection_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="system_slug_per_workspace")]
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def credentials(self):
        """The decrypted credentials, for connectors only; never render them."""
        return credentials.decrypt(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, values):
        self.credentials_encrypted = credentials.encrypt(values) if values else ""

    def record_connection(self, ok, detail):
        """Remember whether the system could be reached, and why not; saves only those fields."""
        self.connection_status = ConnectionStatus.OK if ok else ConnectionStatus.FAILING
        self.connection_detail = detail[:2000]
        self.connection_checked_at = timezone.now()
        self.save(update_fields=["connection_status", "connection_detail", "connection_checked_at"])

    def masked_credentials(self):
        try:
            return {name: credentials.mask(value) for name, value in self.credentials.items()}
        except credentials.CredentialsUnreadable as problem:
            return {"error": str(problem)}


TOKEN_PREFIX = "opv_"


def hash_token(raw):
    # Tokens are 256 random bits, so a fast hash is as safe as a slow one and
    # keeps every authenticated request at one indexed lookup.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(WorkspaceQuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(WorkspaceOwned):
    """An integration job's credential: one system of one workspace. Stored hashed."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=120, help_text="What uses this token, e.g. 'nightly Harvest sync'.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="First characters, to tell tokens apart.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @classmethod
    def issue(cls, system, name, created_by=None):
        """Create a token and return ``(token, raw)``; ``raw`` is never stored or shown again."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            workspace=system.workspace,
            system=system,
            name=name,
            key_hash=hash_token(raw),
            hint=raw[: len(TOKEN_PREFIX) + 6],
            created_by=created_by,
        )
        return token, raw
