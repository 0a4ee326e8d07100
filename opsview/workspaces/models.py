import calendar
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from opsview.workspaces.roles import Role
from opsview.workspaces.theme import DEFAULT_ACCENT


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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_role_per_workspace")]
        ordering = ["workspace__name"]

    def __str__(self):
        return f"{self.user} in {self.workspace} as {self.role}"
