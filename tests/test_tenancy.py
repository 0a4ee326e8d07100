"""A user sees only their own workspaces: every URL of the app is swept as an outsider, and proves absence.

Oscar is Contoso's admin; Northwind is the foreign firm. The two firms differ in every value (conftest's
FirmValues: names, external ids, people, hours, rates, totals), so a page, CSV or API answer fails the sweep
when it holds any value only Northwind has, not only when it names Northwind. Northwind's ids are tried in
the path, the query string and the form body, with GET, POST, PATCH and DELETE; the API is swept again with
Contoso's own token. Afterwards every Northwind row must be as it was. Built like NetBox's generic view tests:
one sweep over every URL pattern, which fails when a new URL with an id is not covered.
"""

import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from opsview.records.models import Project, TimeEntry
from opsview.systems.models import ApiToken, System
from opsview.telemetry.models import SyncRun
from opsview.workspaces.models import Workspace
from tests.conftest import make_user

METHODS = ("get", "post", "patch", "delete")

# How to find a Northwind object for each URL that takes an id. A new URL with
# an id must be added here, so the sweep below covers it too.
NORTHWIND_OBJECTS = {
    "sync-run": lambda nw: {"pk": SyncRun.objects.for_workspace(nw.workspace).get().pk},
    "revoke-token": lambda nw: {"pk": nw.token.pk},
    "system-edit": lambda nw: {"pk": nw.erp.pk},
    "system-pull": lambda nw: {"pk": nw.erp.pk},
    "system-test": lambda nw: {"pk": nw.erp.pk},
    "system-token": lambda nw: {"pk": nw.erp.pk},
    "system-first-data": lambda nw: {"pk": nw.erp.pk},
    "xero-connect": lambda nw: {"pk": nw.erp.pk},
    "xero-tenant": lambda nw: {"pk": nw.erp.pk},
    "api-sync-run": lambda nw: {"pk": SyncRun.objects.for_workspace(nw.workspace).get().pk},
    "api-sync-run-finish": lambda nw: {"pk": SyncRun.objects.for_workspace(nw.workspace).get().pk},
    "queue-item": lambda nw: {"pk": northwind_exception(nw).pk},
    "queue-group": lambda nw: {"pk": northwind_exception(nw).group_id},
    "queue-group-guide": lambda nw: {"pk": northwind_exception(nw).group_id},
    "queue-group-map": lambda nw: {"pk": northwind_exception(nw).group_id},
    "replay-map-group": lambda nw: {"pk": northwind_exception(nw).group_id},
    "queue-delete-view": lambda nw: {"pk": northwind_saved_view(nw).pk},
    "replay-edit": lambda nw: {"pk": northwind_exception(nw).pk},
    "replay-status": lambda nw: {"pk": northwind_exception(nw).pk},
    "project-billing": lambda nw: {"pk": nw.managed_project.pk},
    "workspace-logo": lambda nw: {"pk": nw.workspace.pk},
    "alert-rule-edit": lambda nw: {"pk": northwind_rule(nw).pk},
    "alert-rule-active": lambda nw: {"pk": northwind_rule(nw).pk},
    "alert-channel-edit": lambda nw: {"pk": northwind_channel(nw).pk},
    "alert-channel-deactivate": lambda nw: {"pk": northwind_channel(nw).pk},
    "alert-channel-test": lambda nw: {"pk": northwind_channel(nw).pk},
    "alert-delivery-retry": lambda nw: {"pk": northwind_delivery(nw).pk},
    "member-role": lambda nw: {"pk": northwind_membership(nw).pk},
    "member-remove": lambda nw: {"pk": northwind_membership(nw).pk},
    "member-deactivate": lambda nw: {"pk": northwind_membership(nw).pk},
    "invitation-resend": lambda nw: {"pk": northwind_invitation(nw).pk},
    "invitation-revoke": lambda nw: {"pk": northwind_invitation(nw).pk},
    "partner-staff-role": lambda nw: {"pk": northwind_partner_staff(nw).pk},
    "partner-staff-remove": lambda nw: {"pk": northwind_partner_staff(nw).pk},
    "api-exception": lambda nw: {"pk": northwind_exception(nw).pk},
    "api-group": lambda nw: {"pk": northwind_exception(nw).group_id},
    "personal-token-revoke": lambda nw: {"pk": northwind_personal_token(nw).pk},
}

