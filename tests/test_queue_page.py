"""The queue page: counts always in view, filters, sort, search, groups, saved views, and who sees what."""

import pytest

from opsview.queues.models import ExceptionGroup, SavedView
from tests.conftest import signed_in
from tests.queue_support import exceptions, failure, send


@pytest.fixture
def queue(api, northwind):
    """Posting failures on both fixture projects, a timeout, and two unknown project codes."""
    send(
        api,
        failure("TE-PR-1"),  # 1,125 EUR on Max's project
        failure("TE-PR-2", payload={}),  # 1,125 EUR, other project
        failure("TE-big", "Read timed out after 30s", code="TIMEOUT", payload={"amount": "9000", "currency": "EUR"}),
        failure("TE-7", "Unknown project code 'ACME-01'", code="", payload={"amount": "50", "currency": "EUR"}),
        failure("TE-8", "Unknown project code 'ACME-01'", code="", payload={"amount": "60", "currency": "EUR"}),
    )
    return exceptions(northwind)


def rows_of(response):
    """The external ids of the listed exceptions, in page order."""
    import re

    return re.findall(r'<tr id="exception-\d+" data-record="([^"]+)"', response.content.decode())


def test_the_queue_starts_where_the_most_money_is_blocked(client, queue, olivia):
    response = signed_in(client, olivia).get("/queues/")

    assert response.status_code == 200
    assert rows_of(response) == ["TE-big", "TE-PR-1", "TE-PR-2", "TE-8", "TE-7"]
    assert "EUR 9,000.00" in response.content.decode()
    assert "5 exceptions match." in response.content.decode()


def test_counts_per_kind_and_status_are_always_in_view(client, queue, olivia):
    page = signed_in(client, olivia).get("/queues/?kind=sync_error").content.decode()

    assert "1 exception matches." in page
    assert 'data-kind="posting_failure"' in page and 'data-kind="missing_mapping"' in page
    assert '<th class="num" data-count="open">5</th>' in page  # the total, whatever the filter


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=missing_mapping", ["TE-8", "TE-7"]),
        ("kind=posting_failure&sort=age", ["TE-PR-1", "TE-PR-2"]),
        ("q=TE-7", ["TE-7"]),
        ("q=timed+out", ["TE-big"]),
        ("status=resolved", []),
        ("assignee=none&kind=sync_error", ["TE-big"]),
        ("assignee=me", []),
    ],
)
def test_filters_and_search(client, queue, olivia, query, expected):
    assert rows_of(signed_in(client, olivia).get(f"/queues/?{query}")) == expected


def test_filter_by_system_client_and_project(client, queue, olivia, northwind):
    page = signed_in(client, olivia).get(f"/queues/?project={northwind.managed_project.pk}")
    assert rows_of(page) == ["TE-PR-1"]
    page = client.get(f"/queues/?client={northwind.client.pk}&system={northwind.erp.pk}")
    assert rows_of(page) == ["TE-PR-1", "TE-PR-2"]


def test_the_groups_view_lists_causes_with_their_size_and_money(client, queue, olivia):
    page = signed_in(client, olivia).get("/queues/?view=groups").content.decode()

    assert "3 groups match." in page
    acme = ExceptionGroup.objects.get(mapping_value="ACME-01")
    assert f'id="group-{acme.pk}"' in page
    assert page.index("Read timed out") < page.index("Posting period") < page.index("ACME-01")


def test_pages_of_fifty(client, api, northwind, olivia):
    send(api, *[failure(f"TE-{n}") for n in range(60)])
    page_two = signed_in(client, olivia).get("/queues/?page=2")

    assert len(rows_of(page_two)) == 10
    assert "Page 2 of 2" in page_two.content.decode()


