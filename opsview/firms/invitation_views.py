"""Opening an invitation link: a new person makes their account, an existing one signs in, then joins the firm."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import redirect, render

from opsview.firms import invitations
from opsview.firms.forms import NewPersonForm
from opsview.workspaces.middleware import SESSION_KEY

# The sign-in backends are the throttle first, then Django's: an invited person is signed in by Django's.
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _refused(request, message, status):
    return render(request, "firms/invitation_refused.html", {"reason": message}, status=status)


def _into_the_firm(request, invitation):
    request.session[SESSION_KEY] = invitation.workspace_id
    messages.success(request, f"Welcome to {invitation.workspace.name}.")
    return redirect("home")


def invitation_accept(request, token):
    try:
        invitation = invitations.invitation_from_token(token)
    except invitations.LinkRefused as refusal:
        return _refused(request, str(refusal), refusal.status)
    context = {"invitation": invitation, "workspace_invited": invitation.workspace}
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email.lower():
            context["wrong_account"] = True
            return render(request, "firms/invitation_accept.html", context, status=403)
        if request.method == "POST":
            try:
                invitations.accept(invitation, request.user)
            except invitations.InvitationRefused as refusal:
                return _refused(request, str(refusal), 410)
            return _into_the_firm(request, invitation)
        return render(request, "firms/invitation_accept.html", context)
    if invitations.account_for(invitation) is not None:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        context["sign_in_first"] = True
        return render(request, "firms/invitation_accept.html", context)
    form = NewPersonForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                user = invitations.accept_as_new_person(
                    invitation, data["username"], data["password1"], data["first_name"], data["last_name"]
                )
        except invitations.InvitationRefused as refusal:
            return _refused(request, str(refusal), 410)
        login(request, user, backend=BACKEND)
        return _into_the_firm(request, invitation)
    context["form"] = form
    return render(request, "firms/invitation_accept.html", context, status=400 if form.errors else 200)
