"""The lists charts lead to: time entries and sync events, filtered exactly as the KPI counted them."""

from django.core.paginator import Paginator
from django.shortcuts import render

from opsview.common import bounds
from opsview.dashboards import drilldown
from opsview.dashboards.filters import dashboard_page, page_scope
from opsview.dashboards.forms import FilterBar
from opsview.kpis.approval import WAITING_STATES, unapproved_entries
from opsview.kpis.billing import billed_entries
from opsview.kpis.expressions import BUCKETS_BY_CODE, Tally, entry_totals
from opsview.kpis.projects import failed_posting_events
from opsview.kpis.reconciled import unreconciled_entries
from opsview.kpis.scope import ScopeError
from opsview.kpis.straight_through import first_arrivals
from opsview.kpis.sync import sync_events_behind
from opsview.kpis.wip import unbilled_entries
from opsview.systems.models import System

PAGE_SIZE = 50
# What the sync event list can show of the straight-through KPI's records, and whether they were touched.
FIRST_ARRIVALS = {"reached": None, "straight-through": False, "touched": True}
# The columns the time entry list shows: loading only these takes half the time of whole rows.
LISTED = (
    "work_date",
    "hours",
    "billable",
    "currency",
    "bill_rate",
    "status",
    "approved_at",
    "invoice_reference",
    "person__name",
    "project__code",
    "project__name",
    "project__client__name",
)
FILTERS = ("period", "client", "manager")
# What the time entry list can show, and the KPI each view belongs to.
SHOWS = {
    "": "Time worked in the period",
    "unapproved": "Time waiting for approval (unapproved time aging)",
    "unbilled": "Approved time not yet invoiced (invoice-ready backlog)",
    "billed": "Time invoiced in the period (billing lag)",
    "unreconciled": "Approved time the ERP or billing does not hold as approved (reconciled share)",
}


def _choice(params, name, allowed):
    value = params.get(name, "")
    if value and value not in allowed:
        raise ScopeError(f"{name}: must be one of {', '.join(sorted(allowed))}.")
    return value


def time_entry_rows(scope, params):
    """The rows for the list's ``status``, ``age``, ``state`` and ``lag`` parameters, and a caption saying which."""
    status = _choice(params, "status", SHOWS)
    age, lag = _choice(params, "age", BUCKETS_BY_CODE), _choice(params, "lag", BUCKETS_BY_CODE)
    state = _choice(params, "state", WAITING_STATES)
    if status == "unapproved":
        rows = unapproved_entries(scope, age=age or None, state=state or None)
    elif status == "unbilled":
        rows = unbilled_entries(scope, age=age or None)
    elif status == "billed":
        rows = billed_entries(scope, lag=lag or None)
    elif status == "unreconciled":
        rows = unreconciled_entries(scope)
    else:
        rows = scope.time_entries().filter(work_date__range=(scope.start, scope.end))
    caption = [SHOWS[status]]
    if age and status in ("unapproved", "unbilled"):
        since = "the work date" if status == "unapproved" else "approval"
        caption.append(f"{BUCKETS_BY_CODE[age].label} since {since}")
    if state and status == "unapproved":
        caption.append(WAITING_STATES[state].lower())
    if lag and status == "billed":
        caption.append(f"{BUCKETS_BY_CODE[lag].label} from work to invoice")
    return rows, " · ".join(caption)


@dashboard_page
def time_entries(request):
    scope = page_scope(request)
    rows, caption = time_entry_rows(scope, request.GET)
    totals = Tally()
    for row in rows.values("currency").annotate(**entry_totals()).order_by():
        totals.add(row)
    listing = rows.select_related("person", "project", "project__client").only(*LISTED).order_by("work_date", "id")
    context = {
        "scope": scope,
        "caption": caption,
        "totals": totals.as_dict(),
        "page": Paginator(listing, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": FilterBar(scope, FILTERS, request.GET, keep=("status", "age", "state", "lag")),
        "reconciliation_link": drilldown.reconciliation(scope) if request.GET.get("status") == "unreconciled" else "",
    }
    return render(request, "dashboards/time_entries.html", context)


@dashboard_page
def sync_events(request):
    scope = page_scope(request)
    outcome = _choice(request.GET, "outcome", {"succeeded", "failed"})
    target, day = request.GET.get("target"), request.GET.get("day")
    try:
        target = bounds.bounded_int(target, minimum=1) if target else None
        day = bounds.bounded_date(day) if day else None
    except bounds.OutOfBounds:
        raise ScopeError("target must be a system id and day a date, YYYY-MM-DD, in 1900–2200.") from None
    show = _choice(request.GET, "show", {"failed-postings", *FIRST_ARRIVALS})
    failed_postings = show == "failed-postings"
    if failed_postings:
        events = failed_posting_events(scope)
    elif show in FIRST_ARRIVALS:
        # The same events the straight-through KPI counted, narrowed to the untouched or touched ones.
        events = first_arrivals(scope, day=day)
        if FIRST_ARRIVALS[show] is not None:
            events = events.filter(touched=FIRST_ARRIVALS[show])
    else:
        events = sync_events_behind(scope, system=target, day=day, outcome=outcome or None)
    listing = events.select_related("source_system", "target_system", "run").order_by("occurred_at", "id")
    context = {
        "scope": scope,
        "target": System.objects.visible_to(request.user, scope.workspace).filter(pk=target).first(),
        "day": day,
        "outcome": outcome,
        "failed_postings": failed_postings,
        "first_arrivals": show in FIRST_ARRIVALS,
        "show": show,
        "arrival_links": {
            "reached": drilldown.first_arrivals(scope, "reached", day),
            "straight": drilldown.first_arrivals(scope, "straight-through", day),
            "touched": drilldown.first_arrivals(scope, "touched", day),
        },
        "page": Paginator(listing, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": FilterBar(scope, ("period",), request.GET, ("target", "day", "outcome", "show")),
    }
    return render(request, "dashboards/sync_events.html", context)
