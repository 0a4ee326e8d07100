"""Dashboard pages: the executive dashboard, its CSV exports, the project manager's view and the partner portfolio."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from opsview.common.csvfiles import csv_writer
from opsview.dashboards import boards, charts, drilldown, portfolio
from opsview.dashboards.filters import dashboard_page, page_scope
from opsview.dashboards.forms import FilterBar
from opsview.kpis.approval import unapproved_by_person
from opsview.kpis.catalog import BY_CHART
from opsview.kpis.projects import project_billing_status, project_timeline
from opsview.records.models import Project
from opsview.workspaces.partners import partners_administered_by

PEOPLE_TO_CHASE = 5  # per project on the list; the project's page names them all


@dashboard_page
def executive(request):
    scope = page_scope(request)
    board = boards.executive_board(scope)
    choices = FilterBar(scope, ("period", "client", "manager"), request.GET)
    context = {"scope": scope, "filters": choices, "csv_query": urlencode(scope.filters()), **board}
    return render(request, "dashboards/executive.html", context)


@dashboard_page
def chart_csv(request, key):
    scope = page_scope(request)
    if key not in BY_CHART:
        raise Http404("No such chart.")
    chart = BY_CHART[key].chart_of(scope)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{scope.workspace.slug}-{key}-{scope.start}-{scope.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv_writer(response)
    writer.writerow(chart.columns)
    writer.writerows(chart.rows)
    return response


def _waiting_by_project(scope):
    waiting = {}
    for row in unapproved_by_person(scope):
        waiting.setdefault(row["project_id"], []).append(row)
    return waiting


@dashboard_page
def projects(request):
    """My projects: hours, backlog, invoiced, paid and what blocks billing, per project."""
    scope = page_scope(request)
    rows = project_billing_status(scope)
    waiting = _waiting_by_project(scope)
    for row in rows:
        pk = row["project"].pk
        row["waiting"] = waiting.get(pk, [])[:PEOPLE_TO_CHASE]
        row["waiting_more"] = max(0, len(waiting.get(pk, [])) - PEOPLE_TO_CHASE)
        row["failed_link"] = drilldown.failed_postings(scope.with_project(pk))
        row["unapproved_link"] = drilldown.time_entries(scope.with_project(pk), status="unapproved")
        row["ready_link"] = drilldown.time_entries(scope.with_project(pk), status="unbilled")
    choices = FilterBar(scope, ("period", "client", "manager"), request.GET)
    return render(request, "dashboards/projects.html", {"scope": scope, "filters": choices, "rows": rows})


@dashboard_page
def project(request, pk):
    scope = page_scope(request, default="90d")
    project = get_object_or_404(scope.rows(Project).select_related("client", "manager"), pk=pk)
    scope = scope.with_project(project.pk)
    [status] = project_billing_status(scope) or [None]
    waiting = _waiting_by_project(scope)
    timeline = project_timeline(scope)
    context = {
        "scope": scope,
        "project": project,
        "status": status,
        "waiting": waiting.get(project.pk, []),
        "failed_link": drilldown.failed_postings(scope),
        "timeline": timeline,
        "chart": charts.timeline_chart(scope, project, timeline),
        "filters": FilterBar(scope, ("period",), request.GET),
    }
    return render(request, "dashboards/project.html", context)


@login_required
def partner_portfolio(request):
    """Every firm the user works in, with the totals across them; sorted and filtered by the query string."""
    try:
        page = portfolio.portfolio(request.user, request.memberships, request.GET)
    except portfolio.PortfolioError as problem:
        return render(request, "dashboards/bad_filters.html", {"problem": str(problem)}, status=400)
    context = {
        "page": page,
        "sorts": {key: label for key, (label, _) in portfolio.SORTS.items()},
        "can_create_firm": partners_administered_by(request.user).exists(),
    }
    return render(request, "dashboards/portfolio.html", context)
