"""The partner portfolio: one row per firm of the user, the totals across them at the top.

Every figure is a KPI of ``opsview.kpis`` computed for all the firms at once (``Scopes``: grouped by
workspace in one query each), so the page asks the database as often for 50 firms as for two:

- money at stake: open exceptions' money (``exception_money_at_stake``), per currency, never added across;
- past SLA: ``items_past_sla``;
- sync health: the sync success rate over the last 24 hours, and whether it is under the healthy rate;
- unapproved hours before the billing cut-off: ``unapproved_hours`` as the cut-off alert counts them
  (``alerts.rules.next_cutoff``);
- onboarding progress: ``firms.checklist.onboarding_for``.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.utils import timezone

from opsview.alerts.rules import local_now, next_cutoff
from opsview.dashboards import drilldown
from opsview.firms.checklist import onboarding_for
from opsview.kpis.approval import unapproved_hours_by_workspace
from opsview.kpis.exceptions import exception_money_at_stake_by_workspace, items_past_sla_by_workspace
from opsview.kpis.scope import Scope, Scopes
from opsview.kpis.sync import HEALTHY_RATE, last_day_sync_by_workspace, success_rate
from opsview.workspaces.permissions import ADMINISTER, can

MAX_SEARCH = 100
NO_STAKE = {"by_currency": [], "records": 0, "exceptions": 0}


class PortfolioError(ValueError):
    """A sort or filter of the query string cannot be used; the message says which and why."""


@dataclass
class FirmRow:
    """One firm's figures, and the pages of that firm behind each."""

    workspace: object
    role: str
    stake: dict
    past_sla: int
    sync: dict | None
    unapproved_hours: Decimal
    cutoff: object
    onboarding: object
    links: dict = field(default_factory=dict)

    @property
    def sync_failing(self):
        return bool(self.sync and self.sync["failing"])

    @property
    def needs_attention(self):
        """Items past their SLA, or integrations failing over the last day."""
        return self.past_sla > 0 or self.sync_failing

    @property
    def largest_stake(self):
        return max((row["amount"] for row in self.stake["by_currency"]), default=0)


def _sync_rate_key(row):
    rate = row.sync["rate"] if row.sync else None
    return 2.0 if rate is None else rate  # no events: neither good nor bad, after every measured firm


# Each sort's natural order puts the firm that most needs someone first; "-" before a key reverses it.
SORTS = {
    "attention": ("Needs attention", lambda r: (not r.needs_attention, -r.past_sla, _sync_rate_key(r))),
    "name": ("Name", lambda r: r.workspace.name.lower()),
    "money": ("Money at stake", lambda r: -r.largest_stake),
    "past_sla": ("Past SLA", lambda r: -r.past_sla),
    "sync": ("Sync success, 24 h", _sync_rate_key),
    "unapproved": ("Unapproved before cut-off", lambda r: -r.unapproved_hours),
    "onboarding": ("Onboarding", lambda r: r.onboarding.done if r.onboarding else 99),
}
DEFAULT_SORT = "attention"


@dataclass(frozen=True)
class Choices:
    """The sort and filters asked for in the query string, checked."""

    sort: str = DEFAULT_SORT
    q: str = ""
    attention: bool = False
    incomplete: bool = False

    @classmethod
    def from_params(cls, params):
        sort = params.get("sort") or DEFAULT_SORT
        if sort.lstrip("-") not in SORTS:
            raise PortfolioError(f"Sort by one of: {', '.join(SORTS)} (a '-' before it reverses); not '{sort[:40]}'.")
        q = (params.get("q") or "").strip()
        if len(q) > MAX_SEARCH:
            raise PortfolioError(f"The name search has at most {MAX_SEARCH} characters; this one has {len(q)}.")
        return cls(sort, q, params.get("attention") == "1", params.get("incomplete") == "1")

    def filters(self):
        params = {"q": self.q, "attention": "1" if self.attention else "", "incomplete": "1" if self.incomplete else ""}
        return {name: value for name, value in params.items() if value}

    def sort_link(self, key):
        """The query string sorting by ``key`` with the filters kept; sorting again by it reverses."""
        sort = f"-{key}" if self.sort == key else key
        return "?" + urlencode(self.filters() | {"sort": sort})

    @property
    def attention_link(self):
        """The default order (needs attention first), the filters kept."""
        return "?" + urlencode(self.filters())

    @property
    def unfiltered_link(self):
        """Every firm, the sort kept."""
        return "?" + urlencode({"sort": self.sort} if self.sort != DEFAULT_SORT else {})

    def columns(self):
        """``(key, label, link, order)`` per sortable figure; ``order`` is "ascending"/"descending" on the current."""
        found = []
        for key, (label, _) in SORTS.items():
            order = {key: "ascending", f"-{key}": "descending"}.get(self.sort, "")
            found.append((key, label, self.sort_link(key), order))
        return found

    def query(self):
        """The query string of the sort and filters, for links that keep them."""
        params = self.filters() | ({"sort": self.sort} if self.sort != DEFAULT_SORT else {})
        return urlencode(params)


