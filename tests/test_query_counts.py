"""Every page and API view that answers GET makes no more SQL queries than its baseline in query_counts.json.

The views are every named URL pattern of the resolver, each asked for by a signed-in user of the role it is
for (or the system's API token, or nobody for the sign-in pages) on a small seeded workspace: two firms,
the cast, a handful of failures in the queue. A count that grows fails and names the view, the baseline and
the new count: a list that runs one query per row makes its count grow with the seed's rows. A count that
falls passes with a warning saying to lower the baseline.

Rewrite the baselines after a change that means to move them (on SQLite, the default database):

    UPDATE_QUERY_COUNTS=1 .venv/bin/pytest tests/test_query_counts.py

The baselines are SQLite's counts; on PostgreSQL a few views need fewer, and none may need more.

A new view that takes URL arguments needs an entry in ``VIEWS`` below saying what to fill them with.
"""

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from opsview.accounts.tokens import issue_personal_token
from opsview.alerts import services as alerts
from opsview.alerts.models import Rule, RuleKind
from opsview.notify.models import Channel, Delivery
from opsview.queues import sync_failures
from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole
from opsview.workspaces.roles import Role
from tests.conftest import make_user
from tests.queue_support import failure, send

BASELINES = Path(__file__).with_name("query_counts.json")
UPDATE = os.environ.get("UPDATE_QUERY_COUNTS") == "1"
HOW_TO_UPDATE = "UPDATE_QUERY_COUNTS=1 .venv/bin/pytest tests/test_query_counts.py"


def seed_partner():
    # Its primary key differs between databases (PostgreSQL's sequences are not reset between tests).
    return Partner.objects.order_by("pk").first()


@dataclass(frozen=True)
class View:
    """Who asks for a view, and with what: URL arguments (from the seed), a query string; and what it answers."""

    # admin, operator, manager, executive, partner (admin), token (the Harvest system's), personal (the
    # operator's own token) or anonymous
    who: str = "admin"
    kwargs: object = None  # seed -> the URL's arguments
    query: dict = field(default_factory=dict)
    status: int = 200  # what it answers; 3xx also passes


# Views whose URL takes arguments, or whose user is not the admin. Any other view is asked for by the admin.
VIEWS = {
    "home": View("operator"),
    "sync-runs": View("operator"),
    "sync-run": View("operator", lambda s: {"pk": s.run.pk}),
    "queue": View("operator"),
    "queue-export": View("operator"),
    "queue-delete-view": View("operator", lambda s: {"pk": 1}),
    "queue-settings": View("admin"),
    "queue-item": View("operator", lambda s: {"pk": s.item.pk}),
    "queue-group": View("operator", lambda s: {"pk": s.item.group_id}),
    "queue-group-guide": View("operator", lambda s: {"pk": s.item.group_id}),
    "queue-group-map": View("operator", lambda s: {"pk": s.item.group_id}),
    "replays": View("operator"),
    "replay-request": View("operator"),
    "replay-edit": View("operator", lambda s: {"pk": s.item.pk}),
    "replay-status": View("operator", lambda s: {"pk": s.item.pk}),
    "replay-map-group": View("operator", lambda s: {"pk": s.item.group_id}),
    "executive-dashboard": View("executive"),
    "chart-csv": View("executive", lambda s: {"key": "aging"}),
    "my-projects": View("manager"),
    "project-billing": View("manager", lambda s: {"pk": s.firm.managed_project.pk}),
    "portfolio": View("executive"),
    "time-entries": View("executive"),
    "sync-events": View("operator"),
    "system-edit": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "system-test": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "system-token": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "system-first-data": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "system-pull": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "xero-connect": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "xero-tenant": View("admin", lambda s: {"pk": s.firm.erp.pk}),
    "xero-callback": View("admin", status=400),  # no state: refused
    "workspace-logo": View("admin", lambda s: {"pk": s.firm.workspace.pk}, status=404),  # the seed has no logo
    "revoke-token": View("admin", lambda s: {"pk": s.firm.token.pk}),
    "alert-channel-edit": View("admin", lambda s: {"pk": alert_channel(s).pk}),
    "alert-channel-deactivate": View("admin", lambda s: {"pk": alert_channel(s).pk}),
    "alert-channel-test": View("admin", lambda s: {"pk": alert_channel(s).pk}),
    "alert-delivery-retry": View("admin", lambda s: {"pk": alert_delivery(s).pk}),
    "login": View("anonymous"),
    "password_reset": View("anonymous"),
    "password_reset_done": View("anonymous"),
    "password_reset_confirm": View("anonymous", lambda s: {"uidb64": "MQ", "token": "set-password"}),
    "password_reset_complete": View("anonymous"),
    "healthz": View("anonymous"),
    "alerts": View("operator"),
    "my-alerts": View("manager"),
    "alert-rule-edit": View("admin", lambda s: {"pk": Rule.objects.for_workspace(s.firm.workspace).first().pk}),
    "alert-rule-active": View("admin", lambda s: {"pk": 1}),  # answers no GET
    "firm-create": View("partner"),
    "partner-staff": View("partner"),
    "member-role": View("admin", lambda s: {"pk": 1}),  # these answer no GET
    "member-remove": View("admin", lambda s: {"pk": 1}),
    "member-deactivate": View("admin", lambda s: {"pk": 1}),
    "invitation-resend": View("admin", lambda s: {"pk": 1}),
    "invitation-revoke": View("admin", lambda s: {"pk": 1}),
    "partner-staff-role": View("partner", lambda s: {"pk": 1}),
    "partner-staff-remove": View("partner", lambda s: {"pk": 1}),
    "invitation-accept": View("anonymous", lambda s: {"token": invitation_token(s)}),
    "api-whoami": View("token"),
    "api-sync-runs": View("token"),
    "api-sync-run": View("token", lambda s: {"pk": s.run.pk}),
    "api-sync-run-finish": View("token", lambda s: {"pk": s.run.pk}),
    "api-sync-events": View("token"),
    "api-mappings": View("token"),
    "onboarding": View("admin"),
    "partner-branding": View("admin", status=403),  # the seed's admin is no partner admin
    "partner-logo": View("anonymous", lambda s: {"pk": seed_partner().pk}, status=404),  # it has no logo
    "partner-theme": View("anonymous", lambda s: {"pk": seed_partner().pk}),
    "personal-tokens": View("operator"),
    "personal-token-revoke": View("operator", lambda s: {"pk": 1}),  # answers no GET
    "api-exceptions": View("personal"),
    "api-exception": View("personal", lambda s: {"pk": s.item.pk}),
    "api-groups": View("personal"),
    "api-group": View("personal", lambda s: {"pk": s.item.group_id}),
}


