"""The queue page, its CSV export, the one endpoint every action form posts to, and saved views.

Views stay thin: filters live in ``filters``, actions in ``actions``. Action
forms are plain POSTs answered with a redirect, so the page works without
JavaScript; with htmx the same POST swaps only the page's main element.
"""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from opsview.common.bounds import OutOfBounds, bounded_date, id_or_none
from opsview.common.csvfiles import csv_lines
from opsview.queues import filters, mappings, services
from opsview.queues.models import USER_RESOLUTIONS, ExceptionGroup, ExceptionItem, Kind, SavedView
from opsview.queues.money import money_at_stake, stake_sentence
from opsview.records.models import Client, Project
from opsview.workspaces.http import require_workspace, safe_next
from opsview.workspaces.models import System
from opsview.workspaces.permissions import ACT, COMMENT, can

PAGE_SIZE = 50


def permissions_of(request, workspace):
    return {"can_act": can(request.user, workspace, ACT), "can_comment": can(request.user, workspace, COMMENT)}


@login_required
def queue(request):
    workspace = require_workspace(request)
    query = filters.parse(request.GET)
    filters.check_choices(query, request.user, workspace)
    visible = filters.base_items(request.user, workspace)
    matching = filters.apply(visible, query, request.user)
    stake = money_at_stake(matching)
    if query.view == "groups":
        # Every group's totals in one aggregation (a few thousand rows), paged here: a COUNT would aggregate twice.
        page = Paginator(list(filters.grouped(matching, query)), PAGE_SIZE).get_page(request.GET.get("page"))
        filters.attach_groups(page.object_list)
    else:
        listing = filters.ordered(matching, query).select_related("system", "project", "client", "assignee")
        paginator = Paginator(listing, PAGE_SIZE)
        paginator.count = stake["exceptions"]  # counted with the money already: one pass over the matches, not two
        page = paginator.get_page(request.GET.get("page"))
    by_kind, totals = filters.counts(visible)
    context = {
        "query": query,
        "page": page,
        "stake": stake_sentence(stake),
        "counts": [(Kind(kind), row) for kind, row in by_kind.items()],
        "totals": totals,
        "kinds": Kind.choices,
        "statuses": filters.STATUS_OPTIONS,
        "sorts": [(key, label) for key, (label, _) in filters.SORTS.items()],
        "ages": filters.AGES,
        "systems": System.objects.visible_to(request.user, workspace),
        "clients": Client.objects.visible_to(request.user, workspace).only("id", "name"),
        "projects": Project.objects.visible_to(request.user, workspace).only("id", "code", "name"),
        "teammates": services.teammates(workspace),
        "resolutions": USER_RESOLUTIONS,
        "saved_views": SavedView.objects.visible_to(request.user, workspace).filter(user=request.user),
        "query_string": request.GET.urlencode(),
        **permissions_of(request, workspace),
    }
    return render(request, "queues/queue.html", context)


CSV_COLUMNS = [
    "id", "kind", "status", "system", "record", "record_type", "external_id", "client", "project", "amount", "currency",
    "record_date", "age_days", "first_seen_at", "last_seen_at", "sla_due_at", "past_sla", "assignee",
    "occurrences", "recurrences", "error_code", "error_message", "resolution", "resolution_note",
]  # fmt: skip


@login_required
def export_csv(request):
    """The current view (filters, search and sort) as CSV, every matching row, streamed."""
    workspace = require_workspace(request)
    query = filters.parse(request.GET)
    if filters.check_choices(query, request.user, workspace):
        # A download cannot show a message: a file of the wrong rows would pass for the right one.
        return HttpResponseBadRequest("The export was not made:\n" + "\n".join(query.problems),
                                      content_type="text/plain; charset=utf-8")  # fmt: skip
    items = filters.ordered(filters.apply(filters.base_items(request.user, workspace), query, request.user), query)
    items = items.select_related("system", "client", "project", "assignee")
    writer = csv_lines()

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for x in items.iterator(chunk_size=2000):
            yield writer.writerow((
                x.pk, x.get_kind_display(), x.get_status_display(), x.system.name, str(x), x.record_type, x.external_id,
                x.client.name if x.client_id else "", str(x.project) if x.project_id else "", x.amount, x.currency,
                x.record_date, x.age_days, x.first_seen_at.isoformat(), x.last_seen_at.isoformat(),
                x.sla_due_at.isoformat(), "yes" if x.is_past_sla else "no",
                x.assignee.username if x.assignee_id else "", x.occurrences, x.recurrences, x.error_code,
                x.error_message, x.get_resolution_display() if x.resolution else "", x.resolution_note,
            ))  # fmt: skip

    filename = f"opsview-exceptions-{workspace.slug}-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _until(value):
    if not value:
        raise services.ActionRefused("Snooze until: choose a date.")
    try:
        day = bounded_date(value)
    except OutOfBounds:
        raise services.ActionRefused(f"Snooze until: '{value[:40]}' is not a date (YYYY-MM-DD).") from None
    return timezone.make_aware(datetime.combine(day, time(8, 0)))


