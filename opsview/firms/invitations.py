"""Inviting people by e-mail: the invitation, its signed link, the mail, and accepting it.

The link carries the invitation's id signed with the secret key (a salt of its own), so a changed link is
refused; whether it still works (not expired, revoked or used) is the invitation's row's to say, so a
revoked link stops working at once and a resent one works again.
"""

from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from opsview.audit.trail import record
from opsview.notify.services import absolute_url
from opsview.workspaces.models import Invitation, Membership
from opsview.workspaces.permissions import ADMINISTER, require
from opsview.workspaces.roles import Role

SALT = "opsview.firms.invitation"


class InvitationRefused(ValueError):
    """The invitation cannot be sent or accepted as asked; the message says why in the reader's words."""


class LinkRefused(Exception):
    """An invitation link that does not work; ``status`` is the HTTP status the page answers with."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def valid_days():
    return getattr(settings, "OPSVIEW_INVITATION_DAYS", 7)


def token_for(invitation):
    return signing.dumps({"invitation": invitation.pk}, salt=SALT)


def link_for(invitation, base_url=None):
    """The absolute link the invited person opens; ``base_url`` (the address the admin uses) or OPSVIEW_BASE_URL."""
    path = reverse("invitation-accept", kwargs={"token": token_for(invitation)})
    return base_url.rstrip("/") + path if base_url else absolute_url(path)


def existing_member(workspace, email):
    return Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists()


def _state(invitation):
    return {"email": invitation.email, "role": invitation.role, "expires_at": invitation.expires_at.isoformat()}


@transaction.atomic
def invite(actor, workspace, email, role, base_url=None):
    """Invite ``email`` to ``workspace`` in ``role`` and send them the link; returns the Invitation."""
    require(actor, workspace, ADMINISTER)
    Role(role)
    email = email.strip()
    if existing_member(workspace, email):
        raise InvitationRefused(f"{email} is a member of {workspace} already: change their role instead.")
    if Invitation.objects.pending().filter(workspace=workspace, email__iexact=email).exists():
        raise InvitationRefused(f"{email} has an invitation waiting already: resend it instead.")
    now = timezone.now()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        invited_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=valid_days()),
    )
    record(workspace, actor, "invitation.sent", invitation, after=_state(invitation))
    send_invitation(invitation, base_url)
    return invitation


def pending_of(workspace):
    return Invitation.objects.pending().filter(workspace=workspace).select_related("invited_by")


@transaction.atomic
def resend(actor, invitation, base_url=None):
    """Send a pending invitation again, valid for another full period from now."""
    require(actor, invitation.workspace, ADMINISTER)
    before = _state(invitation)
    invitation.expires_at = timezone.now() + timedelta(days=valid_days())
    invitation.save(update_fields=["expires_at"])
    record(invitation.workspace, actor, "invitation.resent", invitation, before=before, after=_state(invitation))
    send_invitation(invitation, base_url)
    return invitation


@transaction.atomic
def revoke(actor, invitation):
    """Withdraw a pending invitation: its link stops working."""
    require(actor, invitation.workspace, ADMINISTER)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(invitation.workspace, actor, "invitation.revoked", invitation, before=_state(invitation), after=None)


def send_invitation(invitation, base_url=None):
    """The invitation mail, in the firm's name and, for a partner's firm, its partner's (the partner's brand)."""
    workspace = invitation.workspace
    context = {
        "invitation": invitation,
        "workspace": workspace,
        "partner": workspace.partner,
        "inviter": invitation.invited_by,
        "link": link_for(invitation, base_url),
        "role": invitation.get_role_display(),
    }
    by = f" (run by {workspace.partner.name})" if workspace.partner_id else ""
    # The sender's name is the partner's (or the firm's): people open mail from someone they know.
    sender = formataddr((workspace.partner.name if workspace.partner_id else workspace.name, from_address()))
    send_mail(
        f"You are invited to {workspace.name}{by} on opsview",
        render_to_string("firms/invitation_email.txt", context),
        sender,
        [invitation.email],
    )


def from_address():
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL


def invitation_from_token(token):
    """The invitation a link names, if it still works; else LinkRefused saying why, with its status."""
    try:
        pk = signing.loads(token, salt=SALT)["invitation"]
    except (signing.BadSignature, KeyError, TypeError):
        raise LinkRefused(
            "This invitation link is not valid: it may have been cut short or changed. "
            "Open the link from the e-mail exactly as it is, or ask for a new invitation.",
            400,
        ) from None
    invitation = Invitation.objects.select_related("workspace", "workspace__partner").filter(pk=pk).first()
    if invitation is None or invitation.revoked_at:
        raise LinkRefused("This invitation was withdrawn. Ask the firm's admin for a new one if you need access.", 410)
    if invitation.accepted_at:
        raise LinkRefused(
            "This invitation has been used already. Sign in with the account it created, or ask for a new one.", 410
        )
    if invitation.expires_at <= timezone.now():
        raise LinkRefused(
            f"This invitation expired on {timezone.localtime(invitation.expires_at):%d %B %Y}. "
            "Ask the firm's admin to send it again.",
            410,
        )
    return invitation


def account_for(invitation):
    """The active account with the invitation's address, if there is one."""
    return get_user_model().objects.filter(email__iexact=invitation.email, is_active=True).order_by("pk").first()


@transaction.atomic
def accept(invitation, user):
    """``user`` joins the invitation's firm in its role; the invitation is used up. Returns the Membership."""
    # Locked, so two clicks on the same link cannot both use it.
    invitation = Invitation.objects.select_for_update().select_related("workspace").get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= timezone.now():
        raise InvitationRefused("This invitation cannot be used any more.")
    if user.email.lower() != invitation.email.lower():
        raise InvitationRefused(f"This invitation is for {invitation.email}, not for {user.get_username()}.")
    membership, created = Membership.objects.get_or_create(
        user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
    )
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(
        invitation.workspace,
        user,
        "invitation.accepted",
        invitation,
        before=_state(invitation),
        after={"user": user.get_username(), "role": membership.role, "already_member": not created},
    )
    return membership


@transaction.atomic
def accept_as_new_person(invitation, username, password, first_name="", last_name=""):
    """Make the account the invitation asks for and accept it; returns the new user."""
    user = get_user_model().objects.create_user(
        username, invitation.email, password, first_name=first_name, last_name=last_name
    )
    accept(invitation, user)
    return user
