"""The queue's filters, search and order: one definition for the queue page, a group's page, the CSV export
and saved views (which keep the query string and read it back through the same filters).

A value that cannot be used is left out of the filter and named in ``problems``, so the page says what it
did not understand instead of guessing, and the export refuses to pass a file of other rows for the right one.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import django_filters
from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from opsview.common.bounds import id_or_none
from opsview.queues.models import ExceptionItem, Kind, Status
from opsview.queues.services import teammates, teammates_in
from opsview.records.models import Client, Project
from opsview.systems.models import System

SORTS = {
    "money": ("Money at stake", ("-amount", "record_date", "id")),
    "age": ("Oldest first", ("record_date", "-amount", "id")),
    "sla": ("SLA due first", ("sla_due_at", "-amount", "id")),
    "recent": ("Last seen", ("-last_seen_at", "-id")),
    "recurrences": ("Most recurrences", ("-recurrences", "-amount", "id")),
}
DEFAULT_SORT = "money"
STATUS_OPTIONS = [
    ("open", "Open"),
    ("pending", "Open or snoozed"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
    ("ignored", "Ignored"),
    ("all", "Any status"),
]
DEFAULT_STATUS = "open"
AGES = {"7": 7, "14": 14, "30": 30, "60": 60}
VIEWS = [("items", "exceptions"), ("groups", "groups")]
MAX_SEARCH = 200
# What the page shows whatever the filters: these three always have a value, so they do not make a view "filtered".
NOT_FILTERS = ("status", "sort", "view")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def matches(text):
    """Exceptions whose record or error contains ``text``: invoice number, project code or name, client,
    person, external id, amount (1234.50 or 1,234.50) or any words of the error.

    One condition on one lower-case column (``ExceptionItem.searchable``), so on PostgreSQL a firm's scoping
    and the ``LIKE '%…%'`` are answered together by one trigram index keyed by firm (migration 0011), not by
    every firm's matches checked one by one. Control characters (a pasted line break) become a space: the
    column separates the record from its error with a line break, and a search must not match across it.
    """
    needle = _CONTROL.sub(" ", text).strip().lower()
    return Q(searchable__contains=needle)


class QueueFilterForm(forms.Form):
    """The filters' form; a search longer than ``MAX_SEARCH`` is cut, not ignored, and says so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notes = []

    def clean_past_sla(self):
        # The page's checkbox sends "1"; links and saved views written by hand say "on" or "true".
        return self.data.get("past_sla") in ("1", "on", "true")

    def clean_q(self):
        q = (self.cleaned_data.get("q") or "").strip()
        if len(q) > MAX_SEARCH:
            self.notes.append(
                f"Search: at most {MAX_SEARCH} characters; only the first {MAX_SEARCH} were searched for."
            )
        return q[:MAX_SEARCH]


