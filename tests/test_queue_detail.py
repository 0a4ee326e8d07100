"""The detail and group pages: masked payload, events in time order, the record, comments, history, fix guides."""

import pytest

from opsview.common.masking import MASK, mask
from opsview.queues import services
from opsview.queues.models import ExceptionItem, Resolution
from tests.conftest import signed_in
from tests.queue_support import failure, later, only_exception, send, success

PAYLOAD = {
    "hours": 7.5,
    "employee": {"name": "Wendy Worker", "personalEmail": "wendy@home.example", "bank_account": "DE89370400440532"},
    "tax_id": "DE123456789",
    "lines": [{"iban": "NL91ABNA0417164300", "amount": 10}],
}


@pytest.fixture
def item(api, northwind):
    send(
        api,
        failure("TE-PR-1", "Posting period 2026-10 is closed", at=later(0), payload=PAYLOAD),
        success("TE-PR-1", at=later(-5), target_system="tryton"),
        failure("TE-PR-1", "Posting period 2026-10 is closed", at=later(2), payload=PAYLOAD),
    )
    return only_exception(northwind)


def test_the_payload_is_readable_json_with_sensitive_fields_masked(client, item, olivia):
    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()

    assert "&quot;hours&quot;: 7.5" in page
    assert "Wendy Worker" in page
    for secret in ("wendy@home.example", "DE89370400440532", "DE123456789", "NL91ABNA0417164300"):
        assert secret not in page
    assert page.count(MASK) >= 4 * 3  # last payload and both failed events' payloads


def test_masked_fields_are_the_workspaces_own_list_on_top_of_the_rule(client, item, olivia, ada, northwind):
    services.save_masked_fields(ada, northwind.workspace, ["hours"])
    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()

    # The list replaced the defaults (a personal e-mail shows again); tax ids and IBANs stay masked by rule.
    assert "&quot;hours&quot;: 7.5" not in page and "wendy@home.example" in page
    assert "DE123456789" not in page and "NL91ABNA0417164300" not in page


def test_mask_ignores_case_and_separators_at_any_depth():
    masked = mask({"Bank-Account": "x", "nested": [{"TAX_ID": "y", "empty": ""}], "ok": 1}, ["bank_account", "tax id"])
    assert masked == {"Bank-Account": MASK, "nested": [{"TAX_ID": MASK, "empty": ""}], "ok": 1}


def test_every_event_of_the_record_in_time_order(client, item, olivia):
    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()

    events = page[page.index("Every event of this record") :]
    first, second, third = (events.index(f"{t:%Y-%m-%d %H:%M}") for t in (later(-5), later(0), later(2)))
    assert first < second < third
    assert "2 failures" in page


def test_the_related_time_entry_and_project(client, item, olivia):
    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()

    assert "Wendy Worker" in page and "7.50 h × EUR 150.00" in page
    assert "Project manager: Max Manager" in page
    assert "EUR 1,125.00" in page


def test_comments_and_full_history_with_diffs(client, item, olivia, ada, northwind):
    one = ExceptionItem.objects.filter(pk=item.pk)
    services.claim(olivia, northwind.workspace, one)
    services.assign(olivia, northwind.workspace, one, ada)
    services.comment(olivia, northwind.workspace, one, "Asked finance to reopen October")
    services.resolve(ada, northwind.workspace, one, Resolution.FIXED_AT_SOURCE, "period reopened")

    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()
    history = page[page.index("<h2>History</h2>") :]
    assert "Asked finance to reopen October" in page
    assert history.index("exception.claim") < history.index("exception.assign") < history.index("exception.resolve")
    assert "assignee: olivia → ada" in history
    assert "status: open → resolved" in history and "“period reopened”" in history


def test_fix_guides_of_kind_and_group_show_on_detail_and_group_pages(client, item, ada, olivia, northwind):
    signed_in(client, ada).post(f"/queues/groups/{item.group_id}/guide/", {"fix_guide": "Ask Finn to reopen."})

    for url in (f"/queues/{item.pk}/", f"/queues/groups/{item.group_id}/"):
        page = signed_in(client, olivia).get(url).content.decode()
        assert "Ask Finn to reopen." in page
        assert "The ERP refused to post the record" in page  # the kind's default guide


