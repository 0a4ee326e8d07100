"""A person's own API tokens: create one (shown once), list them, revoke one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsview.accounts.forms import PersonalTokenForm
from opsview.accounts.models import PersonalToken
from opsview.accounts.tokens import TokenRefused, issue_personal_token, revoke_personal_token


@login_required
def personal_tokens(request):
    form = PersonalTokenForm(request.POST or None)
    new_token, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, new_token = issue_personal_token(
                    request.user, form.cleaned_data["name"], form.cleaned_data["lifetime"]
                )
            except TokenRefused as refusal:
                form.add_error("name", str(refusal))
            else:
                messages.success(request, f"Token '{token.name}' created. Copy it now: it will not be shown again.")
                form = PersonalTokenForm()
        if form.errors:
            status = 400
    listing = PersonalToken.objects.of(request.user)
    context = {"form": form, "tokens": listing, "new_token": new_token, "firms": request.memberships}
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_POST
def revoke(request, pk):
    token = get_object_or_404(PersonalToken.objects.of(request.user), pk=pk)
    revoke_personal_token(request.user, token)
    messages.success(request, f"Token '{token.name}' revoked; requests using it now get 401.")
    return redirect("personal-tokens")