# Views asked for a second time, under their own baseline, with a query that takes another path: the queue
# across the person's firms (Erin is an executive of both firms of the seed). Its count must not grow with the
# number of firms: tests/test_partner_queue.py holds that.
VARIANTS = {
    "queue (all my firms)": ("queue", View("executive", query={"firm": "all"})),
    "queue groups (all my firms)": ("queue", View("executive", query={"firm": "all", "view": "groups"})),
    "queue-export (all my firms)": ("queue-export", View("executive", query={"firm": "all"})),
}


def alert_channel(seed):
    channel = Channel.objects.for_workspace(seed.firm.workspace).first()
    if channel is None:
        channel = Channel(workspace=seed.firm.workspace, name="#finance-ops", kind="slack")
        channel.set_secrets(url="http://127.0.0.1:9/hook")
        channel.save()
    return channel


def alert_delivery(seed):
    return Delivery.objects.for_workspace(seed.firm.workspace).first() or Delivery.objects.create(
        workspace=seed.firm.workspace, channel=alert_channel(seed), subject="s", body="b", link="http://x/"
    )


def invitation_token(seed):
    """The link of an invitation to Northwind for someone new: the page asks them to make their account."""
    from opsview.firms.invitations import invite, token_for

    return token_for(invite(seed.users["admin"], seed.firm.workspace, "nina@northwind.example", Role.OPERATOR))


API_DEFAULT = View("executive")  # the KPI API, /api/v1/kpis/...: for people signed in
STATES_API_DEFAULT = View("token")  # the states API, /api/v1/states/...: for integrations