def _assignee(workspace, value):
    if not value:
        return None
    assignee = services.teammates(workspace).filter(pk=id_or_none(value) or 0).first()
    if assignee is None:
        raise services.ActionRefused(f"Assignee: no teammate {value[:40]} in this workspace.")
    return assignee


def _targets(request, workspace):
    """The items a form means: one (a row's button), a whole group, or the ticked selection."""
    visible = ExceptionItem.objects.visible_to(request.user, workspace)
    one = request.POST.get("one") or request.POST.get("quick", "").partition(":")[2]
    if one:
        return visible.filter(pk=id_or_none(one) or 0), "1 exception"
    if request.POST.get("group"):
        group = get_object_or_404(ExceptionGroup.objects.visible_to(request.user, workspace),
                                  pk=id_or_none(request.POST["group"]) or 0)  # fmt: skip
        return visible.filter(group=group), "the group"
    ids = [i for i in request.POST.getlist("ids") if id_or_none(i)]
    if not ids:
        raise services.ActionRefused("Tick at least one exception first, or act on a whole group from its page.")
    return visible.filter(pk__in=ids), f"{len(ids)} selected"


@login_required
@require_POST
def act(request):
    """Every action form posts here: ``action`` says what; ``one``, ``group`` or ``ids`` on what."""
    workspace = require_workspace(request)
    # A row's own button ("quick" = "claim:42") wins over the toolbar's chosen action.
    name = request.POST.get("quick", "").partition(":")[0] or request.POST.get("action", "")
    note = request.POST.get("note", "")
    user = request.user
    try:
        items, what = _targets(request, workspace)
        if name == "claim":
            done, verb = services.claim(user, workspace, items), "claimed"
        elif name == "assign":
            assignee = _assignee(workspace, request.POST.get("assignee", ""))
            done = services.assign(user, workspace, items, assignee)
            verb = f"assigned to {assignee.get_username()}" if assignee else "unassigned"
        elif name == "resolve":
            done, verb = services.resolve(user, workspace, items, request.POST.get("resolution", ""), note), "resolved"
        elif name == "snooze":
            until = _until(request.POST.get("until"))
            done, verb = services.snooze(user, workspace, items, until, note), "snoozed"
        elif name == "ignore":
            done, verb = services.ignore(user, workspace, items, note), "ignored"
        elif name == "reopen":
            done, verb = services.reopen(user, workspace, items, note), "reopened"
        elif name == "comment":
            done, verb = services.comment(user, workspace, items, request.POST.get("body", "")), "commented on"
        else:
            raise services.ActionRefused("Choose an action.")
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        if done:
            messages.success(request, f"{done} exception{'s' if done != 1 else ''} {verb}.")
        else:
            messages.info(request, f"Nothing to do: none of {what} could be {verb}.")
    return redirect(safe_next(request, "queue"))


@login_required
@require_POST
def map_value(request, pk):
    workspace = require_workspace(request)
    group = get_object_or_404(ExceptionGroup.objects.visible_to(request.user, workspace), pk=pk)
    try:
        mapping, waiting = mappings.map_value(request.user, workspace, group, request.POST.get("target_value"))
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Mapped {mapping.source_value} → {mapping.target_value}; {waiting} still open.")
    return redirect(safe_next(request, "queue"))


@login_required
@require_POST
def save_view(request):
    workspace = require_workspace(request)
    query = (request.POST.get("query") or "").lstrip("?")
    try:
        problems = filters.parse(QueryDict(query)).problems
        if problems:
            raise ValueError("View not saved: " + " ".join(problems))
        view = services.save_view(request.user, workspace, request.POST.get("name"), query)
    except ValueError as problem:
        messages.error(request, str(problem))
        return redirect(f"{redirect('queue').url}?{query}" if query else "queue")
    messages.success(request, f"View '{view.name}' saved.")
    return redirect(f"{redirect('queue').url}?{view.query}")


@login_required
@require_POST
def delete_view(request, pk):
    workspace = require_workspace(request)
    view = get_object_or_404(SavedView.objects.visible_to(request.user, workspace).filter(user=request.user), pk=pk)
    try:
        services.delete_view(request.user, view)
    except PermissionError as problem:
        raise PermissionDenied(str(problem)) from None
    messages.success(request, f"View '{view.name}' deleted.")
    return redirect("queue")
