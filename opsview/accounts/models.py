"""Personal API tokens: a person's own credential for the operations and KPI APIs.

A personal token acts as its user, nothing more: the firms and roles are read afresh on every request,
so a changed role, a removed membership or a deactivated account takes effect on the next call. It is
stored hashed, like an integration token, and told apart from one by its prefix (``opp_`` against
``opv_``), so the API knows which kind it is before looking it up.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsview.systems.models import hash_token

PERSONAL_TOKEN_PREFIX = "opp_"


class PersonalTokenQuerySet(models.QuerySet):
    def of(self, user):
        """The tokens ``user`` owns: nobody else lists, uses or revokes them."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class PersonalToken(models.Model):
    """A person's API token. Stored hashed; ``hint`` tells tokens apart in lists and on the audit trail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens")
    name = models.CharField(max_length=120, help_text="What uses this token, e.g. 'Power BI' or 'month-end script'.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PersonalTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, user, name, expires_at=None):
        """Create a token for ``user``; returns ``(token, raw)``. ``raw`` is never stored or shown again."""
        raw = PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            key_hash=hash_token(raw),
            hint=raw[: len(PERSONAL_TOKEN_PREFIX) + 6],
            expires_at=expires_at,
        )
        return token, raw

    def is_expired(self, now=None):
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def state(self):
        """In words: active, revoked or expired."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired() else "active"
