"""The queue's filters, sort and search: one definition for the page, its groups view and its CSV export."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from opsview.queues.models import PENDING, ExceptionGroup, ExceptionItem, Kind, Status

SORTS = {
    "money": ("Money at stake", ("-amount", "record_date", "id")),
    "age": ("Oldest first", ("record_date", "-amount", "id")),
    "sla": ("SLA due first", ("sla_due_at", "-amount", "id")),
    "recent": ("Last seen", ("-last_seen_at", "-id")),
    "recurrences": ("Most recurrences", ("-recurrences", "-amount", "id")),
}
DEFAULT_SORT = "money"
STATUSES = {"open": (Status.OPEN,), "pending": PENDING, "snoozed": (Status.SNOOZED,),
            "resolved": (Status.RESOLVED,), "ignored": (Status.IGNORED,), "all": None}  # fmt: skip
STATUS_OPTIONS = [("open", "Open"), ("pending", "Open or snoozed"), ("snoozed", "Snoozed"),
                  ("resolved", "Resolved"), ("ignored", "Ignored"), ("all", "Any status")]  # fmt: skip
AGES = {"7": 7, "14": 14, "30": 30, "60": 60}
FILTER_NAMES = ("kind", "system", "client", "project", "assignee", "status", "age", "past_sla", "q", "sort", "view")


@dataclass
class QueueQuery:
    """What the operator asked for, read from the query string; unknown values are ignored, not errors."""

    kind: str = ""
    system: int | None = None
    client: int | None = None
    project: int | None = None
    assignee: str = ""  # "me", "none" or a user id
    status: str = "open"
    age: str = ""
    past_sla: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT
    view: str = "items"
    params: dict = field(default_factory=dict)

    @property
    def is_filtered(self):
        return any(self.params.get(name) for name in FILTER_NAMES if name not in ("sort", "view", "status"))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse(params):
    query = QueueQuery(params={k: params.get(k, "") for k in FILTER_NAMES})
    if params.get("kind") in Kind.values:
        query.kind = params["kind"]
    query.system, query.client, query.project = (_int(params.get(n)) for n in ("system", "client", "project"))
    assignee = params.get("assignee", "")
    if assignee in ("me", "none") or _int(assignee) is not None:
        query.assignee = assignee
    if params.get("status") in STATUSES:
        query.status = params["status"]
    if params.get("age") in AGES:
        query.age = params["age"]
    query.past_sla = params.get("past_sla") in ("1", "on", "true")
    query.q = (params.get("q") or "").strip()[:200]
    if params.get("sort") in SORTS:
        query.sort = params["sort"]
    if params.get("view") == "groups":
        query.view = "groups"
    return query


def apply(items, query, user, status=True):
    """``items`` narrowed by every filter of ``query``; ``status=False`` leaves status alone (for counts)."""
    if query.kind:
        items = items.filter(kind=query.kind)
    if query.system:
        items = items.filter(system_id=query.system)
    if query.client:
        items = items.filter(client_id=query.client)
    if query.project:
        items = items.filter(project_id=query.project)
    if query.assignee == "me":
        items = items.filter(assignee=user)
    elif query.assignee == "none":
        items = items.filter(assignee__isnull=True)
    elif query.assignee:
        items = items.filter(assignee_id=int(query.assignee))
    if status and STATUSES[query.status] is not None:
        items = items.filter(status__in=STATUSES[query.status])
    if query.age:
        items = items.filter(record_date__lte=timezone.localdate() - timedelta(days=AGES[query.age]))
    if query.past_sla:
        items = items.filter(status=Status.OPEN, sla_due_at__lt=timezone.now())
    if query.q:
        items = items.filter(matches(query.q))
    return items


def matches(text):
    """Exceptions whose record or error contains ``text``: invoice number, project code or name, client,
    person, external id, amount (1234.50 or 1,234.50) or any words of the error.

    Both columns are lower case and trigram-indexed on PostgreSQL (migration 0004), so a ``LIKE '%…%'``
    over 100,000 open exceptions is an index lookup, not a scan.
    """
    needle = text.strip().lower()
    return Q(search_text__contains=needle) | Q(error_text__contains=needle)


def ordered(items, query):
    return items.order_by(*SORTS[query.sort][1])


def grouped(items, query):
    """Rows of ``{group, n, money, oldest}`` for the groups of ``items``, most money first."""
    order = {"age": ("oldest", "-money"), "recent": ("-last_seen", "-money"), "recurrences": ("-n", "-money")}
    rows = (
        items.values("group_id")
        .annotate(n=Count("id"), money=Sum("amount"), oldest=Min("record_date"), last_seen=Max("last_seen_at"))
        .order_by(*order.get(query.sort, ("-money", "-n")), "group_id")
    )
    return rows


def attach_groups(rows):
    groups = ExceptionGroup.objects.select_related("system").in_bulk([r["group_id"] for r in rows])
    for row in rows:
        row["group"] = groups[row["group_id"]]
    return rows


def counts(items):
    """Open, snoozed, resolved and ignored counts per kind, and their totals: always in view on the queue page."""
    table = {kind: dict.fromkeys(Status.values, 0) for kind in Kind.values}
    for row in items.order_by().values("kind", "status").annotate(n=Count("*")):
        table[row["kind"]][row["status"]] = row["n"]
    totals = {status: sum(table[k][status] for k in table) for status in Status.values}
    return table, totals


def base_items(user, workspace):
    return ExceptionItem.objects.visible_to(user, workspace)
