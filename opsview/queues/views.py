"""The queue page, its CSV export, the one endpoint every action form posts to, and saved views.

Views stay thin: filters live in ``filtersets``, columns in ``tables``, what an action form asks in ``forms``,
what people do in ``services``. Action forms are plain POSTs answered with a redirect, so the page works
without JavaScript; with htmx the same POST swaps only the page's main element.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from opsview.common.csvfiles import csv_lines
from opsview.queues import mappings, services
from opsview.queues.filtersets import AGES, SORTS, STATUS_OPTIONS, QueueFilterSet
from opsview.queues.forms import QueueActionForm
from opsview.queues.models import USER_RESOLUTIONS, ExceptionGroup, ExceptionItem, Kind, SavedView
from opsview.queues.money import money_at_stake, stake_sentence
from opsview.queues.selection import selected
from opsview.queues.services import ActionRefused, permissions_of
from opsview.queues.tables import PAGE_SIZE, ExceptionTable, attach_groups, counts, exception_table, grouped
from opsview.records.models import Client, Project
from opsview.systems.models import System
from opsview.workspaces.http import require_workspace, safe_next


@login_required
def queue(request):
    workspace = require_workspace(request)
    may = permissions_of(request.user, workspace)
    visible = ExceptionItem.objects.visible_to(request.user, workspace)
    filterset = QueueFilterSet(request.GET, visible, user=request.user, workspace=workspace)
    query = filterset.query
    matching = filterset.qs
    stake = money_at_stake(matching)
    table = None
    if query.view == "groups":
        # Every group's totals in one aggregation (a few thousand rows), paged here: a COUNT would aggregate twice.
        page = Paginator(list(grouped(matching, query.sort)), PAGE_SIZE).get_page(request.GET.get("page"))
        attach_groups(page.object_list)
    else:
        paginator = Paginator(matching.select_related("system", "project", "client", "assignee"), PAGE_SIZE)
        paginator.count = stake["exceptions"]  # counted with the money already: one pass over the matches, not two
        page = paginator.get_page(request.GET.get("page"))
        table = exception_table(request.user, page, may)
    by_kind, totals = counts(visible)
    context = {
        "query": query,
        "page": page,
        "table": table,
        "stake": stake_sentence(stake),
        "counts": [(Kind(kind), row) for kind, row in by_kind.items()],
        "totals": totals,
        "kinds": Kind.choices,
        "statuses": STATUS_OPTIONS,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "ages": AGES,
        "systems": System.objects.visible_to(request.user, workspace),
        "clients": Client.objects.visible_to(request.user, workspace).only("id", "name"),
        "projects": Project.objects.visible_to(request.user, workspace).only("id", "code", "name"),
        "teammates": services.teammates(workspace),
        "resolutions": USER_RESOLUTIONS,
        "saved_views": SavedView.objects.visible_to(request.user, workspace).filter(user=request.user),
        "query_string": request.GET.urlencode(),
        **may,
    }
    return render(request, "queues/queue.html", context)


@login_required
def export_csv(request):
    """The current view (filters, search and sort) as CSV, every matching row, streamed."""
    workspace = require_workspace(request)
    visible = ExceptionItem.objects.visible_to(request.user, workspace)
    filterset = QueueFilterSet(request.GET, visible, user=request.user, workspace=workspace)
    if filterset.problems:
        # A download cannot show a message: a file of the wrong rows would pass for the right one.
        return HttpResponseBadRequest(
            "The export was not made:\n" + "\n".join(filterset.problems), content_type="text/plain; charset=utf-8"
        )
    items = filterset.qs.select_related("system", "client", "project", "assignee")
    writer = csv_lines()
    rows = ExceptionTable(items).as_csv_rows(items.iterator(chunk_size=2000))
    filename = f"opsview-exceptions-{workspace.slug}-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def act(request):
    """Every action form posts here: ``action`` says what; ``one``, ``group`` or ``ids`` on what."""
    workspace = require_workspace(request)
    user = request.user
    form = QueueActionForm(request.POST, workspace=workspace)
    try:
        chosen = selected(request, workspace)
        if chosen.nothing_ticked:
            raise ActionRefused("Tick at least one exception first, or act on a whole group from its page.")
        if not form.is_valid():
            raise ActionRefused(form.refusal)
        items, what, asked = chosen.items, chosen.label, form.cleaned_data
        name, note = asked["action"], asked["note"]
        if name == "claim":
            done, verb = services.claim(user, workspace, items), "claimed"
        elif name == "assign":
            assignee = asked["assignee"]
            done = services.assign(user, workspace, items, assignee)
            verb = f"assigned to {assignee.get_username()}" if assignee else "unassigned"
        elif name == "resolve":
            done, verb = services.resolve(user, workspace, items, asked["resolution"], note), "resolved"
        elif name == "snooze":
            done, verb = services.snooze(user, workspace, items, asked["until"], note), "snoozed"
        elif name == "ignore":
            done, verb = services.ignore(user, workspace, items, note), "ignored"
        elif name == "reopen":
            done, verb = services.reopen(user, workspace, items, note), "reopened"
        else:
            done, verb = services.comment(user, workspace, items, asked["body"]), "commented on"
    except ActionRefused as refusal:
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
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Mapped {mapping.source_value} → {mapping.target_value}; {waiting} still open.")
    return redirect(safe_next(request, "queue"))


@login_required
@require_POST
def save_view(request):
    workspace = require_workspace(request)
    query = (request.POST.get("query") or "").lstrip("?")
    visible = ExceptionItem.objects.visible_to(request.user, workspace)
    try:
        # The view is read back through the same filters: one that the page could not use is not saved.
        problems = QueueFilterSet(QueryDict(query), visible, user=request.user, workspace=workspace).problems
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