# URLs whose parameter names a page of one's own workspace, not an object: they are
# swept like pages without an id (they answer, but never with another firm's data).
NOT_OBJECT_PARAMETERS = {
    "chart-csv": {"key": "aging"},
    # A password-reset link names an account by its signed token, not a workspace's object.
    "password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
    # An invitation link names its invitation by a signed token: another's is refused as not valid.
    "invitation-accept": {"token": "not-a-signed-token"},
    # A partner's logo and colour are its public brand: its sign-in page shows them before anyone signs in.
    "partner-logo": {"pk": 1},
    "partner-theme": {"pk": 1},
}

# Signing out would end the sweep's session; it is swept like the rest but signed in again after.
NO_SESSION_AFTER = {"logout"}


def northwind_rule(nw):
    from opsview.alerts.models import Rule

    return Rule.objects.for_workspace(nw.workspace).order_by("pk").first()


def northwind_exception(nw):
    from opsview.queues import sync_failures
    from opsview.queues.models import ExceptionItem
    from opsview.telemetry.models import SyncEvent

    sync_failures.on_sync_events(nw.workspace, list(SyncEvent.objects.for_workspace(nw.workspace)))
    return ExceptionItem.objects.for_workspace(nw.workspace).get()


def northwind_saved_view(nw):
    from django.contrib.auth import get_user_model

    from opsview.queues.models import SavedView

    owner = get_user_model().objects.filter(username="nora").first() or make_user("nora", nw.workspace, "operator")
    return SavedView.objects.get_or_create(workspace=nw.workspace, user=owner, name="Northwind view")[0]


def northwind_personal_token(nw):
    from opsview.accounts.models import PersonalToken

    owner = northwind_saved_view(nw).user
    return PersonalToken.objects.filter(user=owner).first() or PersonalToken.issue(owner, "Northwind BI")[0]


def northwind_channel(nw):
    from opsview.notify.models import Channel

    channel = Channel.objects.for_workspace(nw.workspace).first()
    if channel is None:
        channel = Channel(workspace=nw.workspace, name="#northwind-finance", kind="slack")
        channel.set_secrets(url="http://127.0.0.1:9/northwind-hook")
        channel.save()
    return channel


def northwind_delivery(nw):
    from opsview.notify.models import Delivery

    channel = northwind_channel(nw)
    return Delivery.objects.for_workspace(nw.workspace).first() or Delivery.objects.create(
        workspace=nw.workspace, channel=channel, subject="Northwind alert", body="b", link="http://x/", status="failed"
    )


def northwind_membership(nw):
    from opsview.workspaces.models import Membership

    return Membership.objects.get(workspace=nw.workspace, user=northwind_saved_view(nw).user)


def northwind_invitation(nw):
    from datetime import timedelta

    from django.utils import timezone

    from opsview.workspaces.models import Invitation

    return Invitation.objects.get_or_create(
        workspace=nw.workspace,
        email="nora.invited@northwind.example",
        defaults={"role": "operator", "expires_at": timezone.now() + timedelta(days=7)},
    )[0]


def northwind_partner_staff(nw):
    """A partner's staff member; the outsider administers no partner, so it is no more theirs than Northwind's."""
    from opsview.workspaces.models import Partner, PartnerMembership

    # Named apart from Northwind: as the only partner, its brand is on the public sign-in page by design.
    partner = Partner.objects.get_or_create(slug="harbour-partners", defaults={"name": "Harbour Partners"})[0]
    user = northwind_saved_view(nw).user
    return PartnerMembership.objects.get_or_create(user=user, partner=partner, defaults={"role": "admin"})[0]


