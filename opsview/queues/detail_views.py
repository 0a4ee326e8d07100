"""An exception's detail page, a group's page, and the admins' queue settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsview.audit.diffs import masked_changes
from opsview.audit.models import AuditEntry
from opsview.common.masking import readable_json
from opsview.queues import services
from opsview.queues.filtersets import STATUS_OPTIONS, QueueFilterSet
from opsview.queues.forms import NUL, NUL_REFUSED, KindSettingForm, MaskedFieldsForm
from opsview.queues.models import USER_RESOLUTIONS, ExceptionGroup, ExceptionItem, Kind, Mapping, Status
from opsview.queues.money import money_at_stake, stake_sentence
from opsview.queues.policies import DEFAULTS, masked_fields_for, policies_for
from opsview.queues.services import permissions_of
from opsview.queues.tables import PAGE_SIZE, exception_table
from opsview.telemetry.models import SyncEvent
from opsview.workspaces.http import require_workspace, work_in
from opsview.workspaces.permissions import ADMINISTER, can

HISTORY_LIMIT = 500
EVENT_LIMIT = 200


def _guides(workspace, group):
    policy = policies_for(workspace)[group.kind]
    return {"group_guide": group.fix_guide, "kind_guide": policy.fix_guide, "policy": policy}


def _existing_mapping(workspace, group, item):
    if group.kind != Kind.MISSING_MAPPING or not group.mapping_value:
        return None
    return (
        Mapping.objects.for_workspace(workspace)
        .filter(
            kind=group.mapping_kind,
            source_system_id=item.source_system_id,
            target_system=group.system,
            source_value=group.mapping_value,
        )
        .first()
    )


def _get_in_its_firm(request, queryset_in, model, pk, what):
    """``(workspace, row)``: row ``pk`` of ``queryset_in(workspace)``, in the current workspace, or, when it
    belongs to another of the person's firms (a link from the queue across firms, or an alert), in that firm,
    switched to as the header's switch would. A row of no firm of theirs is a 404.

    The other firm is looked for only when the current one does not hold the row: the usual page costs no
    query more.
    """
    workspace = require_workspace(request)
    try:
        return workspace, queryset_in(workspace).get(pk=pk)
    except model.DoesNotExist:
        pass
    owner = model.objects.visible_to(request.user).filter(pk=pk).values_list("workspace_id", flat=True).first()
    if owner is None or owner == workspace.pk or work_in(request, owner) is None:
        raise Http404(f"No such {what} among yours.")
    messages.info(request, f"Switched to {request.workspace.name}, the firm of this {what}.")
    return request.workspace, get_object_or_404(queryset_in(request.workspace), pk=pk)


def _back_query(request):
    """The queue's query that leads back to the list this page was opened from: "?firm=all" across firms."""
    firm = request.GET.get("firm", "")
    return f"?firm={firm}" if firm and len(firm) <= 80 and firm.replace("-", "").isalnum() else ""


@login_required
def detail(request, pk):
    def items_in(workspace):
        return ExceptionItem.objects.visible_to(request.user, workspace).select_related(
            "group",
            "system",
            "source_system",
            "assignee",
            "resolved_by",
            "last_event",
            "project__client",
            "project__manager",
            "client",
            "time_entry__person",
            "time_entry__project",
            "invoice__client",
        )

    workspace, item = _get_in_its_firm(request, items_in, ExceptionItem, pk, "exception")
    masked = masked_fields_for(workspace)
    events = list(
        SyncEvent.objects.visible_to(request.user, workspace)
        .filter(source_system=item.source_system, record_type=item.record_type, external_id=item.external_id)
        .select_related("target_system")
        .order_by("occurred_at", "id")[:EVENT_LIMIT]
    )
    for event in events:
        event.masked_payload = readable_json(event.payload, masked)
    history = list(
        AuditEntry.objects.visible_to(request.user, workspace)
        .filter(target_type=ExceptionItem._meta.label_lower, target_id=str(item.pk))
        .order_by("at", "id")[:HISTORY_LIMIT]
    )
    for entry in history:
        entry.changes = masked_changes(entry, masked)
    payload = item.last_event.payload if item.last_event_id else None
    # The same record's other exceptions: its money is at stake once, whatever it fails on.
    same_record = (
        ExceptionItem.objects.visible_to(request.user, workspace)
        .filter(source_system=item.source_system, record_type=item.record_type, external_id=item.external_id)
        .exclude(pk=item.pk)
        .select_related("system")
        .order_by("status", "-last_seen_at")
    )
    context = {
        "item": item,
        "same_record": same_record,
        "group": item.group,
        "payload": readable_json(payload, masked),
        "events": events,
        "comments": item.comments.select_related("author"),
        "history": history,
        "resolutions": USER_RESOLUTIONS,
        "teammates": services.teammates(workspace),
        "mapping": _existing_mapping(workspace, item.group, item),
        "back_query": _back_query(request),
        **_guides(workspace, item.group),
        **permissions_of(request.user, workspace),
    }
    return render(request, "queues/detail.html", context)


