import calendar
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from opsview.workspaces.roles import Role
from opsview.workspaces.theme import DEFAULT_ACCENT


class PartnerRole(models.TextChoices):
    """What a member of a partner organisation is in every firm of that organisation."""

    ADMIN = "admin", "Partner admin"
    OPERATOR = "operator", "Partner operator"


class Partner(models.Model):
    """A partner organisation (ERP partner, MSP) that runs opsview for many client firms under its own brand."""

    name = models.CharField(max_length=200, help_text="Shown on the sign-in page, in the header and in alert messages.")
    slug = models.SlugField(max_length=80, unique=True)
    host = models.CharField(
        max_length=200,
        blank=True,
        help_text="The host name its clients sign in at, e.g. ops.partner.example: that sign-in page shows its brand. "
        "Empty: its brand shows where it is the only partner.",
    )
    accent_color = models.CharField(
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", f"A colour like {DEFAULT_ACCENT}.")],
        help_text="Colour of the sign-in page and of firms without their own, #rrggbb.",
    )
    logo_updated_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Set while it has a logo.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:80]
        super().save(*args, **kwargs)


class PartnerLogo(models.Model):
    """A partner's logo image, kept apart like a workspace's."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="logo")
    content = models.BinaryField()
    content_type = models.CharField(max_length=40)

    def __str__(self):
        return f"logo of {self.partner}"


class PartnerMembership(models.Model):
    """A member of a partner's staff. ``partners.sync_partner_access`` turns it into a role in each of its firms."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_memberships")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=16, choices=PartnerRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "partner"], name="one_role_per_partner")]
        ordering = ["partner__name", "user__username"]

    def __str__(self):
        return f"{self.user} at {self.partner} as {self.role}"


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
        default=400,
        help_text="Sync events older than this many days are removed by `manage.py prune`, "
        "except those an open exception still needs.",
    )
    billing_cutoff_day = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(28)],
        help_text="Day of the month by which time must be approved for billing, 1–28; 0 for the month's last day.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="firms",
        help_text="The partner organisation that runs this firm; its staff work here by their partner role.",
    )
    queue_settings_reviewed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When an admin last saved or confirmed the queue settings."
    )
    # Branding, for partners who run opsview for their clients: shown in the header of every page.
    accent_color = models.CharField(
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", f"A colour like {DEFAULT_ACCENT}.")],
        help_text="Header and highlight colour, #rrggbb; empty for opsview's blue.",
    )
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

    def billing_cutoff(self, year, month):
        """The date of the billing cut-off in that month: its ``billing_cutoff_day``, or its last day."""
        last = calendar.monthrange(year, month)[1]
        return date(year, month, self.billing_cutoff_day or last)


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
    # Set on the roles partner staff hold by their partner role; ``partners.sync_partner_access`` keeps them.
    granted_by_partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_role_per_workspace")]
        ordering = ["workspace__name"]

    def __str__(self):
        return f"{self.user} in {self.workspace} as {self.role}"


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        now = now or timezone.now()
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)


class Invitation(models.Model):
    """An invitation by e-mail to join a workspace in a role; its link is signed and works once, until it expires."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} to {self.workspace} as {self.role}"
