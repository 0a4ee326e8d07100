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
from opsview.queues.firms import by_firm, in_each_firm, refuse_unless_teammate, scope_of
from opsview.queues.forms import QueueActionForm
from opsview.queues.models import USER_RESOLUTIONS, ExceptionGroup, Kind, SavedView
from opsview.queues.money import money_at_stake, stake_per_currency, stake_sentence
from opsview.queues.selection import selected
from opsview.queues.services import ActionRefused, permissions_of
from opsview.queues.tables import (
    PAGE_SIZE,
    ExceptionTable,
    attach_groups,
    attach_trends,
    counts,
    exception_table,
    grouped,
)
from opsview.records.models import Client, Project
from opsview.systems.models import System
from opsview.workspaces.http import require_workspace, safe_next
from opsview.workspaces.permissions import ACT, COMMENT


@login_required
def queue(request):
    workspace = require_workspace(request)
    scope = scope_of(request)
    may = scope.permissions() if scope.across else permissions_of(request.user, workspace)
    visible = scope.items()
    filterset = _filters(request.GET, scope)
    query = filterset.query
    matching = filterset.qs
    stake = money_at_stake(matching)
    table = None
    if query.view == "groups":
        # Every group's totals in one aggregation (a few thousand rows), paged here: a COUNT would aggregate twice.
        page = Paginator(list(grouped(matching, query.sort)), PAGE_SIZE).get_page(request.GET.get("page"))
        attach_groups(page.object_list)
        attach_trends(page.object_list, visible)
    else:
        listed = matching.select_related("system", "project", "client", "assignee", "workspace")
        paginator = Paginator(listed, PAGE_SIZE)
        paginator.count = stake["exceptions"]  # counted with the money already: one pass over the matches, not two
        page = paginator.get_page(request.GET.get("page"))
        table = exception_table(request.user, page, may, show_firm=scope.across)
    by_kind, totals = counts(visible)
    in_firms = scope.narrowed_to
    # "Select all matching" acts on the list's query, whatever page is shown.
    matching_query = request.GET.copy()
    matching_query.pop("page", None)
    if "status" not in matching_query:
        matching_query["status"] = query.status  # never empty: the toolbar offers it only when it says something
    context = {
        "query": query,
        "scope": scope,
        "problems": ([scope.problem] if scope.problem else []) + query.problems,
        "chips": filterset.chips(),
        "page": page,
        "table": table,
        "stake": stake_sentence(stake),
        "stake_per_currency": stake_per_currency(stake) if len(stake["by_currency"]) > 1 else [],
        "counts": [(Kind(kind), row) for kind, row in by_kind.items()],
        "totals": totals,
        "kinds": Kind.choices,
        "statuses": STATUS_OPTIONS,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "ages": AGES,
        # Across firms each list names the firm: two firms' "Harvest" are two systems.
        "systems": System.objects.visible_to(request.user, in_firms).select_related("workspace"),
        "clients": Client.objects.visible_to(request.user, in_firms)
        .select_related("workspace")
        .only("id", "name", "workspace__name"),
        "projects": Project.objects.visible_to(request.user, in_firms)
        .select_related("workspace")
        .only("id", "code", "name", "workspace__name"),
        "teammates": services.teammates_in(scope.workspaces),
        "resolutions": USER_RESOLUTIONS,
        "saved_views": SavedView.objects.visible_to(request.user, workspace).filter(user=request.user),
        "query_string": request.GET.urlencode(),
        "firm_query": f"firm={scope.param}&" if scope.across else "",
        "matching_query": matching_query.urlencode(),
        **may,
    }
    return render(request, "queues/queue.html", context)


def _filters(data, scope):
    """The queue's filters over the exceptions of ``scope``."""
    firms = scope.workspaces if scope.across else None
    return QueueFilterSet(data, scope.items(), user=scope.user, workspace=scope.narrowed_to, firms=firms)


