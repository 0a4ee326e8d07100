"""Unapproved time: how much work waits for approval, and for how long."""

from django.db.models import Case, CharField, Count, F, Min, Q, Sum, Value, When

from opsview.kpis.expressions import BUCKETS, Tally, age_bucket_of_date, date_range_of_bucket, entry_totals, hours
from opsview.records.models import TimeEntryStatus

DRAFT, SUBMITTED = TimeEntryStatus.DRAFT.value, TimeEntryStatus.SUBMITTED.value
APPROVED, REJECTED = TimeEntryStatus.APPROVED.value, TimeEntryStatus.REJECTED.value
# An entry approved after a past as-of moment was still waiting then; it stacks as its own state.
APPROVED_SINCE = "approved_since"
WAITING_STATES = {DRAFT: "Draft", SUBMITTED: "Submitted", APPROVED_SINCE: "Approved since"}


def _waiting(scope):
    """The condition on a time entry of ``scope``'s workspace for it to wait for approval at its as-of moment."""
    waiting = Q(status__in=[DRAFT, SUBMITTED])
    if scope.as_of < scope.current_time:  # nothing is approved after now, so only a past as-of needs this
        waiting |= Q(status=APPROVED, approved_at__gt=scope.as_of)
    return waiting & Q(work_date__lte=scope.as_of_date)


def unapproved_entries(scope, age=None, state=None):
    """Time entries not yet approved at the scope's as-of moment: draft or submitted, or approved only later.

    Rejected entries are not waiting for approval and never count, even if an
    earlier approval left an approval time on them. ``age`` narrows to one age
    bucket (days since the work date), ``state`` to draft, submitted or
    approved_since; the drill-down lists use exactly these rows.
    """
    entries = scope.time_entries().filter(_waiting(scope))
    if age:
        earliest, latest = date_range_of_bucket(age, scope.as_of_date)
        entries = entries.filter(work_date__lte=latest)
        if earliest is not None:
            entries = entries.filter(work_date__gte=earliest)
    if state == APPROVED_SINCE:
        entries = entries.filter(status=APPROVED)
    elif state:
        entries = entries.filter(status=state)
    return entries


def _state():
    return Case(When(status=APPROVED, then=Value(APPROVED_SINCE)), default=F("status"), output_field=CharField())


def unapproved_time_aging(scope):
    """Hours and value of time entries not yet approved (draft or submitted), bucketed by days since the work date: 0–7, 8–14, 15–30, 31–60, over 60.

    Value is hours × bill rate of billable entries, per currency. Taken as of
    the end of the period (or now); rejected entries are not counted.
    """  # noqa: E501
    rows = (
        unapproved_entries(scope)
        .annotate(bucket=age_bucket_of_date("work_date", scope.as_of_date), state=_state())
        .values("bucket", "state", "currency")
        .annotate(**entry_totals())
        .order_by()
    )
    buckets = {b.code: Tally() for b in BUCKETS}
    states = {b.code: {} for b in BUCKETS}
    total = Tally()
    for row in rows:
        for tally in (buckets[row["bucket"]], states[row["bucket"]].setdefault(row["state"], Tally()), total):
            tally.add(row)
    return {
        "as_of": scope.as_of_date,
        "buckets": [
            {"bucket": b.code, "label": b.label, **buckets[b.code].as_dict()}
            | {"by_state": {s: states[b.code][s].as_dict() for s in WAITING_STATES if s in states[b.code]}}
            for b in BUCKETS
        ],
        "total": total.as_dict(),
    }


def unapproved_hours(scope):
    """Hours of time not yet approved as of the period's end; the headline of unapproved time aging."""
    return hours(unapproved_entries(scope).aggregate(total=Sum("hours"))["total"])


def unapproved_hours_by_workspace(scopes):
    """``unapproved_hours`` of each scope of ``scopes`` (a ``Scopes``, each firm with its own as-of day), in one
    query: ``{workspace_id: hours}``; a workspace with none is absent."""
    rows = (
        scopes.time_entries()
        .filter(scopes.each(_waiting))
        .order_by()
        .values("workspace_id")
        .annotate(total=Sum("hours"))
    )
    return {row["workspace_id"]: hours(row["total"]) for row in rows}


def unapproved_by_person(scope):
    """Who holds up billing: per project and person, unapproved hours, entries and the oldest work date's age in days.

    The same rows as unapproved time aging, grouped by project and person,
    oldest first.
    """
    rows = (
        unapproved_entries(scope)
        .values("project_id", "person_id", "person__name")
        .annotate(entries=Count("id"), sum_hours=Sum("hours"), oldest=Min("work_date"))
        .order_by("oldest", "person__name")
    )
    return [
        {
            "project_id": row["project_id"],
            "person_id": row["person_id"],
            "person": row["person__name"],
            "entries": row["entries"],
            "hours": hours(row["sum_hours"]),
            "oldest_work_date": row["oldest"],
            "age_days": (scope.as_of_date - row["oldest"]).days,
        }
        for row in rows
    ]
