"""The filter bar of every dashboard and list: ``ScopeForm``'s fields as inputs, with the choices to offer.

Names, labels and the named periods come from the form (``opsview.kpis.forms``),
the one definition of the KPI filters; a page only says which of them it shows.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.utils.dateformat import format as date_format

from opsview.kpis.forms import ScopeForm
from opsview.records.models import Client, Person, Project


@dataclass
class Input:
    """One input of the filter bar: a select, a date or a hidden parameter."""

    name: str
    kind: str  # "select", "date" or "hidden"
    value: object = ""
    label: str = ""
    options: list = field(default_factory=list)  # (value, text, selected)


class FilterBar:
    """What the filter bar offers: named periods, and the clients and project managers this user can see.

    ``fields`` are the filters the page shows ("period" brings its start and
    end days); ``keep`` names parameters the bar does not show but must not
    drop, e.g. which list a drill-down opened.
    """

    def __init__(self, scope, fields, params=None, keep=()):
        self.scope = scope
        self.fields = set(fields)
        self.params = params or {}
        self.keep = [(name, self.params[name]) for name in keep if self.params.get(name)]

    @cached_property
    def clients(self):
        return list(self.scope.rows(Client).order_by("name").values_list("id", "name"))

    @cached_property
    def managers(self):
        managing = self.scope.rows(Project).filter(manager__isnull=False).values("manager_id")
        return list(self.scope.rows(Person).filter(pk__in=managing).order_by("name").values_list("id", "name"))

    def _select(self, name, first, choices, chosen):
        options = [("", first, False)] + [(value, text, value == chosen) for value, text in choices]
        return Input(name, "select", label=ScopeForm.base_fields[name].label, options=options)

    def _date(self, name, value):
        return Input(name, "date", value.isoformat(), label=ScopeForm.base_fields[name].label)

    @cached_property
    def inputs(self):
        """The inputs, in the bar's order."""
        scope, inputs = self.scope, []
        if "period" in self.fields:
            named = [(value, text) for value, text in ScopeForm.base_fields["period"].choices if value]
            custom = f"{date_format(scope.start, 'j M Y')} – {date_format(scope.end, 'j M Y')}"
            inputs += [
                self._select("period", custom, named, self.params.get("period")),
                self._date("start", scope.start),
                self._date("end", scope.end),
            ]
        if "client" in self.fields:
            inputs.append(self._select("client", "all", self.clients, scope.client))
        # A manager sees only their own projects: one name to choose from is no choice.
        if "manager" in self.fields and len(self.managers) > 1:
            inputs.append(self._select("manager", "all", self.managers, scope.manager))
        # Filters the bar does not offer but the page was narrowed by, e.g. the project page's project.
        narrowed = [name for name in ("project", "system") if getattr(scope, name)]
        inputs += [Input(name, "hidden", getattr(scope, name)) for name in narrowed]
        inputs += [Input(name, "hidden", value) for name, value in self.keep]
        return inputs
