"""The reconciliation page of a period, its CSV, and "Run now"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from opsview.common.csvfiles import csv_writer
from opsview.reconcile.periods import BadPeriod, Period
from opsview.reconcile.report import csv_rows, report_for
from opsview.reconcile.services import RunRefused, request_run
from opsview.workspaces.http import require_workspace


def _period(source):
    text = source.get("period")
    return Period.current() if not text else Period.parse(text)


def _bad_period(request, problem):
    return render(request, "400.html", {"problem": f"{problem} (the 'period' of the reconciliation page)"}, status=400)


@login_required
def page(request):
    workspace = require_workspace(request)
    try:
        period = _period(request.GET)
    except BadPeriod as problem:
        return _bad_period(request, problem)
    return render(request, "reconcile/page.html", {"report": report_for(request.user, workspace, period)})


@login_required
def export_csv(request):
    workspace = require_workspace(request)
    try:
        period = _period(request.GET)
    except BadPeriod as problem:
        return HttpResponse(str(problem), status=400, content_type="text/plain; charset=utf-8")
    report = report_for(request.user, workspace, period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{workspace.slug}-{period.label}.csv"'
    csv_writer(response).writerows(csv_rows(report))
    return response


@login_required
@require_POST
def run_now(request):
    workspace = require_workspace(request)
    try:
        period = _period(request.POST)
    except BadPeriod as problem:
        return _bad_period(request, problem)
    try:
        request_run(request.user, workspace, period)
    except RunRefused as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"Reconciliation of {period.label} queued; this page shows its result when done.")
    return redirect(f"{reverse('reconciliation')}?period={period.label}")
