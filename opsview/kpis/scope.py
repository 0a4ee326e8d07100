"""What a KPI is computed over: a workspace as one user sees it, a period, and optional filters.

Periods are calendar days in the workspace's time zone, so an event at 23:30 UTC
on 31 October belongs to November in Berlin. Snapshot KPIs (aging, backlog) are
taken "as of" the end of the period, or now when the period ends today.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.utils import timezone

from opsview.records.models import Project
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


@dataclass(frozen=True)
class Scopes:
    """Several workspaces as one user sees them, for KPIs computed for all of them at once (the portfolio).

    One ``Scope`` per workspace (its own period and time zone); rows are read for all of them in one query
    and grouped by ``workspace_id``, so a page of 50 firms asks the database as often as a page of two.
    Filters (client, project...) do not apply across firms; the user's role in each still does.
    """

    scopes: tuple

    @classmethod
    def of(cls, workspaces, user=None, now=None, period=DEFAULT_PERIOD):
        """A scope per workspace over its own named ``period``, all seen by ``user`` at ``now``."""
        now = now or timezone.now()
        return cls(
            tuple(
                Scope(workspace, *default_period(workspace, now, period), user=user, now=now)
                for workspace in workspaces
            )
        )

    @property
    def user(self):
        return self.scopes[0].user if self.scopes else None

    @property
    def current_time(self):
        return self.scopes[0].current_time if self.scopes else timezone.now()

    @property
    def workspace_ids(self):
        return [scope.workspace.pk for scope in self.scopes]

    def rows(self, model):
        """``model``'s rows of these workspaces that the user may see (all of them without a user)."""
        if self.user is None:
            return model.objects.filter(workspace_id__in=self.workspace_ids)
        return model.objects.visible_to(self.user).filter(workspace_id__in=self.workspace_ids)

    def narrow(self, queryset, **paths):
        """No filters apply across firms: the rows as they are, so single-scope KPI row functions accept these."""
        return queryset

    def each(self, condition):
        """``condition(scope)`` (a Q for one workspace's rows) for every workspace, as one Q: per-firm dates
        (each firm's own "today") in one query."""
        from django.db.models import Q

        # Firms whose condition is the same (the same "today" in most) share one branch: with a branch per firm
        # PostgreSQL tried up to 50 of them on each row, a third of the portfolio's unapproved hours at a year.
        branches = []
        for scope in self.scopes:
            own = condition(scope)
            for shared, workspace_ids in branches:
                if shared == own:
                    workspace_ids.append(scope.workspace.pk)
                    break
            else:
                branches.append((own, [scope.workspace.pk]))
        combined = Q()
        for shared, workspace_ids in branches:
            combined |= Q(workspace_id__in=workspace_ids) & shared
        return combined

    def time_entries(self):
        from opsview.records.models import TimeEntry

        return self.rows(TimeEntry)

    def sync_events(self):
        from opsview.telemetry.models import SyncEvent

        return self.rows(SyncEvent)
