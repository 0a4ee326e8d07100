"""A partner admin's new firm, and a firm's members page for its admins: thin views over the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from opsview.firms import invitations, members
from opsview.firms.forms import FirmForm, InviteForm, RoleForm
from opsview.firms.services import FirmDetails, create_firm
from opsview.workspaces.http import require_workspace
from opsview.workspaces.middleware import SESSION_KEY
from opsview.workspaces.models import Membership
from opsview.workspaces.partners import partners_administered_by
from opsview.workspaces.permissions import ADMINISTER, can
from opsview.workspaces.roles import Role


@login_required
def firm_create(request):
    partners = partners_administered_by(request.user)
    if not partners.exists():
        raise PermissionDenied("Only a partner admin creates firms.")
    form = FirmForm(request.POST or None, partners=partners)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        details = FirmDetails(
            name=data["name"],
            slug=data["slug"],
            time_zone=data["time_zone"],
            currency=data["currency"],
            billing_cutoff_day=data["billing_cutoff_day"],
            accent_color=data["accent_color"],
        )
        try:
            firm = create_firm(request.user, data["partner"], details, template=data["template"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session[SESSION_KEY] = firm.pk
            messages.success(request, f"{firm.name} is ready: its partner staff have their roles.")
            return redirect("home")
    return render(request, "firms/firm_form.html", {"form": form}, status=400 if form.errors else 200)


def require_admin(request):
    """The current firm, if the user administers it; 403 with words for anyone else."""
    workspace = require_workspace(request)
    if not can(request.user, workspace, ADMINISTER):
        raise PermissionDenied("Only this firm's admins manage its members and invitations.")
    return workspace


def _base_url(request):
    return request.build_absolute_uri("/")


def _members_page(request, workspace, invite_form=None, status=200):
    context = {
        "members": members.members_of(workspace),
        "pending": invitations.pending_of(workspace),
        "invite_form": invite_form or InviteForm(),
        "roles": Role.choices,
        "invitation_days": invitations.valid_days(),
    }
    return render(request, "firms/members.html", context, status=status)


@login_required
def member_list(request):
    workspace = require_admin(request)
    form = InviteForm(request.POST or None)
    if request.method != "POST":
        return _members_page(request, workspace)
    if form.is_valid():
        try:
            invitation = invitations.invite(
                request.user, workspace, form.cleaned_data["email"], form.cleaned_data["role"], _base_url(request)
            )
        except invitations.InvitationRefused as refusal:
            form.add_error("email", str(refusal))
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members")
    return _members_page(request, workspace, form, status=400)


def _membership(request, pk):
    workspace = require_admin(request)
    try:
        return members.member_of(workspace, pk)
    except Membership.DoesNotExist:
        raise Http404("No such member of this firm.") from None


def _refused(request, refusal):
    messages.error(request, str(refusal))
    return redirect("members")


@login_required
@require_POST
def member_role(request, pk):
    membership = _membership(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _refused(request, "Choose one of the roles.")
    try:
        members.change_role(request.user, membership, form.cleaned_data["role"])
    except members.MemberChangeRefused as refusal:
        return _refused(request, refusal)
    messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display()}.")
    # An admin who made themselves something else has no members page any more.
    return redirect("home" if membership.user_id == request.user.pk and membership.role != Role.ADMIN else "members")


@login_required
@require_POST
def member_remove(request, pk):
    membership = _membership(request, pk)
    try:
        members.remove_member(request.user, membership)
    except members.MemberChangeRefused as refusal:
        return _refused(request, refusal)
    messages.success(request, f"{membership.user.get_username()} is no longer a member of {membership.workspace}.")
    return redirect("home" if membership.user_id == request.user.pk else "members")


@login_required
@require_POST
def member_deactivate(request, pk):
    membership = _membership(request, pk)
    try:
        members.deactivate_user(request.user, membership)
    except members.MemberChangeRefused as refusal:
        return _refused(request, refusal)
    messages.success(request, f"{membership.user.get_username()}'s account is turned off: they cannot sign in.")
    return redirect("members")


def _invitation(request, pk):
    workspace = require_admin(request)
    invitation = invitations.pending_of(workspace).filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation waiting in this firm.")
    return invitation


@login_required
@require_POST
def invitation_resend(request, pk):
    invitation = invitations.resend(request.user, _invitation(request, pk), _base_url(request))
    messages.success(request, f"Invitation sent to {invitation.email} again.")
    return redirect("members")


@login_required
@require_POST
def invitation_revoke(request, pk):
    invitation = _invitation(request, pk)
    invitations.revoke(request.user, invitation)
    messages.success(request, f"The invitation to {invitation.email} is withdrawn: its link no longer works.")
    return redirect("members")
