"""The workspace's own pages: its overview and sync runs for every member, its branding for its admins."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from opsview.firms.checklist import onboarding
from opsview.front.filtersets import SyncEventFilterSet, SyncRunFilterSet
from opsview.front.forms import BrandingForm
from opsview.front.services import update_branding
from opsview.kpis.sync import recent_sync_totals
from opsview.records.models import Client, Invoice, Person, Project, TimeEntry
from opsview.systems.models import System
from opsview.telemetry.models import RunStatus, SyncEvent, SyncRun
from opsview.workspaces.http import require_workspace
from opsview.workspaces.permissions import ADMINISTER, can

PAGE_SIZE = 50


@login_required
def home(request):
    workspace = request.workspace
    if workspace is None:
        return render(request, "front/home.html")
    # The sync success KPI's counts over the last 7 local calendar days, as the dashboards count them.
    outcomes = recent_sync_totals(workspace, request.user)
    record_counts = [
        (model._meta.verbose_name_plural, model.objects.visible_to(request.user, workspace).count())
        for model in (Client, Project, Person, TimeEntry, Invoice)
    ]
    context = {
        "systems": System.objects.visible_to(request.user, workspace).connected(),
        "recent_runs": SyncRun.objects.visible_to(request.user, workspace).select_related(
            "source_system", "target_system"
        )[:10],
        "outcomes": outcomes,
        "record_counts": record_counts,
        # Admins set the firm up: they see what is left while anything is.
        "checklist": onboarding(workspace) if can(request.user, workspace, ADMINISTER) else None,
    }
    return render(request, "front/home.html", context)


@login_required
def sync_runs(request):
    workspace = require_workspace(request)
    runs = SyncRun.objects.visible_to(request.user, workspace).select_related("source_system", "target_system")
    filterset = SyncRunFilterSet(request.GET, runs)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": filterset.asked("status"),
        "statuses": RunStatus.choices,
        "system": filterset.asked("system"),
        "systems": System.objects.visible_to(request.user, workspace).only("id", "name"),
    }
    return render(request, "front/sync_runs.html", context)


@login_required
def sync_run(request, pk):
    workspace = require_workspace(request)
    run = get_object_or_404(
        SyncRun.objects.visible_to(request.user, workspace).select_related("source_system", "target_system"), pk=pk
    )
    events = SyncEvent.objects.visible_to(request.user, workspace).filter(run=run).order_by("occurred_at", "id")
    filterset = SyncEventFilterSet(request.GET, events)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "front/sync_run.html", {"run": run, "page": page, "outcome": filterset.asked("outcome")})


@login_required
def branding(request):
    workspace = require_workspace(request)
    if not can(request.user, workspace, ADMINISTER):
        raise PermissionDenied("Only workspace admins change the branding.")
    form = BrandingForm(request.POST or None, request.FILES or None, instance=workspace)
    if request.method == "POST" and form.is_valid():
        logo = form.cleaned_data["logo"]
        update_branding(
            request.user,
            workspace,
            form.cleaned_data["name"],
            form.cleaned_data["accent_color"],
            logo=logo.read() if logo else None,
            logo_type=logo.content_type if logo else "",
            remove_logo=form.cleaned_data["remove_logo"],
        )
        messages.success(request, "Branding saved; every page of this workspace shows it now.")
        return redirect("branding")
    return render(request, "front/branding.html", {"form": form})
