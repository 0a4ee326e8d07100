"""Wrong input on any queue form says what was wrong and where; never a silent re-render, never a 500."""

import pytest
from django.core.management import call_command

from opsview.queues.models import ExceptionItem, KindSetting, SavedView
from tests.conftest import signed_in
from tests.queue_support import failure, send


@pytest.fixture
def queue(api, northwind):
    send(api, failure("TE-1"), failure("TE-2"))
    call_command("backfill_queues", "--if-empty", stdout=None)
    return ExceptionItem.objects.filter(workspace=northwind.workspace)


def text(response):
    return response.content.decode()


@pytest.mark.parametrize(
    "params, says",
    [
        ({"kind": "bogus"}, "Kind: &#x27;bogus&#x27; is not one of"),
        ({"client": "abc"}, "Client: &#x27;abc&#x27; is not an id from the list; ignored."),
        ({"client": "99999"}, "Client: no client 99999 among yours; ignored."),
        ({"project": "9" * 30}, "Project: &#x27;999999999999999999999999999999&#x27; is not an id from the list"),
        ({"assignee": "4242"}, "Assignee: no teammate 4242 in this workspace; ignored."),
        ({"status": "closed"}, "Status: &#x27;closed&#x27; is not one of open, pending"),
        ({"age": "3"}, "Age in days: &#x27;3&#x27; is not one of 7, 14, 30, 60; ignored."),
        ({"sort": "price"}, "Order: &#x27;price&#x27; is not one of money"),
        ({"q": "x" * 250}, "Search: at most 200 characters"),
    ],
)
def test_a_filter_it_cannot_use_is_named_on_the_page(client, queue, olivia, params, says):
    response = signed_in(client, olivia).get("/queues/", params)
    assert response.status_code == 200
    assert says in text(response)
    assert 'role="alert"' in text(response)


def test_the_export_refuses_filters_it_cannot_use_instead_of_exporting_other_rows(client, queue, olivia):
    response = signed_in(client, olivia).get("/queues/export.csv", {"client": "99999"})
    assert response.status_code == 400
    assert "Client: no client 99999 among yours" in text(response)


@pytest.mark.parametrize(
    "form, says",
    [
        ({"name": "", "query": "kind=posting_failure"}, "Name the view."),
        ({"name": "x" * 81, "query": ""}, "A view&#x27;s name has at most 80 characters; this one has 81."),
        ({"name": "mine", "query": "kind=nonsense"}, "View not saved: Kind: &#x27;nonsense&#x27; is not one of"),
        ({"name": "long", "query": "q=" + "y" * 1200}, "View not saved: Search: at most 200 characters"),
    ],
)
def test_a_saved_view_that_cannot_be_saved_says_why(client, queue, olivia, form, says):
    response = signed_in(client, olivia).post("/queues/views/", form, follow=True)
    assert response.status_code == 200
    assert says in text(response)
    assert not SavedView.objects.exists()


@pytest.mark.parametrize(
    "form, says",
    [
        ({"action": "resolve", "resolution": "fixed_at_source"}, "Tick at least one exception first"),
        ({"action": "resolve", "ids": "ONE"}, "Tick at least one exception first"),
        ({"action": "resolve", "ids": "9" * 30}, "Tick at least one exception first"),
        ({"action": "claim", "one": "9" * 30}, "Nothing to do: none of 1 exception could be claimed."),
        ({"action": "resolve", "resolution": "", "ids": "TARGET"}, "Choose a resolution: Fixed at source"),
        ({"action": "assign", "assignee": "9999", "ids": "TARGET"}, "Assignee: no teammate 9999 in this workspace."),
        ({"action": "assign", "assignee": "abc", "ids": "TARGET"}, "Assignee: no teammate abc in this workspace."),
        (
            {"action": "snooze", "until": "next week", "ids": "TARGET"},
            "&#x27;next week&#x27; is not a date (YYYY-MM-DD)",
        ),
        ({"action": "snooze", "until": "", "ids": "TARGET"}, "Snooze until: choose a date."),
        ({"action": "snooze", "until": "2001-01-01", "ids": "TARGET"}, "Snooze until a date in the future."),
        ({"action": "ignore", "note": " ", "ids": "TARGET"}, "Say why these are ignored"),
        ({"action": "launch", "ids": "TARGET"}, "Choose an action."),
    ],
)
def test_a_bulk_action_that_cannot_be_done_says_why_and_changes_nothing(client, queue, olivia, form, says):
    target = queue.filter(status="open").first()
    form = {k: (str(target.pk) if v == "TARGET" else v) for k, v in form.items()}
    before = list(queue.order_by("pk").values_list("status", "assignee_id", "snoozed_until"))
    response = signed_in(client, olivia).post("/queues/actions/", {**form, "next": "/queues/"}, follow=True)
    assert response.status_code == 200
    assert says in text(response)
    assert list(queue.order_by("pk").values_list("status", "assignee_id", "snoozed_until")) == before


@pytest.mark.parametrize(
    "form, says",
    [
        (
            {"kind": "posting_failure", "posting_failure-threshold_days": "0", "posting_failure-sla_hours": "0"},
            "not saved. SLA in hours: Ensure this value is greater than or equal to 1.",
        ),
        (
            {"kind": "unbilled_time", "unbilled_time-threshold_days": "soon", "unbilled_time-sla_hours": "24"},
            "Threshold in days: Enter a whole number.",
        ),
        ({"kind": "whatever"}, "Nothing saved: the form did not say which kind of exception it sets."),
        ({"kind": "masked_fields", "masked_fields": "iban " + "z" * 150}, "Masked fields not saved"),
    ],
)
def test_a_setting_that_cannot_be_saved_is_shown_again_with_what_was_wrong(client, queue, ada, form, says):
    response = signed_in(client, ada).post("/queues/settings/", form)
    assert response.status_code == 400
    assert says in text(response)
    assert not KindSetting.objects.exists()