def foreign_ids(nw):
    """Every Northwind id a form or query might name, under the names the app's forms and filters use."""
    item = northwind_exception(nw)
    nora = northwind_saved_view(nw).user
    ids = {
        "one": item.pk,
        "ids": item.pk,
        "group": item.group_id,
        "item": item.pk,
        "exception": item.pk,
        "system": nw.erp.pk,
        "source_system": nw.harvest.pk,
        "target_system": nw.erp.pk,
        "target": nw.erp.pk,
        "client": nw.client.pk,
        "project": nw.managed_project.pk,
        "person": nw.worker.pk,
        "manager": nw.manager_person.pk,
        "workspace": nw.workspace.pk,
        "view": northwind_saved_view(nw).pk,
        "run": SyncRun.objects.for_workspace(nw.workspace).get().pk,
        "token": nw.token.pk,
        "assignee": nora.pk,
        "user": nora.pk,
        "pk": item.pk,
        "id": item.pk,
        "quick": f"claim:{item.pk}",
        "channel": northwind_channel(nw).pk,
        "delivery": northwind_delivery(nw).pk,
        "member": northwind_membership(nw).pk,
        "invitation": northwind_invitation(nw).pk,
        "staff": northwind_partner_staff(nw).pk,
    }
    return {name: str(value) for name, value in ids.items()}


# Bodies that would change something were the ids accepted: each action, a replay, a token, a mapping.
ACTION_BODIES = [
    {
        "action": action,
        "resolution": "written_off",
        "note": "swept",
        "body": "swept",
        "until": "2030-01-01",
        "confirm_count": "1",
        "name": "swept",
        "fix_guide": "swept",
        "target_value": "SWEPT",
        "payload": "{}",
    }
    for action in ("claim", "assign", "resolve", "snooze", "ignore", "reopen", "comment")
]


def northwind_only_values(nw):
    """Patterns for every value only Northwind has (none of them is Contoso's, nor a part of one)."""
    entry_total = Decimal(TimeEntry.objects.for_workspace(nw.workspace).first().hours) * Decimal("150")
    words = [
        nw.workspace.name,
        nw.workspace.slug,
        nw.client.name,
        nw.client.external_id,
        nw.managed_project.name,
        nw.other_project.name,
        nw.managed_project.external_id,
        nw.other_project.external_id,
        nw.managed_project.code,
        nw.other_project.code,
        nw.manager_person.name,
        nw.worker.name,
        nw.manager_person.external_id,
        nw.worker.external_id,
        nw.token.name,
        nw.token.prefix if hasattr(nw.token, "prefix") else nw.token.name,
        "ev-1",
        "TE-PR-1",
        "TE-PR-2",
    ]
    numbers = ["7.5", "7.50", "150.00", "1125", "1125.00", "1,125.00", "2250", "2250.00", "2,250.00", "15.00"]
    assert entry_total == Decimal("1125")  # the numbers above are Northwind's hours, rate and totals
    patterns = [re.escape(w) for w in words] + [re.escape(n) for n in numbers]
    return re.compile(r"(?<![\w.,-])(?:" + "|".join(patterns) + r")(?![\w]|[.,]\d)", re.IGNORECASE)


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern)


def app_urls():
    return [(name, route) for name, route in walk(get_resolver().url_patterns) if not route.startswith("static")]


def body_of(response):
    """The body, whether rendered at once or streamed (the CSV export streams)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def concrete(route, kwargs):
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route)
    return "/" + path.lstrip("^").rstrip("$")


def northwind_rows(nw):
    """Every row of Northwind's, as values: the sweep must leave them all as they were."""
    foreign_ids(nw)  # its exception, group and saved view exist before the first look
    return firm_rows(nw)