@login_required
def export_csv(request):
    """The current view (filters, search and sort) as CSV, every matching row, streamed."""
    workspace = require_workspace(request)
    scope = scope_of(request)
    filterset = _filters(request.GET, scope)
    problems = ([scope.problem] if scope.problem else []) + filterset.problems
    if problems:
        # A download cannot show a message: a file of the wrong rows would pass for the right one.
        return HttpResponseBadRequest(
            "The export was not made:\n" + "\n".join(problems), content_type="text/plain; charset=utf-8"
        )
    items = filterset.qs.select_related("system", "client", "project", "assignee", "workspace")
    writer = csv_lines()
    rows = ExceptionTable(items, show_firm=scope.across).as_csv_rows(items.iterator(chunk_size=2000))
    named = (scope.chosen.slug if scope.chosen else "all-firms") if scope.across else workspace.slug
    filename = f"opsview-exceptions-{named}-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _perform(user, workspace, items, asked):
    """Do the asked action on ``items`` of ``workspace`` through its service; (how many, the verb)."""
    name, note = asked["action"], asked["note"]
    if name == "claim":
        return services.claim(user, workspace, items), "claimed"
    if name == "assign":
        assignee = asked["assignee"]
        verb = f"assigned to {assignee.get_username()}" if assignee else "unassigned"
        return services.assign(user, workspace, items, assignee), verb
    if name == "resolve":
        return services.resolve(user, workspace, items, asked["resolution"], note), "resolved"
    if name == "snooze":
        return services.snooze(user, workspace, items, asked["until"], note), "snoozed"
    if name == "ignore":
        return services.ignore(user, workspace, items, note), "ignored"
    if name == "reopen":
        return services.reopen(user, workspace, items, note), "reopened"
    return services.comment(user, workspace, items, asked["body"]), "commented on"


@login_required
@require_POST
def act(request):
    """Every action form posts here: ``action`` says what; ``one``, ``group``, ``matching`` or ``ids`` on what.

    With ``firm`` (the queue across the person's firms) the selection is split by firm and each firm's part
    goes through the same service, all or nothing (``firms.in_each_firm``).
    """
    workspace = require_workspace(request)
    user = request.user
    scope = scope_of(request, request.POST)
    form = QueueActionForm(request.POST, workspace=workspace, firms=scope.workspaces if scope.across else None)
    try:
        if scope.problem:
            raise ActionRefused(f"Nothing was done. {scope.problem}")
        chosen = selected(request, scope if scope.across else workspace)
        if chosen.nothing_ticked:
            raise ActionRefused("Tick at least one exception first, or act on a whole group from its page.")
        if not form.is_valid():
            raise ActionRefused(form.refusal)
        items, what, asked = chosen.items, chosen.label, form.cleaned_data
        if scope.across:
            parts = by_firm(scope, items)
            if asked["action"] == "assign":
                refuse_unless_teammate(asked["assignee"], parts)
            permission = COMMENT if asked["action"] == "comment" else ACT
            results = in_each_firm(
                user, parts, permission, _verb_of(asked), lambda firm, part: _perform(user, firm, part, asked)
            )
            done = sum(n for _, (n, _) in results)
            verb = results[-1][1][1] if results else _verb_of(asked)
            per_firm = [f"{n} in {firm.name}" for firm, (n, _) in results if n]
            if len(per_firm) > 1:
                verb += f" ({', '.join(per_firm)})"
        else:
            done, verb = _perform(user, workspace, items, asked)
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        if done:
            messages.success(request, f"{done} exception{'s' if done != 1 else ''} {verb}.")
        else:
            messages.info(request, f"Nothing to do: none of {what} could be {verb}.")
    return redirect(safe_next(request, "queue"))


def _verb_of(asked):
    return {
        "claim": "claimed",
        "assign": "assigned",
        "resolve": "resolved",
        "snooze": "snoozed",
        "ignore": "ignored",
        "reopen": "reopened",
    }.get(asked["action"], "commented on")


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
    # A view of all the person's firms keeps "firm=all" in its query; it is saved in the current workspace.
    scope = scope_of(request, QueryDict(query))
    try:
        # The view is read back through the same filters: one that the page could not use is not saved.
        problems = ([scope.problem] if scope.problem else []) + _filters(QueryDict(query), scope).problems
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
