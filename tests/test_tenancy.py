"""A user sees only their own workspaces: every URL of the app is walked as an outsider."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from opsview.records.models import Project, TimeEntry
from opsview.telemetry.models import SyncRun
from opsview.workspaces.models import ApiToken, System, Workspace
from tests.conftest import make_user

# How to find a Northwind object for each URL that takes an id. A new URL with
# an id must be added here, so the sweep below covers it too.
NORTHWIND_OBJECTS = {
    "sync-run": lambda nw: {"pk": SyncRun.objects.for_workspace(nw.workspace).get().pk},
    "revoke-token": lambda nw: {"pk": nw.token.pk},
    "system-edit": lambda nw: {"pk": nw.erp.pk},
    "system-pull": lambda nw: {"pk": nw.erp.pk},
    "system-test": lambda nw: {"pk": nw.erp.pk},
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
}

# URLs whose parameter names a page of one's own workspace, not an object: they are
# swept like pages without an id (they answer, but never with another firm's data).
NOT_OBJECT_PARAMETERS = {
    "chart-csv": {"key": "aging"},
    # A password-reset link names an account by its signed token, not a workspace's object.
    "password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
}


def northwind_exception(nw):
    from opsview.queues import sync_failures
    from opsview.queues.models import ExceptionItem
    from opsview.telemetry.models import SyncEvent

    sync_failures.on_sync_events(nw.workspace, list(SyncEvent.objects.for_workspace(nw.workspace)))
    return ExceptionItem.objects.for_workspace(nw.workspace).get()


def northwind_saved_view(nw):
    from opsview.queues.models import SavedView

    owner = make_user("nora", nw.workspace, "operator")
    return SavedView.objects.get_or_create(workspace=nw.workspace, user=owner, name="Northwind view")[0]


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


@pytest.fixture
def outsider_client(client, northwind, oscar):
    client.force_login(oscar)
    return client


def test_every_url_with_an_id_is_covered_by_the_sweep():
    with_ids = {name for name, route in app_urls() if "<" in route} - set(NOT_OBJECT_PARAMETERS)
    assert with_ids <= set(NORTHWIND_OBJECTS), f"add these to NORTHWIND_OBJECTS: {with_ids - set(NORTHWIND_OBJECTS)}"


def test_an_outsider_gets_404_or_403_for_every_northwind_object(outsider_client, northwind):
    for name, route in app_urls():
        if "<" not in route or name in NOT_OBJECT_PARAMETERS:
            continue
        url = concrete(route, NORTHWIND_OBJECTS[name](northwind))
        for method in ("get", "post"):
            response = getattr(outsider_client, method)(url)
            assert response.status_code in (403, 404, 405), f"{method.upper()} {url} answered {response.status_code}"
            assert b"Northwind" not in body_of(response), f"{method.upper()} {url} shows Northwind data"


def test_no_page_without_an_id_shows_an_outsider_northwind_data(outsider_client, northwind):
    for name, route in app_urls():
        if "<" in route and name not in NOT_OBJECT_PARAMETERS:
            continue
        response = outsider_client.get(concrete(route, NOT_OBJECT_PARAMETERS.get(name, {})))
        assert response.status_code < 500, f"{route} answered {response.status_code}"
        body = body_of(response)
        assert b"Northwind" not in body, f"{route} shows Northwind data to an outsider"


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
