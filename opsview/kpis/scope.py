"""What a KPI is computed over: a workspace as one user sees it, a period, and optional filters.

Periods are calendar days in the workspace's time zone, so an event at 23:30 UTC
on 31 October belongs to November in Berlin. Snapshot KPIs (aging, backlog) are
taken "as of" the end of the period, or now when the period ends today.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django import forms
from django.http import Http404
from django.utils import timezone

from opsview.common.bounds import date_field, id_field
from opsview.records.models import Client, Person, Project
from opsview.systems.models import System
from opsview.workspaces.permissions import role_of
from opsview.workspaces.roles import Role

MAX_DAYS = 366
PERIODS = {
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "last-month": "Last month",
}
DEFAULT_PERIOD = "30d"


class ScopeError(ValueError):
    """The filters asked for are malformed; the message says how."""


@dataclass(frozen=True)
class Scope:
    """A workspace seen by ``user`` (None: the whole workspace, for tasks) over ``start``–``end`` inclusive.

    ``client``, ``project``, ``manager`` (a Person id) and ``system`` narrow the
    rows; ``now`` pins the clock (tests, roll-ups of past days).
    """

    workspace: object
    start: date
    end: date
    user: object = None
    client: int | None = None
    project: int | None = None
    manager: int | None = None
    system: int | None = None
    now: datetime | None = None

    @cached_property
    def tz(self):
        return ZoneInfo(self.workspace.time_zone)

    @cached_property
    def current_time(self):
        return self.now or timezone.now()

    def midnight(self, day):
        """The instant local ``day`` begins."""
        return datetime.combine(day, time.min, self.tz)

    @property
    def start_at(self):
        return self.midnight(self.start)

    @property
    def end_at(self):
        """The instant after the period: midnight at the start of the day after ``end``."""
        return self.midnight(self.end + timedelta(days=1))

    @cached_property
    def as_of(self):
        """The instant snapshot KPIs are taken at: the end of the period, or now if that is earlier."""
        return min(self.current_time, self.end_at)

    @cached_property
    def as_of_date(self):
        return min(self.end, timezone.localtime(self.current_time, self.tz).date())

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def each_day(self):
        """Every day of the period, first to last."""
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def previous(self):
        """The period of the same length just before this one, with the same filters."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def with_period(self, start, end):
        return replace(self, start=start, end=end)

    def with_project(self, project):
        return replace(self, project=project)

    @cached_property
    def is_narrowed(self):
        """True when the rows are some projects only: a project filter, or a manager seeing their own."""
        if self.client or self.project or self.manager:
            return True
        return self.user is not None and role_of(self.user, self.workspace) == Role.MANAGER

    def filters(self):
        """The filters as query parameters, for links that keep them."""
        params = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for name in ("client", "project", "manager", "system"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        return params

    # Rows. Every KPI starts from one of these, so scoping and filters live here only.

    def rows(self, model):
        """``model``'s rows this scope may see, before filters."""
        if self.user is None:
            return model.objects.for_workspace(self.workspace)
        return model.objects.visible_to(self.user, self.workspace)

    def narrow(self, queryset, client=None, project=None, manager=None, system=None):
        """Apply the filters through the lookup paths given for this model; a filter without a path is ignored."""
        for name, path in (("client", client), ("project", project), ("manager", manager), ("system", system)):
            value = getattr(self, name)
            if value and path:
                queryset = queryset.filter(**{path: value})
        return queryset

    def time_entries(self):
        from opsview.records.models import TimeEntry

        return self.narrow(self.rows(TimeEntry), "project__client_id", "project_id", "project__manager_id", "system_id")

    def invoices(self):
        from opsview.records.models import Invoice

        return self.narrow(self.rows(Invoice), "client_id", "project_id", "project__manager_id", "system_id")

    def projects(self):
        return self.narrow(self.rows(Project), "client_id", "id", "manager_id", "system_id")

    def sync_events(self):
        """Sync events touch records, not projects: only the system filter applies (as source or target)."""
        from django.db.models import Q

        from opsview.telemetry.models import SyncEvent

        events = self.rows(SyncEvent)
        if self.system:
            events = events.filter(Q(source_system_id=self.system) | Q(target_system_id=self.system))
        return events


def default_period(workspace, now=None, period=DEFAULT_PERIOD):
    """``(start, end)`` of a named period, in the workspace's calendar."""
    today = timezone.localtime(now or timezone.now(), ZoneInfo(workspace.time_zone)).date()
    if period == "90d":
        return today - timedelta(days=89), today
    if period == "month":
        return today.replace(day=1), today
    if period == "last-month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    return today - timedelta(days=29), today


class ScopeForm(forms.Form):
    """The filters every dashboard, list and KPI endpoint takes, as query parameters."""

    period = forms.ChoiceField(choices=[("", "Custom")] + list(PERIODS.items()), required=False)
    start = date_field(required=False, help_text="First day, YYYY-MM-DD, in the workspace's time zone.")
    end = date_field(required=False, help_text="Last day, inclusive.")
    client = id_field(required=False)
    project = id_field(required=False)
    manager = id_field(required=False, help_text="A project manager (person) id.")
    system = id_field(required=False)


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
        workspace=workspace, start=start, end=end, user=user, now=now,
        client=data["client"], project=data["project"], manager=data["manager"], system=data["system"],
    )  # fmt: skip