def firm_rows(nw):
    rows = {"workspace": list(Workspace.objects.filter(pk=nw.workspace.pk).values())}
    for model in apps.get_models():
        if any(f.name == "workspace" for f in model._meta.concrete_fields):
            rows[model._meta.label] = list(model._base_manager.filter(workspace=nw.workspace).order_by("pk").values())
    return rows


class Sweep:
    """Sends one request as the outsider and checks its answer; collects what went wrong."""

    def __init__(self, client, user, northwind_values, api=False):
        self.client, self.user, self.values, self.api, self.problems, self.sent = (
            client,
            user,
            northwind_values,
            api,
            [],
            0,
        )

    def send(self, method, url, data=None):
        if not self.api:
            self.client.force_login(self.user)
        kwargs = {}
        if method in ("patch", "delete") and data is not None:
            from urllib.parse import urlencode

            kwargs = {"data": urlencode(data, doseq=True), "content_type": "application/x-www-form-urlencoded"}
        elif data is not None:
            kwargs = {"data": data}
        response = getattr(self.client, method)(url, **kwargs)
        self.sent += 1
        body = body_of(response).decode(errors="replace")
        where = f"{method.upper()} {url} {data or ''}"
        if response.status_code >= 500:
            self.problems.append(f"{where} answered {response.status_code}")
        found = self.values.search(body) or self.values.search(response.get("Location", ""))
        if found:
            self.problems.append(f"{where} shows Northwind's {found.group(0)!r}")
        return response


@pytest.fixture
def outsider_client(client, northwind, oscar):
    client.force_login(oscar)
    return client


def test_every_url_with_an_id_is_covered_by_the_sweep():
    with_ids = {name for name, route in app_urls() if "<" in route} - set(NOT_OBJECT_PARAMETERS)
    assert with_ids <= set(NORTHWIND_OBJECTS), f"add these to NORTHWIND_OBJECTS: {with_ids - set(NORTHWIND_OBJECTS)}"


def test_the_two_firms_share_no_value(northwind, contoso):
    """The sweep's premise: any Northwind value found on a Contoso page can only be Northwind's."""
    contoso_rows = str(firm_rows(contoso))
    found = northwind_only_values(northwind).findall(contoso_rows.replace(str(contoso.workspace.pk), ""))
    assert found == []


def test_the_sweep_finds_northwind_values_where_they_belong(client, northwind, ada):
    """A control: the same search over Northwind's own pages does find its values, so its silence means absence."""
    values = northwind_only_values(northwind)
    northwind_exception(northwind)
    client.force_login(ada)
    for url in ("/queues/", "/records/time-entries/", "/dashboards/projects/", "/queues/export.csv"):
        assert values.search(body_of(client.get(url)).decode()), f"{url} shows none of Northwind's values"


def test_an_outsider_gets_nothing_of_northwind_by_its_ids_in_any_path(outsider_client, northwind, oscar):
    sweep = Sweep(outsider_client, oscar, northwind_only_values(northwind))
    before = northwind_rows(northwind)
    for name, route in app_urls():
        if "<" not in route or name in NOT_OBJECT_PARAMETERS:
            continue
        url = concrete(route, NORTHWIND_OBJECTS[name](northwind))
        for method in METHODS:
            for body in [None, *ACTION_BODIES[:1]] if method != "get" else [None]:
                response = sweep.send(method, url, body)
                if response.status_code not in (403, 404, 405):
                    sweep.problems.append(f"{method.upper()} {url} answered {response.status_code}")
    assert sweep.problems == []
    assert northwind_rows(northwind) == before, "the sweep changed Northwind's data"


def test_no_url_takes_a_northwind_id_from_the_query_or_the_form(outsider_client, northwind, oscar):
    sweep = Sweep(outsider_client, oscar, northwind_only_values(northwind))
    ids = foreign_ids(northwind)
    before = northwind_rows(northwind)
    for name, route in app_urls():
        if "<" in route and name not in NOT_OBJECT_PARAMETERS:
            continue
        url = concrete(route, NOT_OBJECT_PARAMETERS.get(name, {}))
        sweep.send("get", url)
        sweep.send("get", url, ids)
        for method in ("post", "patch", "delete"):
            for body in ACTION_BODIES if name in ("queue-act", "replay-request") else ACTION_BODIES[:1]:
                sweep.send(method, url, {**ids, **body})
    assert sweep.sent > 100 and sweep.problems == []
    assert northwind_rows(northwind) == before, "the sweep changed Northwind's data"


