"""Replay pages: ask for a replay (one, a selection, a group), its dry run and confirmation, and live status.

Plain POST forms answered with a redirect or a page, so everything works without
JavaScript; the status fragment refreshes itself with htmx while a replay is under way.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from opsview.common.bounds import id_or_none
from opsview.common.masking import readable_json
from opsview.queues import mappings
from opsview.queues.firms import by_firm, refuse_unless_allowed, scope_of
from opsview.queues.models import ExceptionGroup, ExceptionItem
from opsview.queues.policies import masked_fields_for
from opsview.queues.selection import selected
from opsview.queues.services import ActionRefused
from opsview.replay import services, source_resends
from opsview.replay.filtersets import ReplayFilterSet
from opsview.replay.models import ACTIVE, Replay, ReplayStatus
from opsview.replay.payloads import PayloadInvalid
from opsview.workspaces.http import require_workspace
from opsview.workspaces.permissions import ACT, require

STATUS_LIMIT = 200


@login_required
@require_POST
def request_replay(request):
    """One exception replays at once; a selection or a group shows its dry run, then replays what was confirmed."""
    workspace = require_workspace(request)
    scope = scope_of(request, request.POST)
    if scope.across:
        return request_replay_across(request, scope)
    require(request.user, workspace, ACT)
    try:
        chosen = selected(request, workspace)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("queue")
    single = get_object_or_404(chosen.items) if chosen.one else None
    if not single and "confirm_count" not in request.POST:
        plan = services.request_replay(request.user, workspace, chosen.items, dry_run=True)
        return render(request, "replay/dry_run.html", dry_run_context(workspace, plan, mapping_group=chosen.group))
    return confirm(request, workspace, chosen.items, back=reverse("queue-item", args=[single.pk]) if single else None)


def confirm(request, workspace, items, back=None):
    """Queue the replay of ``items`` as confirmed; a refusal re-renders the dry run saying what was wrong.

    ``back`` is where a single exception's page is: its refusals are shown there instead.
    """
    try:
        replays = services.request_replay(
            request.user,
            workspace,
            items,
            confirm_count=request.POST.get("confirm_count"),
            selection=request.POST.get("selection"),
        )
    except services.AlreadyQueued as refusal:
        messages.warning(request, str(refusal))
        return redirect(back or reverse("replays"))
    except ActionRefused as refusal:
        if back:
            messages.error(request, str(refusal))
            return redirect(back)
        plan = services.request_replay(request.user, workspace, items, dry_run=True)
        context = {
            **dry_run_context(workspace, plan),
            "problem": str(refusal),
            "typed": request.POST.get("confirm_count", ""),
        }
        return render(request, "replay/dry_run.html", context, status=409)
    note = f"{len(replays)} replay{'s' if len(replays) != 1 else ''} queued."
    confirmed = id_or_none(request.POST.get("confirm_count", ""))
    if not back and confirmed and len(replays) < confirmed:
        note += f" {confirmed - len(replays)} had been queued by someone else a moment ago."
    messages.success(request, note)
    if back:
        return redirect(back)
    return redirect(f"{reverse('replays')}?batch={replays[0].batch}")


def request_replay_across(request, scope):
    """The replay of a selection from the queue across the person's firms: split by firm, each firm's part
    planned with its own permission check; one dry run and one confirmation of the total, all or nothing."""
    back = f"{reverse('queue')}?firm={scope.param or 'all'}"
    try:
        if scope.problem:
            raise ActionRefused(f"Nothing was replayed. {scope.problem}")
        chosen = selected(request, scope)
        if chosen.nothing_ticked:
            raise ActionRefused("Tick at least one exception first.")
        parts = by_firm(scope, chosen.items)
        refuse_unless_allowed(request.user, parts, ACT, "replayed")
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(back)
    context = {"firm_param": scope.param, "back": back}
    if "confirm_count" not in request.POST:
        plan = services.request_replay_across(request.user, parts, dry_run=True)
        return render(request, "replay/dry_run.html", {**dry_run_context(None, plan), **context})
    try:
        replays = services.request_replay_across(
            request.user,
            parts,
            confirm_count=request.POST.get("confirm_count"),
            selection=request.POST.get("selection"),
        )
    except services.AlreadyQueued as refusal:
        messages.warning(request, str(refusal))
        return redirect("replays")
    except ActionRefused as refusal:
        plan = services.request_replay_across(request.user, parts, dry_run=True)
        context.update(problem=str(refusal), typed=request.POST.get("confirm_count", ""))
        return render(request, "replay/dry_run.html", {**dry_run_context(None, plan), **context}, status=409)
    firms = len({r.workspace_id for r in replays})
    note = f"{len(replays)} replay{'s' if len(replays) != 1 else ''} queued"
    messages.success(request, note + (f" in {firms} firms." if firms > 1 else "."))
    return redirect(f"{reverse('replays')}?batch={replays[0].batch}")


def dry_run_context(workspace, plan, **extra):
    """What the dry-run page shows: each payload as it would be sent, sensitive fields masked (by the
    settings of each row's own firm when ``workspace`` is None: a plan across firms)."""
    masks = {}
    for row in plan.rows:
        firm = workspace.pk if workspace is not None else row.item.workspace_id
        if firm not in masks:
            masks[firm] = masked_fields_for(firm)
        row.shown = readable_json(row.payload, masks[firm])
    return {"plan": plan, "ids": [p.item.pk for p in plan.rows], **extra}


@login_required
@require_POST
def edit_and_replay(request, pk):
    """Replay one exception with an edited payload, checked against its record type first."""
    workspace = require_workspace(request)
    require(request.user, workspace, ACT)
    item = get_object_or_404(ExceptionItem.objects.visible_to(request.user, workspace), pk=pk)
    text = request.POST.get("payload", "")
    try:
        services.request_replay(
            request.user, workspace, ExceptionItem.objects.filter(pk=item.pk), payload_override=text
        )
    except PayloadInvalid as invalid:
        for error in invalid.errors:
            messages.error(request, f"{error['field'] or 'payload'}: {error['message']}")
        request.session["replay_draft"] = {"item": item.pk, "text": text}
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Edited payload saved; replay queued.")
    return redirect("queue-item", pk=item.pk)


@login_required
def status(request, pk):
    """The replays of one exception: a fragment for htmx polling, or a page of its own without JavaScript."""
    workspace = require_workspace(request)
    item = get_object_or_404(ExceptionItem.objects.visible_to(request.user, workspace), pk=pk)
    replays = list(item.replays.select_related("target_system", "requested_by")[:20])
    context = {"item": item, "replays": replays, "active": any(r.status in ACTIVE for r in replays)}
    return render(request, "replay/_status.html", context)


@login_required
def replays(request):
    """Replays of the workspace, newest first, or of one batch; refreshes itself while any is under way."""
    workspace = require_workspace(request)
    filterset = ReplayFilterSet(request.GET, Replay.objects.visible_to(request.user, workspace))
    listing = filterset.qs
    # The counts cover every replay listed, not only the rows shown.
    labels = dict(ReplayStatus.choices)
    by_status = listing.order_by().values_list("status").annotate(n=Count("id"))
    counts = sorted((labels.get(status, status), n) for status, n in by_status)
    rows = list(listing.select_related("target_system", "exception")[:STATUS_LIMIT])
    total = sum(n for _, n in counts)
    context = {
        "replays": rows,
        "batch": filterset.asked("batch"),
        "counts": counts,
        "total": total,
        "limit": STATUS_LIMIT,
        "active": listing.filter(status__in=ACTIVE).exists(),
    }
    template = "replay/_list.html" if request.htmx else "replay/replays.html"
    return render(request, template, context)


@login_required
@require_POST
def map_group(request, pk):
    """Save a missing mapping, then replay the waiting records (dry run first) or wait for the source to resend."""
    workspace = require_workspace(request)
    require(request.user, workspace, ACT)
    group = get_object_or_404(ExceptionGroup.objects.visible_to(request.user, workspace), pk=pk)
    then = request.POST.get("then", "save")
    back = reverse("queue-group", args=[group.pk])
    try:
        mapping = mappings.save_mapping(request.user, workspace, group, request.POST.get("target_value"))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(back)
    waiting = mappings.waiting_on(request.user, workspace, mapping)
    saved = f"Mapped {mapping.source_value} → {mapping.target_value}."
    if then == "replay":
        plan = services.request_replay(request.user, workspace, waiting, dry_run=True)
        context = dry_run_context(workspace, plan, mapping=mapping, mapping_group=group)
        messages.success(request, saved)
        return render(request, "replay/dry_run.html", context)
    if then == "source":
        try:
            count = source_resends.wait_for_source(request.user, workspace, waiting, mapping=mapping)
        except ActionRefused as refusal:
            messages.error(request, f"{saved} {refusal}")
        else:
            messages.success(
                request,
                f"{saved} {count} exception{'s' if count != 1 else ''} stay open, waiting for "
                f"{waiting.first().source_system.name if count else 'the source'} to resend.",
            )
        return redirect(back)
    count = waiting.count()
    messages.success(request, f"{saved} {count} exception{'s' if count != 1 else ''} stay open until replayed.")
    return redirect(back)
