"""The KPI filters: the one definition of the query parameters every dashboard, list and KPI endpoint takes.

The KPI API documents its parameters from these fields (name, type, help text,
choices) and the dashboards' filter bar labels its inputs with them, so a
filter added here is validated, documented and offered alike.
"""

from django import forms
from django.http import Http404

from opsview.common.bounds import date_field, id_field
from opsview.kpis.scope import DEFAULT_PERIOD, MAX_DAYS, PERIODS, Scope, ScopeError, default_period
from opsview.records.models import Client, Person, Project
from opsview.systems.models import System


class ScopeForm(forms.Form):
    """The filters every dashboard, list and KPI endpoint takes, as query parameters."""

    period = forms.ChoiceField(
        label="Period",
        choices=[("", "Custom")] + list(PERIODS.items()),
        required=False,
        help_text="A named period; overrides start and end.",
    )
    start = date_field(label="From", required=False, help_text="First day, YYYY-MM-DD, in the workspace's time zone.")
    end = date_field(label="To", required=False, help_text="Last day, inclusive; default today (last 30 days).")
    client = id_field(label="Client", required=False, help_text="Only this client's projects.")
    project = id_field(label="Project", required=False, help_text="Only this project.")
    manager = id_field(
        label="Project manager", required=False, help_text="Only projects this person (a project manager) manages."
    )
    system = id_field(
        label="System", required=False, help_text="Only records of this system (sync: as source or target)."
    )


FILTER_MODELS = {"client": Client, "project": Project, "manager": Person, "system": System}


def scope_from_params(user, workspace, params, now=None, default=DEFAULT_PERIOD):
    """Build a Scope from query parameters.

    Malformed values raise ScopeError; an id the user cannot see raises Http404,
    as a foreign id does everywhere else.
    """
    form = ScopeForm(params)
    if not form.is_valid():
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
        raise ScopeError(problems)
    data = form.cleaned_data
    start, end = default_period(workspace, now, data["period"] or default)
    if not data["period"] and (data["start"] or data["end"]):
        span = end - start
        end = data["end"] or end
        start = data["start"] or end - span
    if start > end:
        raise ScopeError("start: must not be after end.")
    if (end - start).days + 1 > MAX_DAYS:
        raise ScopeError(f"A period spans at most {MAX_DAYS} days.")
    for name, model in FILTER_MODELS.items():
        if data[name] and not model.objects.visible_to(user, workspace).filter(pk=data[name]).exists():
            raise Http404(f"No such {name} in this workspace.")
    return Scope(
        workspace=workspace,
        start=start,
        end=end,
        user=user,
        now=now,
        client=data["client"],
        project=data["project"],
        manager=data["manager"],
        system=data["system"],
    )
