"""The operations API: the queues for people's tools, across their firms, with a personal token.

Lists and one exception are scoped as the pages are; each action changes what the same action in the
browser changes and writes the same audit entries, marked as done through the API; replays are a dry
run, then queued by confirming the count, and sent.
"""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from opsview.accounts.tokens import issue_personal_token
from opsview.audit.models import AuditEntry
from opsview.queues.models import Comment, ExceptionItem, Status
from opsview.replay.models import Replay, ReplayAttempt
from opsview.workspaces.models import Membership
from opsview.workspaces.roles import Role
from tests.conftest import make_user, signed_in
from tests.queue_support import exceptions, failure, send
from tests.replay_support import failing_to, queued_replays, queued_tasks, run_queued, webhook_system

EXCEPTIONS = "/api/v1/exceptions/"
ACTIONS = "/api/v1/exceptions/actions/"
GROUPS = "/api/v1/groups/"
REPLAYS = "/api/v1/replays/"


def token_of(user):
    _, raw = issue_personal_token(user, "script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def act(client, action, items, **fields):
    return client.post(ACTIONS, {"action": action, "ids": [i.pk for i in items], **fields}, format="json")


@pytest.fixture
def contoso_api(contoso):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    return client


@pytest.fixture
def queue(api, northwind):
    """Northwind's queue: three failures of one cause, a timeout; the firm's exceptions."""
    send(
        api,
        *[failure(f"TE-{n}", payload={"amount": "500", "currency": "EUR"}) for n in range(3)],
        failure("TE-t", "Read timed out after 30s", code="TIMEOUT"),
    )
    return exceptions(northwind)


@pytest.fixture
def contoso_queue(contoso_api, contoso):
    send(contoso_api, failure("CX-1", "Contoso: posting period 2026-10 is closed"))
    return exceptions(contoso)


def test_the_list_shows_the_firms_exceptions_with_their_firm(northwind, olivia, queue):
    body = token_of(olivia).get(EXCEPTIONS).json()

    assert body["count"] == 4
    first = body["results"][0]
    assert first["workspace"] == {"slug": "northwind", "name": "Northwind"}
    assert first["amount"] == "1125.00" and first["status"] == "open"  # the most money first: 7.5 h at 150
    assert first["url"] == f"{EXCEPTIONS}{first['id']}/" and first["page"] == f"/queues/{first['id']}/"


def test_another_firms_exceptions_are_invisible_and_their_ids_404(northwind, olivia, oscar, queue, contoso_queue):
    ours, theirs = token_of(olivia), token_of(oscar)

    assert {r["workspace"]["slug"] for r in ours.get(EXCEPTIONS).json()["results"]} == {"northwind"}
    assert [r["external_id"] for r in theirs.get(EXCEPTIONS).json()["results"]] == ["CX-1"]
    northwind_item = queue.first()
    assert theirs.get(f"{EXCEPTIONS}{northwind_item.pk}/").status_code == 404
    assert theirs.get(GROUPS, {"workspace": "northwind"}).status_code == 404
    assert theirs.get(f"{GROUPS}{northwind_item.group_id}/").status_code == 404
    refused = act(theirs, "resolve", [northwind_item, contoso_queue.get()], resolution="written_off")
    assert refused.status_code == 404
    assert str(northwind_item.pk) in refused.json()["detail"]
    assert refused.json()["errors"][0]["id"] == northwind_item.pk
    # All or nothing: Contoso's own exception was not resolved either.
    assert not ExceptionItem.objects.filter(status=Status.RESOLVED).exists()


def test_filters_narrow_as_on_the_queue_page(northwind, olivia, queue):
    api = token_of(olivia)
    timeout = queue.get(external_id="TE-t")

    def ids(**params):
        return sorted(r["external_id"] for r in api.get(EXCEPTIONS, params).json()["results"])

    assert ids(kind="sync_error") == ["TE-t"]
    assert ids(q="timed out") == ["TE-t"]
    assert ids(group=queue.get(external_id="TE-0").group_id) == ["TE-0", "TE-1", "TE-2"]
    assert ids(system="tryton", workspace="northwind") == ["TE-0", "TE-1", "TE-2", "TE-t"]
    act(api, "claim", [timeout])
    assert ids(assignee="me") == ["TE-t"]
    assert ids(assignee="olivia") == ["TE-t"]
    assert len(ids(assignee="none")) == 3
    act(api, "resolve", [timeout], resolution="fixed_at_source")
    assert ids(status="resolved") == ["TE-t"] and len(ids()) == 3 and len(ids(status="all")) == 4
    assert [r["external_id"] for r in api.get(EXCEPTIONS, {"limit": 1}).json()["results"]] == ["TE-0"]  # TE-t resolved


def test_a_filter_that_cannot_be_used_is_a_400_naming_it(northwind, olivia, queue):
    api = token_of(olivia)

    wrong = api.get(EXCEPTIONS, {"status": "closed", "group": "x"})
    missing = api.get(EXCEPTIONS, {"workspace": "fabrikam"})

    assert wrong.status_code == 400 and set(wrong.json()["errors"]) == {"status", "group"}
    assert missing.status_code == 404 and "fabrikam" in missing.json()["detail"]


def test_one_exception_with_its_events_replays_attempts_and_history(api, northwind, olivia, server):
    target = webhook_system(northwind, server)
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    client = token_of(olivia)
    plan = client.post(REPLAYS, {"ids": [item.pk], "dry_run": True}, format="json").json()
    client.post(REPLAYS, {"ids": [item.pk], "confirm_count": plan["count"]}, format="json")
    run_queued()

    body = client.get(f"{EXCEPTIONS}{item.pk}/").json()

    assert [e["outcome"] for e in body["events"]] == ["failed"]
    assert body["events"][0]["payload"] == {"hours": 7.5, "bill_rate": 150, "currency": "EUR"}
    (replay,) = body["replays"]
    assert replay["status"] == "succeeded" and replay["requested_by"] == "olivia"
    assert [(a["number"], a["outcome"]) for a in replay["attempt_log"]] == [(1, "succeeded")]
    assert body["status"] == "resolved" and body["resolution"] == "replayed"
    assert [h["action"] for h in body["history"]] == ["exception.replay", "exception.resolve"]
    assert body["history"][0]["actor"].startswith("olivia via API token opp_")


def test_groups_list_and_one_group(northwind, olivia, queue):
    api = token_of(olivia)
    group_id = queue.get(external_id="TE-0").group_id

    listing = api.get(GROUPS).json()
    one = api.get(f"{GROUPS}{group_id}/").json()

    rows = {r["id"]: r for r in listing["results"]}
    assert listing["count"] == 2 and rows[group_id]["exceptions"] == 3 and rows[group_id]["amount"] == "1500.00"
    assert rows[group_id]["workspace"]["slug"] == "northwind"
    assert one["by_status"]["open"] == 3 and one["stake"]["records"] == 3
    assert one["exceptions_url"] == f"{EXCEPTIONS}?group={group_id}&status=all"


# Each action as the queue page posts it, and as the API takes it.
ACTIONS_BOTH_WAYS = [
    ("claim", {}, {}),
    ("assign", {"assignee": "ADA"}, {"assignee": "ada"}),
    ("comment", {"body": "asked the client"}, {"body": "asked the client"}),
    ("resolve", {"resolution": "written_off", "note": "small"}, {"resolution": "written_off", "note": "small"}),
    ("snooze", {"until": "2030-01-15", "note": "after close"}, {"until": "2030-01-15", "note": "after close"}),
    ("ignore", {"note": "test record"}, {"reason": "test record"}),
    ("reopen", {"note": "came back"}, {"note": "came back"}),
]
STATE = ("status", "resolution", "resolution_note", "assignee_id", "snoozed_until", "resolved_by_id")


@pytest.mark.parametrize("action, by_page, by_api", ACTIONS_BOTH_WAYS, ids=[a[0] for a in ACTIONS_BOTH_WAYS])
def test_each_action_changes_what_the_browser_changes_and_audits_the_same(
    client, api, northwind, olivia, ada, action, by_page, by_api
):
    send(api, failure("TE-A"), failure("TE-B"))
    in_browser, through_api = (
        exceptions(northwind).get(external_id="TE-A"),
        exceptions(northwind).get(external_id="TE-B"),
    )
    if action == "reopen":
        exceptions(northwind).update(status=Status.RESOLVED, resolution="duplicate", resolved_at=timezone.now())
    by_page = {name: (ada.pk if value == "ADA" else value) for name, value in by_page.items()}
    before = ExceptionItem.objects.filter(pk=in_browser.pk).values(*STATE).get()

    signed_in(client, olivia).post("/queues/actions/", {"action": action, "one": in_browser.pk, **by_page})
    response = act(token_of(olivia), action, [through_api], **by_api)

    assert response.status_code == 200, response.content
    assert (response.json()["requested"], response.json()["changed"]) == (1, 1)
    page_state, api_state = (
        ExceptionItem.objects.filter(pk=i.pk).values(*STATE).get() for i in (in_browser, through_api)
    )
    assert page_state == api_state
    assert page_state != before or action == "comment"  # a comment changes no state of the exception
    page_entry, api_entry = (
        AuditEntry.objects.filter(target_id=str(i.pk), action=f"exception.{action}").get()
        for i in (in_browser, through_api)
    )
    fields = ("actor", "before", "after", "note", "workspace")
    assert [getattr(page_entry, f) for f in fields] == [getattr(api_entry, f) for f in fields]
    assert (page_entry.actor_label, api_entry.actor_label.split(" via ")[0]) == ("olivia", "olivia")
    assert api_entry.actor_label.startswith("olivia via API token opp_")
    if action == "comment":
        assert Comment.objects.filter(exception=through_api, author=olivia, body="asked the client").exists()


def test_a_refused_action_says_why_and_changes_nothing(northwind, olivia, queue):
    api = token_of(olivia)

    no_resolution = act(api, "resolve", queue)
    past = act(api, "snooze", queue, until=(date.today() - timedelta(days=1)).isoformat())
    stranger = act(api, "assign", queue, assignee="oscar")
    unassigned = act(api, "assign", queue)
    typo = act(api, "resolve", queue, resolution="duplicate", resolutoin="x")

    assert no_resolution.status_code == 400 and "Choose a resolution" in no_resolution.json()["detail"]
    assert past.status_code == 400 and "future" in past.json()["detail"]
    assert stranger.status_code == 400 and "No teammate 'oscar' in Northwind" in stranger.json()["detail"]
    assert unassigned.status_code == 400 and "assignee" in unassigned.json()["errors"]
    assert typo.status_code == 400 and typo.json()["errors"] == {"resolutoin": ["unknown field"]}
    assert not queue.exclude(status=Status.OPEN).exists()
    assert not AuditEntry.objects.filter(action__startswith="exception.").exists()


def test_an_executive_reads_but_cannot_act(northwind, erin, queue):
    api = token_of(erin)
    assert api.get(EXCEPTIONS).json()["count"] == 4

    for action, fields in [("claim", {}), ("comment", {"body": "hm"}), ("resolve", {"resolution": "duplicate"})]:
        response = act(api, action, queue, **fields)
        assert response.status_code == 403, action
    assert "does not allow" in response.json()["detail"]
    replay = api.post(REPLAYS, {"ids": [queue.first().pk], "dry_run": True}, format="json")
    assert replay.status_code == 403
    assert not queue.exclude(status=Status.OPEN).exists() and not Comment.objects.exists()


def test_a_manager_sees_and_comments_on_their_projects_only(api, northwind, max_manager):
    send(api, failure("TE-PR-1"), failure("TE-PR-2"))  # the entries of Max's project and of the other one
    mine, other = exceptions(northwind).get(external_id="TE-PR-1"), exceptions(northwind).get(external_id="TE-PR-2")
    manager = token_of(max_manager)

    assert [r["external_id"] for r in manager.get(EXCEPTIONS).json()["results"]] == ["TE-PR-1"]
    assert manager.get(f"{EXCEPTIONS}{other.pk}/").status_code == 404
    assert act(manager, "comment", [other], body="?").status_code == 404
    assert act(manager, "comment", [mine], body="approved now").status_code == 200
    assert act(manager, "claim", [mine]).status_code == 403
    assert list(Comment.objects.values_list("exception_id", flat=True)) == [mine.pk]


def test_ids_of_several_firms_are_acted_on_per_firm_each_audited_there(northwind, contoso, queue, contoso_queue):
    partner = make_user("pat", northwind.workspace, Role.OPERATOR)
    Membership.objects.create(user=partner, workspace=contoso.workspace, role=Role.OPERATOR)
    chosen = [queue.get(external_id="TE-0"), contoso_queue.get()]

    response = act(token_of(partner), "resolve", chosen, resolution="fixed_at_source", note="period reopened")

    assert response.status_code == 200
    assert sorted((f["workspace"], f["changed"]) for f in response.json()["firms"]) == [
        ("contoso", 1),
        ("northwind", 1),
    ]
    entries = AuditEntry.objects.filter(action="exception.resolve")
    assert sorted((e.workspace.slug, e.target_id) for e in entries) == sorted(
        (i.workspace.slug, str(i.pk)) for i in chosen
    )


def test_one_firm_refusing_changes_nothing_in_any(northwind, contoso, queue, contoso_queue):
    partner = make_user("pat", northwind.workspace, Role.OPERATOR)
    Membership.objects.create(user=partner, workspace=contoso.workspace, role=Role.EXECUTIVE)

    response = act(token_of(partner), "claim", [queue.get(external_id="TE-0"), contoso_queue.get()])

    assert response.status_code == 403 and response.json()["detail"].startswith("Contoso: ")
    assert not ExceptionItem.objects.filter(assignee=partner).exists()
    assert not AuditEntry.objects.filter(action__startswith="exception.").exists()


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


def test_a_replay_is_a_dry_run_then_queued_by_confirming_the_count_then_sent(api, northwind, olivia, target, server):
    items = failing_to(api, northwind, target, "TE-7", "TE-8", "TE-9")
    ids = sorted(i.pk for i in items.values())
    client = token_of(olivia)

    plan = client.post(REPLAYS, {"ids": ids, "dry_run": True}, format="json")

    assert plan.status_code == 200
    body = plan.json()
    assert body["count"] == 3 and not Replay.objects.exists() and not queued_tasks()
    assert {(r["target_system"], r["external_id"]) for r in body["replays"]} == {
        ("middleware", "TE-7"),
        ("middleware", "TE-8"),
        ("middleware", "TE-9"),
    }
    assert body["replays"][0]["payload"]["hours"] == 7.5

    wrong = client.post(REPLAYS, {"ids": ids, "confirm_count": 2}, format="json")
    assert wrong.status_code == 409
    assert wrong.json()["detail"].startswith("You confirmed 2, but 3 records would be replayed.")
    assert not Replay.objects.exists()

    queued = client.post(REPLAYS, {"ids": ids, "confirm_count": 3, "selection": body["selection"]}, format="json")

    assert queued.status_code == 202
    assert queued.json()["queued"] == 3
    replays = Replay.objects.order_by("exception_id")
    assert [r.exception_id for r in replays] == ids and {r.status for r in replays} == {"queued"}
    assert sorted(queued_replays()) == sorted(r.pk for r in replays)
    assert {r["idempotency_key"] for r in queued.json()["replays"]} == {r["idempotency_key"] for r in body["replays"]}
    audit = AuditEntry.objects.filter(action="exception.replay")
    assert audit.count() == 3 and {e.actor for e in audit} == {olivia}
    assert all(e.actor_label.startswith("olivia via API token opp_") for e in audit)

    assert run_queued() == ["succeeded"] * 3
    assert sorted(seen.json()["payload"]["external_id"] for seen in server.seen) == ["TE-7", "TE-8", "TE-9"]
    assert ReplayAttempt.objects.filter(outcome="succeeded").count() == 3
    assert ExceptionItem.objects.filter(pk__in=ids, status=Status.RESOLVED, resolution="replayed").count() == 3


def test_a_replay_whose_records_changed_since_the_dry_run_is_refused(api, northwind, olivia, target):
    items = failing_to(api, northwind, target, "TE-7", "TE-8")
    ids = [i.pk for i in items.values()]
    client = token_of(olivia)
    plan = client.post(REPLAYS, {"ids": ids, "dry_run": True}, format="json").json()
    act(client, "resolve", [items["TE-7"]], resolution="fixed_at_source")

    changed = client.post(REPLAYS, {"ids": ids, "confirm_count": 2, "selection": plan["selection"]}, format="json")
    nothing = client.post(REPLAYS, {"ids": [items["TE-7"].pk], "confirm_count": 0}, format="json")

    assert changed.status_code == 409 and "1 would be replayed now" in changed.json()["detail"]
    assert nothing.status_code == 409 and nothing.json()["detail"].startswith("Nothing to replay")
    assert not Replay.objects.exists() and not queued_tasks()


def test_a_replay_needs_a_dry_run_or_a_count(northwind, olivia, queue):
    response = token_of(olivia).post(REPLAYS, {"ids": [queue.first().pk]}, format="json")

    assert response.status_code == 400 and "confirm_count" in response.json()["errors"]


def test_a_replay_to_a_system_not_connected_is_refused_with_its_reason(northwind, olivia, queue):
    ids = [queue.get(external_id="TE-0").pk]  # to the Tryton system, which has no settings here
    client = token_of(olivia)

    plan = client.post(REPLAYS, {"ids": ids, "dry_run": True}, format="json").json()
    refused = client.post(REPLAYS, {"ids": ids, "confirm_count": 0}, format="json")

    assert plan["count"] == 0 and plan["blocked"] == 1 and plan["not_connected"][0]["system"] == "tryton"
    assert refused.status_code == 409 and refused.json()["detail"].endswith("Nothing was queued.")


def test_snoozing_through_the_api_brings_it_back_at_the_start_of_that_day(northwind, olivia, queue):
    item = queue.first()

    act(token_of(olivia), "snooze", [item], until="2030-01-15")

    item.refresh_from_db()
    assert timezone.localtime(item.snoozed_until).replace(tzinfo=None) == datetime(2030, 1, 15, 8, 0)
