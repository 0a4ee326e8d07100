"""The queue's filters, sort and search: one definition for the page, its groups view and its CSV export."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from opsview.common.bounds import id_or_none
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
    """What the operator asked for, read from the query string. A value that cannot be used is left out of
    the filter and named in ``problems``, so the page says what it did not understand instead of guessing."""

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
    problems: list = field(default_factory=list)

    @property
    def is_filtered(self):
        return any(self.params.get(name) for name in FILTER_NAMES if name not in ("sort", "view", "status"))


MAX_SEARCH = 200


def parse(params):
    """The query in ``params`` (a QueryDict or dict); see ``QueueQuery.problems`` for what was not usable."""
    query = QueueQuery(params={k: params.get(k, "") for k in FILTER_NAMES})
    problems = query.problems

    def choice(name, allowed, label):
        value = params.get(name) or ""
        if value in allowed:
            return value
        if value:
            problems.append(f"{label}: '{value[:40]}' is not one of {', '.join(allowed)}; ignored.")
        return None

    query.kind = choice("kind", Kind.values, "Kind") or ""
    for name in ("system", "client", "project"):
        value = params.get(name) or ""
        setattr(query, name, id_or_none(value))
        if value and id_or_none(value) is None:
            problems.append(f"{name.capitalize()}: '{value[:40]}' is not an id from the list; ignored.")
            setattr(query, name, None)
    assignee = params.get("assignee", "") or ""
    if assignee in ("me", "none") or id_or_none(assignee):
        query.assignee = assignee
    elif assignee:
        problems.append(f"Assignee: '{assignee[:40]}' is not 'me', 'none' or a teammate; ignored.")
    query.status = choice("status", list(STATUSES), "Status") or "open"
    query.age = choice("age", list(AGES), "Age in days") or ""
    query.past_sla = params.get("past_sla") in ("1", "on", "true")
    q = (params.get("q") or "").strip()
    if len(q) > MAX_SEARCH:
        problems.append(f"Search: at most {MAX_SEARCH} characters; only the first {MAX_SEARCH} were searched for.")
    query.q = q[:MAX_SEARCH]
    query.sort = choice("sort", list(SORTS), "Order") or DEFAULT_SORT
    query.view = choice("view", ["items", "groups"], "Show") or "items"
    return query


def check_choices(query, user, workspace):
    """Name the system, client, project or assignee of ``query`` that the user cannot see: such a filter
    would match nothing, and an empty page would not say why. Returns the problems, also kept on ``query``."""
    from opsview.queues.services import teammates
    from opsview.records.models import Client, Project
    from opsview.workspaces.models import System

    for name, model in (("system", System), ("client", Client), ("project", Project)):
        wanted = getattr(query, name)
        if wanted and not model.objects.visible_to(user, workspace).filter(pk=wanted).exists():
            query.problems.append(f"{name.capitalize()}: no {name} {wanted} among yours; ignored.")
            setattr(query, name, None)
    if query.assignee not in ("", "me", "none") and not teammates(workspace).filter(pk=int(query.assignee)).exists():
        query.problems.append(f"Assignee: no teammate {query.assignee} in this workspace; ignored.")
        query.assignee = ""
    return query.problems


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
        items = items.past_sla(timezone.now())
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