def test_the_api_answers_another_firms_token_with_nothing_of_northwind(northwind, contoso, oscar):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    sweep = Sweep(api, oscar, northwind_only_values(northwind), api=True)
    ids = foreign_ids(northwind)
    before = northwind_rows(northwind)
    for name, route in app_urls():
        if not route.startswith("api/"):
            continue
        has_id = "<" in route and name not in NOT_OBJECT_PARAMETERS
        url = concrete(route, NORTHWIND_OBJECTS[name](northwind) if has_id else NOT_OBJECT_PARAMETERS.get(name, {}))
        for method in METHODS:
            response = sweep.send(method, url, ids if method == "get" else {**ids, "outcome": "succeeded"})
            if has_id and response.status_code not in (403, 404, 405):
                sweep.problems.append(f"{method.upper()} {url} with Contoso's token answered {response.status_code}")
    assert sweep.sent > 20 and sweep.problems == []
    assert northwind_rows(northwind) == before, "Contoso's token changed Northwind's data"


def test_the_api_answers_another_firms_personal_token_with_nothing_of_northwind(northwind, contoso, oscar):
    """Oscar's own token, on every API URL: Northwind's ids in the path, the query and a JSON body."""
    from opsview.accounts.tokens import issue_personal_token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_personal_token(oscar, 'BI')[1]}")
    sweep = Sweep(api, oscar, northwind_only_values(northwind), api=True)
    ids = foreign_ids(northwind)
    before = northwind_rows(northwind)
    one = [int(ids["id"])]
    # Each action with exactly the fields it takes, so only the id can refuse it; and every field at once.
    fields = {
        "assign": {"assignee": "nora"},
        "resolve": {"resolution": "written_off"},
        "snooze": {"until": "2030-01-01"},
    }
    fields |= {"ignore": {"reason": "swept"}, "comment": {"body": "swept"}}
    exact = {
        "api/v1/exceptions/actions/": [
            {"action": b["action"], "ids": one, **fields.get(b["action"], {})} for b in ACTION_BODIES
        ],
        "api/v1/replays/": [{"ids": one, "dry_run": True}, {"ids": one, "confirm_count": 1}],
    }
    noisy = [{"ids": one, **body, "dry_run": False, "confirm_count": 1} for body in ACTION_BODIES]
    for name, route in app_urls():
        if not route.startswith("api/"):
            continue
        has_id = "<" in route and name not in NOT_OBJECT_PARAMETERS
        url = concrete(route, NORTHWIND_OBJECTS[name](northwind) if has_id else NOT_OBJECT_PARAMETERS.get(name, {}))
        response = sweep.send("get", url, ids)
        if has_id and response.status_code not in (403, 404, 405):
            sweep.problems.append(f"GET {url} with Oscar's token answered {response.status_code}")
        for body in exact.get(route, []) + noisy:
            response = api.post(url, body, format="json")
            sweep.sent += 1
            if response.status_code >= 500 or sweep.values.search(response.content.decode()):
                sweep.problems.append(f"POST {url} {body} answered {response.status_code}: {response.content[:200]}")
            if body not in noisy and response.status_code != 404:
                sweep.problems.append(f"POST {url} {body} with a Northwind id answered {response.status_code}")
    assert sweep.sent > 100 and sweep.problems == []
    assert northwind_rows(northwind) == before, "Oscar's token changed Northwind's data"


def test_revoking_a_foreign_token_by_post_changes_nothing(outsider_client, northwind):
    outsider_client.post(f"/settings/tokens/{northwind.token.pk}/revoke/")

    assert ApiToken.objects.get(pk=northwind.token.pk).revoked_at is None


