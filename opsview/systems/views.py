"""The admin's settings pages for connected systems and their API tokens.

The systems page lists the workspace's systems and adds one; a system's own page (``system-edit``) changes
its settings, tests its connection, creates its integration job's token with an example first batch, and
waits for that batch.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from opsview.systems import schedules, services
from opsview.systems.connection import connection_state
from opsview.systems.examples import first_batch_example
from opsview.systems.forms import SystemForm, SystemTokenForm, TokenForm
from opsview.systems.models import ApiToken, System
from opsview.workspaces.http import require_admin, require_workspace, safe_next

# What a GET may carry into the form while the vendor is chosen: never a secret, which travels only by POST.
CARRIED_ON_VENDOR_CHANGE = ("name", "slug", "kind")


def _system_form(request, instance):
    """The bound form of a POST that saves; else an unbound one for the vendor chosen (GET ``vendor``)."""
    if request.method == "POST" and "choose_vendor" not in request.POST:
        return SystemForm(request.POST, instance=instance)
    source = request.POST if request.method == "POST" else request.GET
    initial = {name: source[name] for name in CARRIED_ON_VENDOR_CHANGE if source.get(name)}
    return SystemForm(instance=instance, vendor=source.get("vendor"), initial=initial)


def _save(request, form):
    system = form.save(commit=False)
    system.connector_settings = form.connector_settings()
    return services.save_system(request.user, system, form.credential_changes())


@login_required
def systems(request):
    """The workspace's connected systems, and the form that adds one (its vendor first, then its settings)."""
    workspace = require_admin(request)
    form = _system_form(request, System(workspace=workspace))
    if form.is_bound and form.is_valid():
        system = _save(request, form)
        messages.success(request, f"System '{system.name}' saved. Test its connection, then create its token.")
        return redirect("system-edit", pk=system.pk)
    if request.htmx and request.method == "GET":
        return render(request, "systems/_system_form.html", {"form": form})
    listing = System.objects.visible_to(request.user, workspace).connected()
    rows = [(system, schedules.describe(system), connection_state(system)) for system in listing]
    return render(request, "systems/systems.html", {"form": form, "rows": rows})


def _system_of(request, pk):
    workspace = require_admin(request)
    listing = System.objects.visible_to(request.user, workspace).connected().select_related("workspace")
    return get_object_or_404(listing, pk=pk)


def _page(request, system, form=None, token_form=None, **extra):
    context = {
        "system": system,
        "form": form or SystemForm(instance=system),
        "state": connection_state(system),
        "pulled": schedules.describe(system),
        "token_form": token_form or SystemTokenForm(initial={"name": f"{system.name} integration job"}),
        "tokens": ApiToken.objects.visible_to(request.user, request.workspace).filter(system=system),
        "received": services.first_data_received(system),
        **extra,
    }
    return render(request, "systems/system.html", context)


@login_required
def system_page(request, pk):
    """One system's page: its settings form, its connection and test, its tokens and first data."""
    system = _system_of(request, pk)
    form = _system_form(request, system)
    if form.is_bound and form.is_valid():
        system = _save(request, form)
        messages.success(request, f"System '{system.name}' saved.")
        return redirect("system-edit", pk=system.pk)
    if request.htmx and request.method == "GET":
        return render(request, "systems/_system_form.html", {"form": form, "system": system})
    # The form shows the system as stored: a rejected form's values are not yet the system's.
    system.refresh_from_db()
    return _page(request, system, form=form)


@login_required
@require_POST
def test_connection(request, pk):
    """Test one system's connection now, as ``check_connections`` does; admins only, audited.

    From the system's page (htmx) the answer replaces its connection panel; otherwise it is a message on
    the page the button was on.
    """
    workspace = require_admin(request)
    system = get_object_or_404(System.objects.visible_to(request.user, workspace), pk=pk)
    ok, detail = services.check_connection(system, request.user)
    if request.htmx:
        outcome = services.connection_outcome(ok, detail)
        context = {"system": system, "state": connection_state(system), "outcome": outcome}
        return render(request, "systems/_connection.html", context)
    if ok:
        messages.success(request, f"{system.name} is connected: {detail}.")
    elif detail.startswith("not connected: "):
        messages.error(request, f"{system.name} is {detail}: set it up with Edit, then test again.")
    else:
        messages.error(request, f"{system.name} could not be reached: {detail}")
    return redirect(safe_next(request, "systems"))


@login_required
@require_POST
def create_system_token(request, pk):
    """Create a token for this system; the page shows it once, with an example first batch that uses it."""
    system = _system_of(request, pk)
    token_form = SystemTokenForm(request.POST)
    if not token_form.is_valid():
        return _page(request, system, token_form=token_form)
    token, raw = services.issue_token(request.user, system, token_form.cleaned_data["name"])
    example = first_batch_example(system, raw, request.build_absolute_uri)
    return _page(request, system, new_token=raw, new_token_name=token.name, example=example)


@login_required
@require_GET
def first_data(request, pk):
    """The "waiting for the first data" panel, which the page asks for again until the first batch is in."""
    system = _system_of(request, pk)
    context = {"system": system, "received": services.first_data_received(system)}
    return render(request, "systems/_first_data.html", context)


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
    return redirect(safe_next(request, "tokens"))
