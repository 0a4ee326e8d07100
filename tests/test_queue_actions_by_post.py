"""Actions through the pages: one item, a selection, a whole group; roles checked on the server for direct POSTs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.queues.models import Comment, ExceptionItem, Status
from tests.conftest import signed_in
from tests.queue_support import exceptions, failure, send

URL = "/queues/actions/"


@pytest.fixture
def items(api, northwind):
    send(api, *[failure(f"TE-{n}") for n in range(20)], failure("TE-PR-1", "Read timed out", code="TIMEOUT"))
    return exceptions(northwind)


def group_of_twenty(items):
    return items.exclude(external_id="TE-PR-1").first().group


def test_resolving_a_whole_group_in_one_post(client, items, olivia):
    group = group_of_twenty(items)
    response = signed_in(client, olivia).post(
        URL,
        {
            "action": "resolve",
            "group": group.pk,
            "resolution": "fixed_at_source",
            "note": "period reopened",
            "next": f"/queues/groups/{group.pk}/",
        },
        follow=True,
    )

    assert "20 exceptions resolved." in response.content.decode()
    assert items.filter(status=Status.RESOLVED).count() == 20
    assert items.get(external_id="TE-PR-1").status == Status.OPEN
    assert AuditEntry.objects.filter(action="exception.resolve", actor=olivia, note="period reopened").count() == 20


def test_acting_on_a_selection(client, items, olivia):
    chosen = list(items.filter(external_id__in=["TE-1", "TE-2", "TE-3"]).values_list("pk", flat=True))
    signed_in(client, olivia).post(URL, {"action": "ignore", "ids": chosen, "note": "test data"})

    assert set(items.filter(status=Status.IGNORED).values_list("external_id", flat=True)) == {"TE-1", "TE-2", "TE-3"}


def test_a_rows_claim_button_claims_that_row_only(client, items, olivia):
    one = items.get(external_id="TE-5")
    # The toolbar's action says "resolve"; the row's own button wins.
    signed_in(client, olivia).post(URL, {"action": "resolve", "resolution": "replayed", "quick": f"claim:{one.pk}"})

    assert items.filter(assignee=olivia).get() == one
    assert items.filter(status=Status.RESOLVED).count() == 0


def test_snooze_assign_comment_and_reopen_by_post(client, items, olivia, ada):
    one = items.get(external_id="TE-7")
    signed_in(client, olivia)
    until = (timezone.localdate() + timedelta(days=7)).isoformat()
    client.post(URL, {"action": "snooze", "one": one.pk, "until": until})
    assert ExceptionItem.objects.get(pk=one.pk).status == Status.SNOOZED
    client.post(URL, {"action": "assign", "one": one.pk, "assignee": ada.pk})
    assert ExceptionItem.objects.get(pk=one.pk).assignee == ada
    client.post(URL, {"action": "comment", "one": one.pk, "body": "Waiting for October"})
    assert Comment.objects.get().body == "Waiting for October"
    client.post(URL, {"action": "reopen", "one": one.pk})
    assert ExceptionItem.objects.get(pk=one.pk).status == Status.OPEN


def test_a_refused_action_says_why_and_changes_nothing(client, items, olivia):
    one = items.get(external_id="TE-7")
    response = signed_in(client, olivia).post(URL, {"action": "ignore", "one": one.pk, "note": ""}, follow=True)

    assert "Say why these are ignored" in response.content.decode()
    assert ExceptionItem.objects.get(pk=one.pk).status == Status.OPEN


@pytest.mark.parametrize("action", ["claim", "assign", "resolve", "snooze", "ignore", "reopen"])
def test_an_executive_posting_an_action_directly_is_refused(client, items, erin, ada, action):
    group = group_of_twenty(items)
    data = {
        "action": action,
        "group": group.pk,
        "resolution": "fixed_at_source",
        "note": "x",
        "assignee": ada.pk,
        "until": (timezone.localdate() + timedelta(days=2)).isoformat(),
    }
    response = signed_in(client, erin).post(URL, data)

    assert response.status_code == 403
    assert items.filter(status=Status.OPEN, assignee=None).count() == 21
    assert not AuditEntry.objects.filter(actor=erin).exists()


def test_an_executive_may_not_comment_either(client, items, erin):
    response = signed_in(client, erin).post(URL, {"action": "comment", "ids": [items.first().pk], "body": "hm"})

    assert response.status_code == 403 and not Comment.objects.exists()


def test_a_manager_may_comment_on_their_project_but_not_resolve(client, items, max_manager):
    own = items.get(external_id="TE-PR-1")
    signed_in(client, max_manager)
    client.post(URL, {"action": "comment", "ids": [i.pk for i in items], "body": "Approver is on leave"})
    assert [c.exception for c in Comment.objects.all()] == [own]

    response = client.post(URL, {"action": "resolve", "one": own.pk, "resolution": "fixed_at_source"})
    assert response.status_code == 403 and ExceptionItem.objects.get(pk=own.pk).status == Status.OPEN


def test_an_outsider_posting_northwind_ids_changes_nothing(client, items, oscar):
    group = group_of_twenty(items)
    signed_in(client, oscar)

    assert client.post(URL, {"action": "resolve", "group": group.pk, "resolution": "replayed"}).status_code == 404
    client.post(URL, {"action": "resolve", "ids": [i.pk for i in items], "resolution": "replayed"})
    client.post(URL, {"action": "claim", "one": items.first().pk})
    assert items.filter(status=Status.OPEN, assignee=None).count() == 21


def test_next_never_leaves_the_site(client, items, olivia):
    response = signed_in(client, olivia).post(
        URL, {"action": "claim", "one": items.first().pk, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/queues/"


def test_only_operators_and_admins_map_an_unknown_value(client, api, northwind, erin, max_manager):
    from opsview.queues.models import Mapping

    send(api, failure("TE-PR-1", "Unknown project code 'ACME-01'", code=""))
    group = exceptions(northwind).get().group
    for user in (erin, max_manager):
        response = signed_in(client, user).post(f"/queues/groups/{group.pk}/map/", {"target_value": "4711"})
        assert response.status_code == 403
    assert not Mapping.objects.exists()
    assert exceptions(northwind).get().status == Status.OPEN


def test_the_toolbar_checks_only_what_the_chosen_action_needs(client, items, olivia):
    one = items.get(external_id="TE-9")
    signed_in(client, olivia)
    # The toolbar posts every field: a snooze date or an assignee left there does not stop a claim.
    response = client.post(
        URL, {"action": "claim", "one": one.pk, "until": "next week", "assignee": "nobody"}, follow=True
    )
    assert "1 exception claimed." in response.content.decode()
    assert ExceptionItem.objects.get(pk=one.pk).assignee == olivia

    response = client.post(URL, {"action": "launch", "quick": f"reopen:{one.pk}"}, follow=True)
    assert "Nothing to do: none of 1 exception could be reopened." in response.content.decode()
    response = client.post(URL, {"action": "claim", "quick": f"launch:{one.pk}"}, follow=True)
    assert "Choose an action." in response.content.decode()
