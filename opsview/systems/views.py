"""The admin's settings pages for connected systems and their API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsview.systems import schedules, services
from opsview.systems.connection import connection_state
from opsview.systems.forms import SystemForm, TokenForm
from opsview.systems.models import ApiToken, System
from opsview.workspaces.http import require_admin, require_workspace


@login_required
def systems(request, pk=None):
    """The workspace's connected systems, with a form to add one or change the one at ``pk``."""
    workspace = require_admin(request)
    listing = System.objects.visible_to(request.user, workspace).connected()
    instance = get_object_or_404(listing, pk=pk) if pk is not None else System(workspace=workspace)
    form = SystemForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        system = services.save_system(request.user, form.save(commit=False), form.cleaned_data["credentials"])
        messages.success(request, f"System '{system.name}' saved.")
        return redirect("systems")
    rows = [(system, schedules.describe(system), connection_state(system)) for system in listing]
    return render(request, "systems/systems.html", {"form": form, "rows": rows, "editing": pk})


@login_required
@require_POST
def test_connection(request, pk):
    """Test one system's connection now, as ``check_connections`` does; admins only, audited."""
    workspace = require_admin(request)
    system = get_object_or_404(System.objects.visible_to(request.user, workspace), pk=pk)
    ok, detail = services.check_connection(system, request.user)
    if ok:
        messages.success(request, f"{system.name} is connected: {detail}.")
    elif detail.startswith("not connected: "):
        messages.error(request, f"{system.name} is {detail}: set it up with Edit, then test again.")
    else:
        messages.error(request, f"{system.name} could not be reached: {detail}")
    return redirect("systems")


@login_required
def tokens(request):
    workspace = require_admin(request)
    form = TokenForm(request.POST or None, workspace=workspace)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = services.issue_token(request.user, form.cleaned_data["system"], form.cleaned_data["name"])
        messages.success(request, f"Token '{token.name}' created. Copy it now: it will not be shown again.")
        form = TokenForm(workspace=workspace)
    listing = ApiToken.objects.visible_to(request.user, workspace).select_related("system", "created_by")
    return render(request, "systems/tokens.html", {"form": form, "tokens": listing, "new_token": new_token})


@login_required
@require_POST
def revoke_token(request, pk):
    workspace = require_workspace(request)
    token = get_object_or_404(ApiToken.objects.visible_to(request.user, workspace), pk=pk)
    services.revoke_token(request.user, token)
    messages.success(request, f"Token '{token.name}' revoked; jobs using it now get 401.")
    return redirect("tokens")