def named_patterns(patterns=None, prefix=""):
    """(name, route) of every named URL pattern, through every include."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from named_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name, prefix + str(pattern.pattern), bool(pattern.pattern.converters)


def view_of(name, route):
    if name in VIEWS:
        return VIEWS[name]
    if route.startswith("api/v1/states/"):
        return STATES_API_DEFAULT
    if route.startswith("api/"):
        return API_DEFAULT
    return View()


@dataclass
class Seed:
    firm: object
    run: SyncRun
    item: ExceptionItem
    users: dict


@pytest.fixture
def seed(northwind, contoso, ada, olivia, max_manager, erin, api):
    """Two firms, the cast, and failures in the queue: three in one group, two of other causes."""
    Membership.objects.create(user=erin, workspace=contoso.workspace, role=Role.EXECUTIVE)  # for the portfolio
    sync_failures.on_sync_events(northwind.workspace, list(SyncEvent.objects.for_workspace(northwind.workspace)))
    send(
        api,
        *[failure(f"TE-{n}", payload={"amount": "500", "currency": "EUR"}) for n in range(3)],
        failure("TE-t", "Read timed out after 30s", code="TIMEOUT"),
        failure("TE-m", "Unknown project code 'ACME-01'", code=""),
    )
    # The alerts page lists what fired: each new group alerted the admin and the operator.
    Rule.objects.for_workspace(northwind.workspace).filter(kind=RuleKind.NEW_GROUP).update(
        baseline_group_id=0, checked_at=timezone.now()
    )
    alerts.evaluate_workspace(northwind.workspace)
    item = ExceptionItem.objects.for_workspace(northwind.workspace).filter(external_id="TE-0").get()
    run = SyncRun.objects.for_workspace(northwind.workspace).order_by("pk").first()
    # A partner admin (of a partner with no firm, so the firms' pages count as before) for the partner pages.
    partner = Partner.objects.create(name="Seed Partners")
    paula = get_user_model().objects.create_user("paula", "paula@partner.example", "x")
    PartnerMembership.objects.create(user=paula, partner=partner, role=PartnerRole.ADMIN)
    users = {"admin": ada, "operator": olivia, "manager": max_manager, "executive": erin, "partner": paula}
    make_user("outsider", contoso.workspace, Role.ADMIN)
    return Seed(northwind, run, item, users)


def client_for(seed, who):
    client = APIClient()
    if who == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {seed.firm.raw_token}")
    elif who == "personal":
        _, raw = issue_personal_token(seed.users["operator"], "query counts")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    elif who != "anonymous":
        client.force_login(seed.users[who])
    return client


def count_queries(seed, view, url):
    """The queries of a second GET of ``url`` (the first warms what a process caches once); None if no GET."""
    client = client_for(seed, view.who)
    first = client.get(url, view.query)
    if first.status_code == 405:
        return None
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, view.query)
    assert response.status_code == view.status or 300 <= response.status_code < 400, (
        f"{url} answered {response.status_code} to {view.who}: fix its entry in VIEWS of tests/test_query_counts.py"
    )
    return len(queries)


def test_no_view_makes_more_queries_than_its_baseline(seed):
    if UPDATE and connection.vendor != "sqlite":
        pytest.fail("The baselines are SQLite's counts: rewrite them without DATABASE_URL")
    baselines = json.loads(BASELINES.read_text()) if BASELINES.exists() else {}
    counts, problems, lower = {}, [], []
    variants = [(label, reverse(name), False, view) for label, (name, view) in VARIANTS.items()]
    for name, route, takes_arguments, *variant in [*named_patterns(), *variants]:
        view = variant[0] if variant else view_of(name, route)
        if takes_arguments and view.kwargs is None:
            problems.append(
                f"{name} ({route}): add it to VIEWS in tests/test_query_counts.py, saying what to fill "
                f"its URL arguments with; then run {HOW_TO_UPDATE}"
            )
            continue
        url = route if variant else reverse(name, kwargs=view.kwargs(seed) if view.kwargs else None)
        count = count_queries(seed, view, url)
        if count is None:
            continue  # answers no GET
        counts[name] = count
        if UPDATE:
            continue
        if name not in baselines:
            problems.append(f"{name} ({route}) has no query-count baseline ({count} now): run {HOW_TO_UPDATE}")
        elif count > baselines[name]:
            problems.append(
                f"{name} ({route}) makes {count} queries, {count - baselines[name]} more than its "
                f"baseline of {baselines[name]}"
            )
        elif count < baselines[name] and connection.vendor == "sqlite":
            lower.append(f"{name}: {count} queries, baseline {baselines[name]}")
    gone = sorted(set(baselines) - set(counts))
    if UPDATE:
        BASELINES.write_text(json.dumps(dict(sorted(counts.items())), indent=2) + "\n")
        return
    if gone:
        problems.append(f"baselines of views that are gone or answer no GET: {', '.join(gone)}; run {HOW_TO_UPDATE}")
    if lower:
        warnings.warn(
            f"Fewer queries than the baseline; lower it with {HOW_TO_UPDATE}: " + "; ".join(lower), stacklevel=1
        )
    assert not problems, "\n".join(problems)