def test_only_admins_edit_a_group_fix_guide(client, item, olivia):
    response = signed_in(client, olivia).post(f"/queues/groups/{item.group_id}/guide/", {"fix_guide": "mine"})

    assert response.status_code == 403
    item.group.refresh_from_db()
    assert item.group.fix_guide == ""


def test_a_group_page_lists_its_exceptions_and_money(client, api, northwind, olivia):
    send(api, *[failure(f"TE-{n}", payload={"amount": "100", "currency": "EUR"}) for n in range(20)])
    group = ExceptionItem.objects.first().group
    page = signed_in(client, olivia).get(f"/queues/groups/{group.pk}/").content.decode()

    assert "20 exceptions shown." in page and "EUR 2,000.00 at stake in 20 records, 20 exceptions" in page
    assert f'name="group" value="{group.pk}"' in page


def test_a_group_worked_off_says_nothing_is_at_stake_not_a_zero_without_a_currency(client, api, northwind, olivia):
    send(api, failure("TE-1", payload={"amount": "100", "currency": "EUR"}))
    item = only_exception(northwind)
    services.resolve(
        olivia, northwind.workspace, ExceptionItem.objects.filter(pk=item.pk), Resolution.FIXED_AT_SOURCE, "fixed"
    )
    page = signed_in(client, olivia).get(f"/queues/groups/{item.group_id}/").content.decode()

    assert "Nothing at stake" in page and "0.00 at stake" not in page


def test_a_missing_mapping_offers_its_fix_in_place(client, api, northwind, olivia):
    send(
        api,
        failure("TE-1", "Unknown project code 'ACME-01'", code=""),
        failure("TE-2", "Unknown project code 'ACME-01'", code=""),
    )
    group = ExceptionItem.objects.first().group
    page = signed_in(client, olivia).get(f"/queues/groups/{group.pk}/").content.decode()
    assert "Tryton does not know the project <code>ACME-01</code>" in page

    response = client.post(
        f"/queues/groups/{group.pk}/map/", {"target_value": "P-4711", "next": "/queues/"}, follow=True
    )
    assert "Mapped ACME-01 → P-4711; 2 still open." in response.content.decode()
    assert "It is mapped to <code>P-4711</code>" in client.get(f"/queues/groups/{group.pk}/").content.decode()


def test_an_outsider_gets_404_for_every_queue_page(client, item, oscar):
    signed_in(client, oscar)
    for url in (f"/queues/{item.pk}/", f"/queues/groups/{item.group_id}/"):
        assert client.get(url).status_code == 404
    for url in (f"/queues/groups/{item.group_id}/guide/", f"/queues/groups/{item.group_id}/map/"):
        assert client.post(url, {"fix_guide": "x", "target_value": "x"}).status_code == 404


def test_a_manager_gets_404_for_exceptions_of_other_projects(client, api, northwind, max_manager):
    send(api, failure("TE-PR-2"))
    other = only_exception(northwind)
    signed_in(client, max_manager)

    assert client.get(f"/queues/{other.pk}/").status_code == 404
    assert client.get(f"/queues/groups/{other.group_id}/").status_code == 404


def test_an_executive_reads_the_detail_without_action_forms(client, item, erin):
    page = signed_in(client, erin).get(f"/queues/{item.pk}/").content.decode()

    assert "Posting period 2026-10 is closed" in page
    assert 'action="/queues/actions/"' not in page and "Add a comment" not in page


def test_payload_edits_show_as_diffs_with_sensitive_fields_masked(client, item, olivia, northwind):
    from opsview.audit.trail import record

    before = {"payload": {"hours": 7.5, "iban": "NL91ABNA0417164300", "project": "NW1"}}
    after = {"payload": {"hours": 8, "iban": "DE89370400440532", "project": "NW1"}}
    record(northwind.workspace, olivia, "exception.payload_edit", item, before=before, after=after)
    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()
    history = page[page.index("<h2>History</h2>") :]

    assert "payload.hours: 7.5 → 8" in history
    assert "payload.project" not in history  # unchanged
    assert "NL91ABNA0417164300" not in history and "DE89370400440532" not in history
