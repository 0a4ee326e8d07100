"""What the queue says in words: group titles without placeholders, pages that follow the sort, and two
exceptions of one record that say what tells them apart."""

import re

import pytest

from opsview.queues.titles import readable_cause
from tests.conftest import signed_in
from tests.queue_support import exceptions, failure, send


@pytest.mark.parametrize(
    "message, title",
    [
        ("Project code '<id>' not found — unknown value 'NW-0482'", "Project code 'NW-0482' not found"),
        ("Tax code 'RC-EU' missing on line <n> — unknown value 'RC-EU'", "Tax code 'RC-EU' missing on line …"),
        ("Posting period <n> is closed for company <n>", "Posting period … is closed for company …"),
        ("Invoice number <n> already exists", "Invoice number … already exists"),
        ("Project code '<id>'", "Project code …"),
        ("No contact for <email>", "No contact for an e-mail address"),
        ("Read timed out", "Read timed out"),
    ],
)
def test_a_groups_title_reads_without_placeholders(message, title):
    assert readable_cause(message) == title


def test_the_group_page_and_the_groups_list_show_the_readable_title(client, api, northwind, olivia):
    send(api, failure("TE-1", "Posting period 2026-10 is closed for company NW01"))
    group = exceptions(northwind).get().group
    signed_in(client, olivia)
    page = client.get(f"/queues/groups/{group.pk}/").content.decode()
    groups = client.get("/queues/", {"view": "groups"}).content.decode()
    for html in (page, groups):
        assert "Posting period … is closed for company …" in html
        assert "&lt;n&gt;" not in html


def test_pages_of_the_queue_sorted_by_money_say_next_not_older(client, api, northwind, olivia):
    amount = {"amount": "500", "currency": "EUR"}
    send(
        api,
        *[failure(f"TE-{n}", f"Posting period 2026-10 is closed (entry TE-{n})", payload=amount) for n in range(60)],
    )
    signed_in(client, olivia)
    html = client.get("/queues/", {"sort": "money"}).content.decode()
    pages = re.search(r'<nav class="pagination".*?</nav>', html, re.S).group(0)
    assert "Next →" in pages and "Older" not in pages
    later = client.get("/queues/", {"sort": "money", "page": 2}).content.decode()
    assert "← Previous" in later and "Newer" not in later


def test_two_exceptions_of_one_record_each_name_the_other(client, api, northwind, olivia):
    money = {"amount": "9000", "currency": "EUR"}
    send(
        api,
        failure("INV-9", "Posting period 2026-10 is closed", record_type="invoice", payload=money),
        failure(
            "INV-9",
            "Read timed out after 30s",
            code="TIMEOUT",
            record_type="invoice",
            source_system="tryton",
            target_system="harvest",
            payload=money,
        ),
    )
    assert exceptions(northwind, external_id="INV-9").count() == 2
    html = signed_in(client, olivia).get("/queues/").content.decode()
    assert "Same record, also: Sync error in Harvest" in html
    assert "Same record, also: ERP posting failure in Tryton" in html