class QueueFilterSet(django_filters.FilterSet):
    """The exceptions ``user`` sees in ``workspace`` that match the query string ``data``, in its order.

    ``qs`` is filtered and ordered; ``problems`` names every value that was not used, in the person's words.
    """

    kind = django_filters.ChoiceFilter(choices=Kind.choices, label="Kind")
    system = django_filters.ModelChoiceFilter(queryset=System.objects.none(), label="System")
    client = django_filters.ModelChoiceFilter(queryset=Client.objects.none(), label="Client")
    project = django_filters.ModelChoiceFilter(queryset=Project.objects.none(), label="Project")
    assignee = django_filters.ChoiceFilter(method="by_assignee", label="Assignee")  # "me", "none" or a teammate
    status = django_filters.ChoiceFilter(choices=STATUS_OPTIONS, method="by_status", label="Status")
    age = django_filters.ChoiceFilter(
        choices=[(v, f"over {d} days") for v, d in AGES.items()], method="older_than", label="Age in days"
    )
    past_sla = django_filters.BooleanFilter(method="late", label="Past SLA")
    q = django_filters.CharFilter(method="search", label="Search")
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in SORTS.items()], method="in_order", label="Order"
    )
    view = django_filters.ChoiceFilter(choices=VIEWS, method="shown_as", label="Show")

    class Meta:
        model = ExceptionItem
        fields = []
        form = QueueFilterForm

    def __init__(self, data, queryset, *, user, workspace, firms=None):
        """``workspace`` None with ``firms`` is the queue across the person's firms: the lists of systems,
        clients, projects and teammates are those of every firm in ``firms``."""
        super().__init__(data if data is not None else {}, queryset)
        self.user = user
        self.filters["system"].queryset = System.objects.visible_to(user, workspace)
        self.filters["client"].queryset = Client.objects.visible_to(user, workspace)
        self.filters["project"].queryset = Project.objects.visible_to(user, workspace)
        people = [(str(u.pk), u.get_username()) for u in (teammates_in(firms) if firms else teammates(workspace))]
        self.filters["assignee"].extra["choices"] = [("me", "me"), ("none", "nobody"), *people]

    def filter_queryset(self, queryset):
        # Status and order always apply: the page's defaults when the query leaves them out (or gets them wrong).
        values = {"status": DEFAULT_STATUS, "sort": DEFAULT_SORT}
        values.update((name, value) for name, value in self.form.cleaned_data.items() if value not in ("", None))
        for name, value in values.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def by_assignee(self, items, name, value):
        if value == "me":
            return items.filter(assignee=self.user)
        if value == "none":
            return items.filter(assignee__isnull=True)
        return items.filter(assignee_id=int(value))

    def by_status(self, items, name, value):
        if value == "pending":
            return items.pending()
        if value == "all":
            return items
        return items.filter(status=Status(value))

    def older_than(self, items, name, value):
        return items.filter(record_date__lte=timezone.localdate() - timedelta(days=AGES[value]))

    def late(self, items, name, value):
        return items.past_sla(timezone.now()) if value else items

    def search(self, items, name, value):
        return items.filter(matches(value))

    def in_order(self, items, name, value):
        return items.order_by(*SORTS[value][1])

    def shown_as(self, items, name, value):
        return items  # how the matches are shown, not which

    def value(self, name):
        """The value in use for ``name``: what was asked when it could be used, else the default."""
        self.form.is_valid()  # cleans the form once; a value that was not usable is not in cleaned_data
        used = self.form.cleaned_data.get(name)
        if name in ("system", "client", "project"):
            return used.pk if used else None
        defaults = {"status": DEFAULT_STATUS, "sort": DEFAULT_SORT, "view": "items", "past_sla": False}
        return used or defaults.get(name, "")

    @property
    def query(self):
        """The values in use, the problems and ``is_filtered``, by name: what the templates show."""
        return SimpleNamespace(
            **{name: self.value(name) for name in self.filters},
            problems=self.problems,
            is_filtered=self.is_filtered,
        )

    def chips(self):
        """The filters in use as ``(what, its value in words, the query string without it)``, in the form's
        order: each chip of the page's filter bar names one and its × leads to the same list without it.
        The status counts only when it is not the page's own default (open)."""
        self.form.is_valid()
        used = self.form.cleaned_data
        chips = []
        for name, one in self.filters.items():
            value = used.get(name)
            if name in ("sort", "view") or value in ("", None, False) or (name == "status" and value == DEFAULT_STATUS):
                continue
            if name == "q":
                words = f"“{value}”"
            elif name == "past_sla":
                words = "yes"
            elif "choices" in one.extra:
                words = dict(one.extra["choices"]).get(value, value)
            else:
                words = str(value)  # a system, client or project, already read to check it
            without = self.data.copy() if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
            for gone in (name, "page"):
                without.pop(gone, None)
            chips.append((one.label, words, without.urlencode()))
        return chips

    @property
    def problems(self):
        """What the page says it did not use: one sentence per value, in the order of the filters."""
        found = [self._problem(name, str(self.data.get(name, ""))[:40]) for name in self.form.errors]
        return found + self.form.notes

    def _problem(self, name, value):
        label = self.filters[name].label
        if name in ("system", "client", "project"):
            if id_or_none(value) is None:
                return f"{label}: '{value}' is not an id from the list; ignored."
            return f"{label}: no {name} {id_or_none(value)} among yours; ignored."
        if name == "assignee":
            if id_or_none(value) is None:
                return f"Assignee: '{value}' is not 'me', 'none' or a teammate; ignored."
            return f"Assignee: no teammate {value} in this workspace; ignored."
        if "choices" in self.filters[name].extra:
            allowed = [choice for choice, _ in self.filters[name].extra["choices"]]
            return f"{label}: '{value}' is not one of {', '.join(allowed)}; ignored."
        # The search refuses what the database cannot compare (a NUL character) with the form's own words.
        return f"{label}: {' '.join(self.form.errors[name]).rstrip('.')}; ignored."

    @property
    def is_filtered(self):
        """True when any filter narrows the list beyond its status: the empty page then offers to clear them."""
        return any(self.data.get(name) for name in self.filters if name not in NOT_FILTERS)
