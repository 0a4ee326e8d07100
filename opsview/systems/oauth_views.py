"""Connecting Xero from the browser: the Connect button, Xero's callback, and choosing the organisation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from opsview.systems import xero
from opsview.systems.models import System
from opsview.workspaces.http import require_admin


def redirect_uri(request):
    """The callback's absolute URL: what the admin pastes into the Xero app, and what every request names."""
    return request.build_absolute_uri(reverse("xero-callback"))


def _system(request, pk):
    workspace = require_admin(request)
    return get_object_or_404(System.objects.visible_to(request.user, workspace).connected(), pk=pk)


@login_required
@require_POST
def connect(request, pk):
    """Send the admin to Xero's consent page for this system (admins of its workspace only)."""
    system = _system(request, pk)
    try:
        url = xero.start(request.user, system, request.session, redirect_uri(request))
    except xero.XeroConnectError as problem:
        messages.error(request, str(problem))
        return redirect("system-edit", system.pk)
    return redirect(url)


@login_required
def callback(request):
    """Where Xero sends the browser back: check the state, exchange the code, connect the organisation."""
    workspace = require_admin(request)
    system_id = xero.take_state(request.session, request.GET.get("state") or "", request.user)
    if system_id is None:
        return render(
            request,
            "400.html",
            {
                "problem": "This Xero answer does not match a Connect to Xero pressed in this session "
                "(missing, expired or already used state). Press Connect to Xero again."
            },
            status=400,
        )
    system = get_object_or_404(System.objects.visible_to(request.user, workspace).connected(), pk=system_id)
    if request.GET.get("error"):
        words = request.GET.get("error_description") or request.GET["error"]
        messages.error(request, f"Xero did not connect {system.name}: {words[:300]}")
        return redirect("system-edit", system.pk)
    code = request.GET.get("code") or ""
    if not code:
        messages.error(request, "Xero came back without an authorization code. Press Connect to Xero again.")
        return redirect("system-edit", system.pk)
    try:
        tenants = xero.finish(request.user, system, code, redirect_uri(request), request.session)
    except xero.XeroConnectError as problem:
        messages.error(request, str(problem))
        return redirect("system-edit", system.pk)
    if len(tenants) > 1:
        return redirect("xero-tenant", system.pk)
    messages.success(request, f"{system.name} is connected to Xero organisation {tenants[0].name}.")
    return redirect("system-edit", system.pk)


@login_required
def choose_tenant(request, pk):
    """Choose which of the organisations Xero connected this system reads and sends to."""
    system = _system(request, pk)
    tenants = xero.tenants_waiting(request.session, system)
    if not tenants:
        messages.error(request, "No Xero organisations wait for a choice: press Connect to Xero first.")
        return redirect("system-edit", system.pk)
    problem = ""
    if request.method == "POST":
        try:
            xero.choose_tenant(request.user, system, request.POST.get("tenant") or "", tenants, request.session)
        except xero.XeroConnectError as refused:
            problem = str(refused)
        else:
            messages.success(
                request, f"{system.name} is connected to Xero organisation {system.connector_settings['tenant_name']}."
            )
            return redirect("system-edit", system.pk)
    return render(
        request,
        "systems/xero_tenant.html",
        {"system": system, "tenants": tenants, "problem": problem},
        status=400 if problem else 200,
    )