def test_visible_to_returns_only_the_users_workspaces(northwind, contoso, oscar, olivia):
    assert {s.workspace.slug for s in System.objects.visible_to(olivia)} == {"northwind"}
    assert set(System.objects.visible_to(oscar)) == set(System.objects.for_workspace(contoso.workspace))
    assert list(Workspace.objects.visible_to(olivia)) == [northwind.workspace]


def test_a_manager_sees_only_their_own_projects_and_their_time(northwind, max_manager):
    assert list(Project.objects.visible_to(max_manager)) == [northwind.managed_project]
    assert {e.project for e in TimeEntry.objects.visible_to(max_manager)} == {northwind.managed_project}
    assert System.objects.visible_to(max_manager).count() == 2


def test_a_manager_of_one_firm_and_operator_of_another_sees_all_of_the_second(northwind, contoso, max_manager):
    from opsview.workspaces.models import Membership

    Membership.objects.create(user=max_manager, workspace=contoso.workspace, role="operator")
    visible = set(Project.objects.visible_to(max_manager))

    assert visible == {northwind.managed_project, contoso.managed_project, contoso.other_project}
    assert set(Project.objects.visible_to(max_manager, contoso.workspace)) == {
        contoso.managed_project,
        contoso.other_project,
    }


def test_anonymous_users_see_nothing():
    from django.contrib.auth.models import AnonymousUser

    assert not Project.objects.visible_to(AnonymousUser()).exists()


def test_a_user_in_two_workspaces_switches_between_them(client, northwind, contoso):
    partner = make_user("pat", northwind.workspace, "executive")
    from opsview.workspaces.models import Membership

    Membership.objects.create(user=partner, workspace=contoso.workspace, role="executive")
    client.force_login(partner)

    first = client.get("/")
    assert b"<h1>Contoso</h1>" in first.content  # workspaces in name order
    client.post("/workspace/switch/", {"workspace": northwind.workspace.pk, "next": "/runs/"})
    second = client.get("/")
    assert b"<h1>Northwind</h1>" in second.content
    assert b"Switched to Northwind." in second.content


def test_switching_to_a_workspace_one_is_not_in_is_404(client, northwind, contoso, oscar):
    client.force_login(oscar)
    response = client.post("/workspace/switch/", {"workspace": northwind.workspace.pk})

    assert response.status_code == 404
    assert b"<h1>Contoso</h1>" in client.get("/").content


def test_pages_require_sign_in(client, northwind):
    for url in ("/", "/runs/", "/settings/tokens/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_queue_across_firms_never_reaches_a_firm_one_is_not_in(outsider_client, northwind, oscar):
    """``firm=all`` and ``firm=<slug>`` (the queue across one's firms) name firms, not rows: asked for
    Northwind by its slug, Oscar gets his own firms' queue and a word that Northwind is not his."""
    item = northwind_exception(northwind)
    values = northwind_only_values(northwind)
    before = northwind_rows(northwind)
    for firm in ("all", northwind.workspace.slug):
        for url in ("/queues/", "/queues/?view=groups", "/queues/export.csv"):
            response = outsider_client.get(url, {"firm": firm})
            body = body_of(response).decode()
            # The slug Oscar typed comes back in the page's own links and message; nothing else of Northwind does.
            for echo in (f"firm={firm}", f"&#x27;{firm}&#x27;", f"'{firm}'"):
                body = body.replace(echo, "")
            shown = values.search(body)
            assert not shown, f"{url}?firm={firm} shows {shown.group(0)!r}"
            assert f'data-record="{item.external_id}"' not in body
        for path in ("/queues/actions/", "/replays/request/"):
            for body in ACTION_BODIES[:3]:
                outsider_client.post(path, {**body, "firm": firm, "ids": item.pk, "matching": "firm=all&status=all"})
    assert northwind_rows(northwind) == before
