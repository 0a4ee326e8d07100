"""Sign-in lockouts (django-axes): where a sign-in comes from, and the audit entry a lockout leaves."""

import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.dispatch import receiver

from opsview.audit.trail import record
from opsview.workspaces.models import Membership

log = logging.getLogger(__name__)


def client_address(request):
    """The address a sign-in came from.

    Behind the TLS proxy (OPSVIEW_PROXY_SSL_HEADER set) every request reaches the app from the proxy,
    so the client is the right-most address of X-Forwarded-For: the one the proxy itself appended,
    which a client cannot forge. Without a proxy, the connection's address.
    """
    if getattr(settings, "OPSVIEW_BEHIND_PROXY", False):
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    """Every workspace the account belongs to records the lockout, so its admins see it in the audit trail."""
    log.warning("Sign-in locked out: username=%r address=%s", username, ip_address)
    user = get_user_model().objects.filter(username=username).first() if username else None
    if user is None:
        return
    note = f"{settings.AXES_FAILURE_LIMIT} failed sign-ins; from {ip_address or 'an unknown address'}"
    for membership in Membership.objects.filter(user=user).select_related("workspace"):
        record(
            membership.workspace,
            None,
            "account.locked_out",
            user,
            None,
            {"locked": True},
            note=note,
            actor_label="sign-in throttle",
        )