def test_saved_views_are_per_user(client, queue, olivia, ada):
    signed_in(client, olivia).post("/queues/views/", {"name": "Mappings", "query": "kind=missing_mapping"})

    view = SavedView.objects.get()
    assert (view.user, view.query) == (olivia, "kind=missing_mapping")
    assert 'href="/queues/?kind=missing_mapping">Mappings</a>' in client.get("/queues/").content.decode()
    assert "Mappings" not in signed_in(client, ada).get("/queues/").content.decode()
    assert client.post(f"/queues/views/{view.pk}/delete/").status_code == 404  # not Ada's
    signed_in(client, olivia).post(f"/queues/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()


def test_a_manager_sees_only_their_projects_exceptions(client, queue, max_manager):
    page = signed_in(client, max_manager).get("/queues/")

    assert rows_of(page) == ["TE-PR-1"]
    assert 'value="comment"' in page.content.decode() and 'value="resolve"' not in page.content.decode()


def test_an_executive_reads_the_queue_without_any_action(client, queue, erin):
    page = signed_in(client, erin).get("/queues/").content.decode()

    assert "TE-big" in page
    assert 'action="/queues/actions/"' not in page and "Claim" not in page


def test_an_outsider_sees_none_of_northwinds_exceptions(client, queue, oscar):
    page = signed_in(client, oscar).get("/queues/")

    assert rows_of(page) == [] and b"Northwind" not in page.content


def test_the_queue_page_takes_the_same_queries_for_5_or_60_exceptions(
    client, api, northwind, olivia, django_assert_max_num_queries
):
    send(api, *[failure(f"TE-{n}") for n in range(60)])
    signed_in(client, olivia)
    with django_assert_max_num_queries(20):
        client.get("/queues/")
    with django_assert_max_num_queries(20):
        client.get("/queues/?view=groups")


def test_htmx_is_served_from_our_own_static_files(client, queue, olivia):
    page = signed_in(client, olivia).get("/queues/").content.decode()

    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in page
    assert "https://" not in page.split("<main")[0]
    assert 'hx-boost="true"' in page


def test_other_orders_are_one_click_away(client, queue, olivia):
    page = signed_in(client, olivia).get("/queues/?kind=posting_failure").content.decode()

    assert "<strong>Money at stake</strong>" in page
    assert 'href="?kind=posting_failure&amp;sort=age">Oldest first</a>' in page
    assert rows_of(client.get("/queues/?kind=posting_failure&sort=recent")) == ["TE-PR-2", "TE-PR-1"]


def chips_of(response):
    """The filter bar's chips as ``(text, the query string of its ×)``."""
    import html
    import re

    found = re.findall(
        r'<span class="chip" data-chip>(.*?) <a href="/queues/\?([^"]*)"', response.content.decode(), re.S
    )
    return [(re.sub(r"<[^>]+>", "", text), html.unescape(query)) for text, query in found]


def test_each_filter_in_use_is_a_chip_whose_cross_drops_only_that_filter(client, queue, olivia):
    signed_in(client, olivia)
    response = client.get("/queues/", {"kind": "posting_failure", "q": "TE-PR", "sort": "age", "page": "1"})

    chips = chips_of(response)
    assert [text for text, _ in chips] == ["Kind: ERP posting failure", "Search: “TE-PR”"]
    (_, without_kind), (_, without_search) = chips
    assert without_kind == "q=TE-PR&sort=age"  # the order stays; the page starts again from the first
    assert without_search == "kind=posting_failure&sort=age"
    assert rows_of(client.get(f"/queues/?{without_kind}")) == ["TE-PR-1", "TE-PR-2"]
    assert rows_of(client.get(f"/queues/?{without_search}")) == ["TE-PR-1", "TE-PR-2"]


def test_without_filters_the_bar_says_so_and_a_non_default_status_is_a_chip(client, queue, olivia):
    signed_in(client, olivia)
    assert chips_of(client.get("/queues/")) == []
    assert "No filters: every open exception" in client.get("/queues/").content.decode()
    assert chips_of(client.get("/queues/?status=open")) == []  # the default says nothing new
    assert chips_of(client.get("/queues/?status=all")) == [("Status: Any status", "")]


def test_each_group_shows_its_new_exceptions_of_the_last_14_days_in_one_query_for_all(client, queue, olivia):
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in(client, olivia)
    with CaptureQueriesContext(connection) as every_group:
        page = client.get("/queues/?view=groups").content.decode()
    labels = re.findall(r'<svg class="spark" role="img" aria-label="([^"]+)"', page)
    assert len(labels) == ExceptionGroup.objects.count() == 3
    # The two posting failures and the two unknown codes came yesterday, the timeout too: said in figures.
    totals = sorted(int(re.match(r"New in the last 14 days: (\d+) ", label)[1]) for label in labels)
    assert totals == [1, 2, 2]
    assert all(label.count(", ") == 13 for label in labels)  # a figure for each of the 14 days

    with CaptureQueriesContext(connection) as one_group:
        one = client.get("/queues/?view=groups&q=TIMEOUT").content.decode()
    assert one.count('<svg class="spark"') == 1
    assert len(one_group) == len(every_group)  # the trends of all the page's groups are one query
