"""The scope of every dashboard and list, from the query string; malformed filters answer 400 (the bar: forms.py)."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from opsview.kpis.forms import scope_from_params
from opsview.kpis.scope import ScopeError
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
