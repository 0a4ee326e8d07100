"""Billing status per project, for project managers: hours, backlog, invoiced, paid, and what blocks billing."""

from decimal import Decimal

from django.db.models import Case, Count, Exists, Max, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import TruncWeek

from opsview.kpis.approval import unapproved_entries
from opsview.kpis.billing import TIME_ENTRY_RECORD
from opsview.kpis.expressions import add_money, entry_value, hours, money
from opsview.kpis.wip import ISSUED_STATUSES, unbilled_entries
from opsview.records.models import Invoice, TimeEntry, TimeEntryStatus
from opsview.systems.models import SystemKind
from opsview.telemetry.models import Outcome, SyncEvent

INVOICE_RECORD = "invoice"


def _by_project(rows, fields):
    result = {}
    for row in rows:
        target = result.setdefault(row["project_id"], {})
        for name in fields:
            target[name] = target.get(name, Decimal(0)) + (row[name] or 0)
    return result


def _money_by_project(rows, fields):
    result = {}
    for row in rows:
        target = result.setdefault(row["project_id"], {name: {} for name in fields})
        for name in fields:
            if row[name]:
                add_money(target[name], row["currency"], row[name])
    return result


def _issued_in(scope):
    return Q(issue_date__range=(scope.start, scope.end))


def _paid_in(scope):
    return Q(paid_at__gte=scope.start_at, paid_at__lt=scope.end_at)


def project_billing_status(scope):
    """Per project in scope: approved hours worked in the period, unapproved hours and invoice-ready value as of its end, invoiced and paid in the period.

    Unapproved and invoice-ready use the same rows as unapproved time aging and
    the invoice-ready backlog; invoiced counts invoices issued in the period
    (not draft, not void), paid those paid in it. Money is per currency.
    ``failed_postings`` and ``last_failure`` come from ``failed_postings``.
    """  # noqa: E501
    projects = list(scope.projects().select_related("client", "manager").order_by("name", "id"))
    approved = _by_project(
        scope.time_entries()
        .filter(status=TimeEntryStatus.APPROVED, work_date__range=(scope.start, scope.end))
        .values("project_id")
        .annotate(approved_hours=Sum("hours"))
        .order_by(),
        ["approved_hours"],
    )
    unapproved = _by_project(
        unapproved_entries(scope).values("project_id").annotate(unapproved_hours=Sum("hours")).order_by(),
        ["unapproved_hours"],
    )
    ready = _money_by_project(
        unbilled_entries(scope).values("project_id", "currency").annotate(ready=Sum(entry_value())).order_by(),
        ["ready"],
    )
    invoiced = _money_by_project(
        scope.invoices()
        .filter(status__in=ISSUED_STATUSES)
        .filter(_issued_in(scope) | _paid_in(scope))
        .values("project_id", "currency")
        .annotate(
            invoiced=Sum("amount", filter=_issued_in(scope)),
            paid=Sum("amount", filter=_paid_in(scope)),
        )
        .order_by(),
        ["invoiced", "paid"],
    )
    failed = {row["project_id"]: row for row in failed_postings(scope)}
    return [
        {
            "project": project,
            "approved_hours": hours(approved.get(project.pk, {}).get("approved_hours")),
            "unapproved_hours": hours(unapproved.get(project.pk, {}).get("unapproved_hours")),
            "invoice_ready": money(ready.get(project.pk, {}).get("ready", {})),
            "invoiced": money(invoiced.get(project.pk, {}).get("invoiced", {})),
            "paid": money(invoiced.get(project.pk, {}).get("paid", {})),
            "failed_postings": failed.get(project.pk, {}).get("records", 0),
            "last_failure": failed.get(project.pk, {}).get("latest"),
        }
        for project in projects
    ]


def failed_posting_events(scope):
    """Failed postings to an ERP system since the period began that no later posting of the same record fixed.

    Each event carries ``project_id``: the project of its time entry or invoice.
    Only records of projects in scope are kept.
    """
    later_success = SyncEvent.objects.filter(
        workspace=OuterRef("workspace"),
        record_type=OuterRef("record_type"),
        external_id=OuterRef("external_id"),
        target_system=OuterRef("target_system"),
        outcome=Outcome.SUCCEEDED,
        occurred_at__gt=OuterRef("occurred_at"),
    )
    record = {"system": OuterRef("source_system"), "external_id": OuterRef("external_id")}
    entry_project = (
        TimeEntry.objects.filter(workspace=OuterRef("workspace"), **record).order_by().values("project_id")[:1]
    )
    invoice_project = (
        Invoice.objects.filter(workspace=OuterRef("workspace"), **record).order_by().values("project_id")[:1]
    )
    events = (
        scope.sync_events()
        .filter(outcome=Outcome.FAILED, target_system__kind=SystemKind.ERP)
        .filter(occurred_at__gte=scope.start_at, occurred_at__lte=scope.current_time)
        .filter(record_type__in=[TIME_ENTRY_RECORD, INVOICE_RECORD])
        .exclude(Exists(later_success))
    )
    project = Case(When(record_type=TIME_ENTRY_RECORD, then=Subquery(entry_project)), default=Subquery(invoice_project))
    return events.annotate(project_id=project).filter(project_id__in=scope.projects().values("id"))


def failed_postings(scope):
    """Records whose posting to the ERP failed and was not fixed since: per project, records and latest failure."""
    rows = (
        failed_posting_events(scope)
        .values("project_id")
        .annotate(records=Count("external_id", distinct=True), latest=Max("occurred_at"))
        .order_by("-records")
    )
    return list(rows)


def project_timeline(scope):
    """A project's billing timeline: per week of the period, hours worked by state, and its invoices issued or paid.

    Weeks start on Monday; hours count entries worked that week by their
    current state (approved, waiting for approval, rejected).
    """
    weeks = (
        scope.time_entries()
        .filter(work_date__range=(scope.start, scope.end))
        .annotate(week=TruncWeek("work_date"))
        .values("week")
        .annotate(
            approved=Sum("hours", filter=Q(status=TimeEntryStatus.APPROVED)),
            waiting=Sum("hours", filter=Q(status__in=[TimeEntryStatus.DRAFT, TimeEntryStatus.SUBMITTED])),
            rejected=Sum("hours", filter=Q(status=TimeEntryStatus.REJECTED)),
            entries=Count("id"),
        )
        .order_by("week")
    )
    invoices = scope.invoices().filter(_issued_in(scope) | _paid_in(scope)).order_by("issue_date", "number")
    return {
        "weeks": [
            {
                "week": w["week"],
                "approved": hours(w["approved"]),
                "waiting": hours(w["waiting"]),
                "rejected": hours(w["rejected"]),
                "entries": w["entries"],
            }
            for w in weeks
        ],
        "invoices": list(invoices),
    }
