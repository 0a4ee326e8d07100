"""The filter bar of every dashboard and list: a scope from the query string, and the choices to offer."""

from functools import cached_property, wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from opsview.kpis.forms import scope_from_params
from opsview.kpis.scope import PERIODS, ScopeError
from opsview.records.models import Client, Person, Project
from opsview.workspaces.http import require_workspace


def page_scope(request, default="30d"):
    """The scope a page shows: the user's current workspace, the period and the filters of the query string."""
    return scope_from_params(request.user, require_workspace(request), request.GET, default=default)


def dashboard_page(view):
    """Sign-in required; malformed filters answer 400 with the reason, on a page that offers a way back."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ScopeError as exc:
            return render(request, "dashboards/bad_filters.html", {"problem": str(exc)}, status=400)

    return wrapper


class FilterChoices:
    """What the filter bar offers: named periods, and the clients and project managers this user can see."""

    periods = list(PERIODS.items())

    def __init__(self, scope, fields, params=None, keep=()):
        self.scope = scope
        self.fields = set(fields)
        # Parameters the form does not show but must not drop, e.g. which list a drill-down opened.
        self.hidden = [(name, params[name]) for name in keep if params and params.get(name)]

    @cached_property
    def clients(self):
        return list(self.scope.rows(Client).order_by("name").values_list("id", "name"))

    @cached_property
    def managers(self):
        managing = self.scope.rows(Project).filter(manager__isnull=False).values("manager_id")
        return list(self.scope.rows(Person).filter(pk__in=managing).order_by("name").values_list("id", "name"))