@dataclass
class Totals:
    money: list
    past_sla: int
    succeeded: int
    failed: int
    rate: float | None
    failing_firms: int
    unapproved_hours: Decimal
    needs_attention: int
    onboarding_incomplete: int


def totals_of(rows):
    """The sums of ``rows``' figures: money per currency (never one currency added to another), the rest added."""
    money = {}
    for row in rows:
        for part in row.stake["by_currency"]:
            money[part["currency"]] = money.get(part["currency"], 0) + part["amount"]
    succeeded = sum(row.sync["succeeded"] for row in rows if row.sync)
    failed = sum(row.sync["failed"] for row in rows if row.sync)
    return Totals(
        money=[{"currency": cur, "amount": amount} for cur, amount in sorted(money.items())],
        past_sla=sum(row.past_sla for row in rows),
        succeeded=succeeded,
        failed=failed,
        rate=success_rate(succeeded, failed),
        failing_firms=sum(1 for row in rows if row.sync_failing),
        unapproved_hours=sum((row.unapproved_hours for row in rows), Decimal(0)),
        needs_attention=sum(1 for row in rows if row.needs_attention),
        onboarding_incomplete=sum(1 for row in rows if row.onboarding and not row.onboarding.complete),
    )


def _cutoff_scope(workspace, user, now):
    # The billing cut-off alert's scope: as of now, the time worked up to the next cut-off.
    cutoff = next_cutoff(workspace, local_now(workspace, now).date())
    return Scope(workspace=workspace, start=cutoff - timedelta(days=30), end=cutoff, user=user, now=now)


def _links(scope, now):
    today = local_now(scope.workspace, now).date()
    last_day = Scope(workspace=scope.workspace, start=today - timedelta(days=1), end=today, user=scope.user, now=now)
    return {
        "money": drilldown.queue(status="open"),
        "past_sla": drilldown.queue(past_sla=True),
        "sync": drilldown.sync_events(last_day, outcome="failed"),
        "unapproved": drilldown.time_entries(scope, status="unapproved"),
    }


def _in_firm_currency(stake, currency):
    """``stake`` with money of no currency (exceptions whose records carry no amount, so 0) counted in the
    firm's reporting currency, as the queue's totals do: a total never shows a figure without its currency."""
    if all(part["currency"] for part in stake["by_currency"]):
        return stake
    merged = {}
    for part in stake["by_currency"]:
        key = part["currency"] or currency
        into = merged.setdefault(key, {"currency": key, "amount": 0, "records": 0, "exceptions": 0})
        for figure in ("amount", "records", "exceptions"):
            into[figure] += part[figure]
    return {**stake, "by_currency": list(merged.values())}


def firm_rows(user, memberships, now=None):
    """A row per membership's firm, every figure read for all of them at once (a constant number of queries)."""
    now = now or timezone.now()
    memberships = list(memberships)
    if not memberships:
        return []
    scopes = Scopes(tuple(_cutoff_scope(m.workspace, user, now) for m in memberships))
    stakes = exception_money_at_stake_by_workspace(scopes)
    late = items_past_sla_by_workspace(scopes)
    sync = last_day_sync_by_workspace(scopes)
    unapproved = unapproved_hours_by_workspace(scopes)
    # The checklist is the firm admins' to-do list; a firm's executive sees no progress of it.
    administered = [m.workspace for m in memberships if can(user, m.workspace, ADMINISTER)]
    checklists = onboarding_for(administered)
    rows = []
    for membership, scope in zip(memberships, scopes.scopes, strict=True):
        pk = membership.workspace_id
        rows.append(
            FirmRow(
                workspace=membership.workspace,
                role=membership.get_role_display(),
                stake=_in_firm_currency(stakes.get(pk, NO_STAKE), membership.workspace.currency),
                past_sla=late.get(pk, 0),
                sync=sync.get(pk),
                unapproved_hours=unapproved.get(pk, Decimal("0.00")),
                cutoff=scope.end,
                onboarding=checklists.get(pk),
                links=_links(scope, now),
            )
        )
    return rows


@dataclass
class Portfolio:
    rows: list
    totals: Totals
    choices: Choices
    firms: int
    healthy_rate: float = HEALTHY_RATE


def portfolio(user, memberships, params, now=None):
    """The portfolio page: the firms ``params`` asks for (name search, needs attention, onboarding incomplete),
    sorted as asked, with the totals of those shown. Raises ``PortfolioError`` for a sort or filter it cannot use.
    """
    choices = Choices.from_params(params)
    rows = firm_rows(user, memberships, now)
    shown = rows
    if choices.q:
        shown = [row for row in shown if choices.q.lower() in row.workspace.name.lower()]
    if choices.attention:
        shown = [row for row in shown if row.needs_attention]
    if choices.incomplete:
        shown = [row for row in shown if row.onboarding and not row.onboarding.complete]
    key = choices.sort.lstrip("-")
    shown = sorted(shown, key=lambda r: r.workspace.name.lower())
    shown = sorted(shown, key=SORTS[key][1], reverse=choices.sort.startswith("-"))
    return Portfolio(rows=shown, totals=totals_of(shown), choices=choices, firms=len(rows))
