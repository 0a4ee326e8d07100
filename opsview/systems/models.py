"""Connected systems and the API tokens their integration jobs use.

The tables were created when these models lived in ``workspaces``; they keep those
names (``db_table``) so that moving the models into their own app moved no data.
"""

import functools
import hashlib
import secrets

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from opsview.common.rawrows import Selected
from opsview.systems import credentials
from opsview.workspaces.scoping import WorkspaceOwned, WorkspaceQuerySet


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


# opsview's own outgoing alerts (opsview.notify) hang their undelivered-alert exceptions on a system of this
# vendor; it is no connected application, so the systems pages leave it out (``connected``).
OWN_VENDOR = "opsview"


class SystemQuerySet(WorkspaceQuerySet):
    def connected(self):
        """The connected applications, without opsview's own alerts system."""
        return self.exclude(vendor=OWN_VENDOR)


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

    objects = SystemQuerySet.as_manager()

    # The audit trail named systems this before they had their own app; one name keeps each history whole.
    AUDIT_TYPE = "workspaces.system"

    class Meta:
        db_table = "workspaces_system"
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

    def with_key(self, raw):
        """The token whose key is ``raw``, its system and workspace loaded with it; None if there is none.

        Every ingest request authenticates: one hand-written query (``common.rawrows``) instead of the ORM's
        ``select_related``, which cost more CPU than the rest of a small request.
        """
        parts = _token_parts()
        token_table, system_table, workspace_table = (connection.ops.quote_name(p.model._meta.db_table) for p in parts)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(part.columns() for part in parts)} FROM {token_table} t "
                f"JOIN {system_table} s ON s.id = t.system_id JOIN {workspace_table} w ON w.id = t.workspace_id "
                "WHERE t.key_hash = %s",
                [hash_token(raw)],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        token_part, system_part, workspace_part = parts
        token = token_part.instance(row[: len(token_part)])
        token.system = system_part.instance(row[len(token_part) : len(token_part) + len(system_part)])
        token.workspace = workspace_part.instance(row[len(token_part) + len(system_part) :])
        return token


@functools.cache
def _token_parts():
    from opsview.workspaces.models import Workspace

    return Selected(ApiToken, "t"), Selected(System, "s"), Selected(Workspace, "w")


class ApiToken(WorkspaceOwned):
    """An integration job's credential: one system of one workspace. Stored hashed."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=120, help_text="What uses this token, e.g. 'nightly Harvest sync'.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="First characters, to tell tokens apart.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set once, by the first write the token makes that the API accepts (see IntegrationView): "data arrived".
    first_batch_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    AUDIT_TYPE = "workspaces.apitoken"  # as for System

    class Meta:
        db_table = "workspaces_apitoken"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def record_first_batch(self):
        """Remember that the API accepted data sent with this token, the first time only (one UPDATE, once)."""
        if self.first_batch_at is not None:
            return
        now = timezone.now()
        ApiToken.objects.filter(pk=self.pk, first_batch_at__isnull=True).update(first_batch_at=now)
        self.first_batch_at = now

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