@login_required
def group(request, pk):
    def groups_in(workspace):
        return ExceptionGroup.objects.visible_to(request.user, workspace).select_related("system")

    workspace, group = _get_in_its_firm(request, groups_in, ExceptionGroup, pk, "group")
    members = ExceptionItem.objects.visible_to(request.user, workspace).filter(group=group)
    by_status = dict.fromkeys(Status.values, 0)
    for status, count in members.order_by().values_list("status").annotate(n=Count("id")):
        by_status[status] = count
    if not any(by_status.values()):
        raise Http404("No exceptions of yours in this group.")  # a manager sees only their projects' groups
    may = permissions_of(request.user, workspace)
    filterset = QueueFilterSet(request.GET, members, user=request.user, workspace=workspace)
    listing = filterset.qs.select_related("system", "project", "client", "assignee")
    page = Paginator(listing, PAGE_SIZE).get_page(request.GET.get("page"))
    sample = members.only("source_system_id").first()
    stake = money_at_stake(members.pending())
    context = {
        "group": group,
        "page": page,
        "table": exception_table(request.user, page, may),
        "query": filterset.query,
        "statuses": STATUS_OPTIONS,
        "by_status": by_status,
        "stake": stake,
        "stake_sentence": stake_sentence(stake),
        "waiting_count": by_status[Status.OPEN] + by_status[Status.SNOOZED],
        "resolutions": USER_RESOLUTIONS,
        "teammates": services.teammates(workspace),
        "mapping": _existing_mapping(workspace, group, sample),
        "is_admin": can(request.user, workspace, ADMINISTER),
        "back_query": _back_query(request),
        **_guides(workspace, group),
        **may,
    }
    return render(request, "queues/group.html", context)


@login_required
@require_POST
def group_guide(request, pk):
    workspace = require_workspace(request)
    group = get_object_or_404(ExceptionGroup.objects.visible_to(request.user, workspace), pk=pk)
    fix_guide = request.POST.get("fix_guide", "")
    if NUL in fix_guide:
        messages.error(request, f"Fix guide not saved: {NUL_REFUSED}")
        return redirect("queue-group", pk=group.pk)
    services.save_group_guide(request.user, group, fix_guide)
    messages.success(request, "Fix guide saved.")
    return redirect("queue-group", pk=group.pk)


@login_required
def queue_settings(request):
    """Thresholds, SLAs and fix guides per kind, and the masked payload fields: admins only."""
    workspace = require_workspace(request)
    if not can(request.user, workspace, ADMINISTER):
        raise PermissionDenied("Only workspace admins change queue settings.")
    policies = policies_for(workspace)
    forms_by_kind = {
        kind: KindSettingForm(
            request.POST if request.POST.get("kind") == kind else None,
            prefix=kind,
            initial={"threshold_days": p.threshold_days, "sla_hours": p.sla_hours, "fix_guide": p.fix_guide},
        )
        for kind, p in policies.items()
    }
    masked = "\n".join(masked_fields_for(workspace))
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind == "reviewed":
            services.mark_queue_settings_reviewed(request.user, workspace)
            messages.success(request, "Thresholds and SLAs marked as reviewed.")
            return redirect("queue-settings")
        if kind == "masked_fields":
            form = MaskedFieldsForm(request.POST)
            if form.is_valid():
                services.save_masked_fields(request.user, workspace, form.cleaned_data["masked_fields"])
                services.mark_queue_settings_reviewed(request.user, workspace, note="saved the masked fields")
                messages.success(request, "Masked fields saved.")
                return redirect("queue-settings")
            messages.error(request, f"Masked fields not saved: {' '.join(form.errors['masked_fields'])}")
            masked, status = request.POST.get("masked_fields", "").replace(NUL, ""), 400
        elif kind not in forms_by_kind:
            messages.error(request, "Nothing saved: the form did not say which kind of exception it sets.")
            status = 400
        elif forms_by_kind[kind].is_valid():
            services.save_kind_setting(request.user, workspace, kind, **forms_by_kind[kind].cleaned_data)
            services.mark_queue_settings_reviewed(request.user, workspace, note=f"saved {kind}")
            messages.success(request, f"Settings for '{Kind(kind).label}' saved.")
            return redirect("queue-settings")
        else:
            form = forms_by_kind[kind]
            wrong = "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
            messages.error(request, f"Settings for '{Kind(kind).label}' not saved. {wrong}")
            status = 400
    rows = [(Kind(kind), DEFAULTS[kind], form) for kind, form in forms_by_kind.items()]
    context = {"rows": rows, "masked_fields": masked, "reviewed_at": workspace.queue_settings_reviewed_at}
    return render(request, "queues/settings.html", context, status=status)
