"""The partner portfolio: every firm's figures and the totals across them, sorted and filtered, in a constant
number of queries however many firms."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsview.dashboards.portfolio import firm_rows, totals_of
from opsview.queues import services
from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Resolution
from opsview.queues.stakes import refresh_stakes
from opsview.queues.tasks import wake_snoozed
from opsview.telemetry.models import SyncEvent
from opsview.workspaces.models import Membership, Partner, PartnerMembership, PartnerRole
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.conftest import PASSWORD, make_firm, signed_in
from tests.queue_support import exceptions, failure, later, send, success

NOW = timezone.now()


def exception(
    firm, external_id, amount, currency="EUR", late=False, project=None, status="open", kind=Kind.POSTING_FAILURE
):
    group, _ = ExceptionGroup.objects.get_or_create(
        workspace=firm.workspace,
        fingerprint="p" * 40,
        defaults={"kind": Kind.POSTING_FAILURE, "system": firm.erp, "record_type": "time_entry", "message": "closed"},
    )
    item = ExceptionItem.objects.create(
        workspace=firm.workspace,
        key=f"{kind}>{firm.erp.pk}|{firm.harvest.pk}|time_entry|{external_id}",
        group=group,
        kind=kind,
        system=firm.erp,
        source_system=firm.harvest,
        record_type="time_entry",
        external_id=external_id,
        record_date=NOW.date(),
        sla_due_at=NOW - timedelta(hours=1) if late else NOW + timedelta(days=1),
        amount=Decimal(amount),
        currency=currency,
        project=project,
        status=status,
    )
    refresh_stakes(firm.workspace.pk, [item.record_ref])  # as the queue's writers keep it
    return item


def events(firm, succeeded, failed, hours_ago=2):
    at = timezone.now() - timedelta(hours=hours_ago)
    for n, outcome in enumerate(["succeeded"] * succeeded + ["failed"] * failed):
        SyncEvent.objects.create(
            workspace=firm.workspace,
            event_id=f"p-{hours_ago}-{n}",
            record_type="time_entry",
            external_id=f"R{n}",
            source_system=firm.harvest,
            target_system=firm.erp,
            outcome=outcome,
            occurred_at=at,
        )


@pytest.fixture
def partner(db):
    return Partner.objects.create(name="Ledgerline Partners", slug="ledgerline")


@pytest.fixture
def pat(partner, northwind, contoso):
    """Partner admin running Northwind and Contoso."""
    user = get_user_model().objects.create_user("pat", "pat@example.com", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.ADMIN)
    for firm in (northwind, contoso):
        firm.workspace.partner = partner
        firm.workspace.save()
    sync_partner_access(partner)
    return user


def row_of(page, slug):
    return page.text.split(f'data-workspace="{slug}"')[1].split("</tr>")[0]


def order(page):
    return re.findall(r'<tr class="workspace-tile[^"]*" data-workspace="([\w-]+)"', page.text)


def test_each_firms_figures_and_the_totals_which_never_add_currencies(client, northwind, contoso, pat):
    exception(northwind, "TE-1", "750", late=True)
    exception(northwind, "TE-2", "250")
    exception(contoso, "INV-9", "1200", currency="USD")
    events(northwind, succeeded=9, failed=1)
    events(contoso, succeeded=1, failed=0)
    events(contoso, succeeded=0, failed=5, hours_ago=30)  # older than the last 24 hours: not counted
    page = signed_in(client, pat).get("/dashboards/portfolio/")
    northwind_row, contoso_row = row_of(page, "northwind"), row_of(page, "contoso")
    assert "EUR 1,000.00" in northwind_row and "USD 1,200.00" in contoso_row
    assert "90.0%" in northwind_row and "(1 failed)" in northwind_row
    assert "100.0%" in contoso_row and "(0 failed)" in contoso_row
    assert ">15.00</button>" in northwind_row and ">12.50</button>" in contoso_row  # 2 submitted entries each
    totals = page.text.split('aria-label="Totals across the firms shown"')[1].split("</section>")[0]
    assert "EUR 1,000.00 · USD 1,200.00" in totals
    assert "2,200" not in totals
    assert re.search(r'data-total="past_sla">.*?<span class="value bad">1</span>', totals)
    assert "90.9%" in totals and "1 firm failing" in totals  # 10 of 11 events; Northwind under 95%
    assert "27.50" in totals


def test_the_totals_are_the_sums_of_the_rows(northwind, contoso, pat):
    exception(northwind, "TE-1", "750", late=True)
    exception(contoso, "TE-2", "100", late=True)
    exception(contoso, "TE-3", "50", currency="USD")
    events(northwind, succeeded=3, failed=1)
    rows = firm_rows(pat, Membership.objects.filter(user=pat).select_related("workspace"))
    totals = totals_of(rows)
    assert totals.past_sla == sum(r.past_sla for r in rows) == 2
    assert totals.unapproved_hours == sum(r.unapproved_hours for r in rows) == Decimal("27.50")
    assert {m["currency"]: m["amount"] for m in totals.money} == {"EUR": 850, "USD": 50}
    assert (totals.succeeded, totals.failed, totals.failing_firms) == (3, 1, 1)


def test_an_exception_of_no_money_counts_in_the_firms_currency_never_as_a_figure_without_one(northwind, pat):
    # A job's first failed record often carries no amount: it is 0 of the firm's currency, beside the rest.
    exception(northwind, "TE-1", "0", currency="")
    exception(northwind, "TE-2", "40")
    rows = firm_rows(pat, Membership.objects.filter(user=pat).select_related("workspace"))
    [row] = [r for r in rows if r.workspace == northwind.workspace]
    assert row.stake["by_currency"] == [{"currency": "EUR", "amount": 40, "records": 2, "exceptions": 2}]
    assert [m["currency"] for m in totals_of(rows).money] == ["EUR"]


def test_a_resolved_exception_and_one_record_with_two_exceptions_count_as_the_queue_counts_them(client, northwind, pat):
    exception(northwind, "TE-1", "750")
    exception(northwind, "TE-1", "750", kind=Kind.UNBILLED_TIME)
    exception(northwind, "TE-7", "99", status="resolved")
    page = signed_in(client, pat).get("/dashboards/portfolio/")
    assert "EUR 750.00" in row_of(page, "northwind")


def test_sorted_and_filtered_by_the_query_string_with_both_kept_in_links(client, northwind, contoso, pat):
    exception(contoso, "TE-1", "10", late=True)
    signed_in(client, pat)
    assert order(client.get("/dashboards/portfolio/")) == ["contoso", "northwind"]  # needs attention first
    assert order(client.get("/dashboards/portfolio/?sort=name")) == ["contoso", "northwind"]
    assert order(client.get("/dashboards/portfolio/?sort=-name")) == ["northwind", "contoso"]
    assert order(client.get("/dashboards/portfolio/?sort=-past_sla")) == ["northwind", "contoso"]
    assert order(client.get("/dashboards/portfolio/?q=NORTH")) == ["northwind"]
    assert order(client.get("/dashboards/portfolio/?attention=1")) == ["contoso"]
    assert order(client.get("/dashboards/portfolio/?incomplete=1")) == ["contoso", "northwind"]
    page = client.get("/dashboards/portfolio/?q=o&attention=1&sort=-name")
    assert 'href="?q=o&amp;attention=1&amp;sort=name" data-sort="name"' in page.text  # again: reversed
    assert 'href="?q=o&amp;attention=1&amp;sort=money" data-sort="money"' in page.text
    assert '<input type="hidden" name="sort" value="-name">' in page.text


def test_a_sort_or_search_it_cannot_use_is_a_400_that_says_why(client, northwind, pat):
    signed_in(client, pat)
    page = client.get("/dashboards/portfolio/?sort=revenue")
    assert page.status_code == 400 and "Sort by one of: attention, name, money" in page.text
    page = client.get("/dashboards/portfolio/", {"q": "x" * 101})
    assert page.status_code == 400 and "at most 100 characters" in page.text


def test_each_figure_opens_the_records_behind_it_in_that_firm(client, northwind, contoso, pat):
    exception(contoso, "TE-1", "10", late=True)
    events(contoso, succeeded=0, failed=2)
    page = signed_in(client, pat).get("/dashboards/portfolio/")
    row = row_of(page, "contoso")
    assert f'name="workspace" value="{contoso.workspace.pk}"' in row
    assert 'name="next" value="/queues/?past_sla=1"' in row
    assert 'name="next" value="/queues/?status=open"' in row
    assert re.search(r'name="next" value="/records/sync-events/\?start=[\d-]+&amp;end=[\d-]+&amp;outcome=failed"', row)
    assert re.search(
        r'name="next" value="/records/time-entries/\?start=[\d-]+&amp;end=[\d-]+&amp;status=unapproved"', row
    )
    assert 'name="next" value="/onboarding/"' in row
    switched = client.post(
        "/workspace/switch/", {"workspace": contoso.workspace.pk, "next": "/queues/?past_sla=1"}, follow=True
    )
    assert switched.redirect_chain == [("/queues/?past_sla=1", 302)]
    assert switched.context["workspace"] == contoso.workspace


def test_onboarding_progress_for_the_firms_one_administers_only(client, northwind, contoso, erin, pat):
    page = signed_in(client, pat).get("/dashboards/portfolio/")
    assert re.search(r'data-figure="onboarding">\d/7</button>', row_of(page, "northwind"))
    Membership.objects.create(user=erin, workspace=contoso.workspace, role=Role.EXECUTIVE)
    page = signed_in(client, erin).get("/dashboards/portfolio/")
    assert 'data-figure="onboarding"' not in page.text


def test_a_firms_own_users_never_see_other_firms(client, northwind, contoso, pat, oscar, max_manager):
    exception(northwind, "TE-NW", "750", late=True)
    page = signed_in(client, oscar).get("/dashboards/portfolio/")
    assert order(page) == ["contoso"] and "Northwind" not in page.text and "750" not in page.text
    # A manager sees the money of their own projects' exceptions only.
    exception(northwind, "TE-MINE", "40", project=northwind.managed_project)
    page = signed_in(client, max_manager).get("/dashboards/portfolio/")
    assert order(page) == ["northwind"] and "EUR 40.00" in row_of(page, "northwind")


def query_count(client, user):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboards/portfolio/").status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_firms(client, partner, northwind, contoso, pat):
    signed_in(client, pat)
    exception(northwind, "TE-1", "10", late=True)
    two = query_count(client, pat)
    for n in range(4):
        firm = make_firm(f"Firm {n}", f"firm-{n}")
        firm.workspace.partner = partner
        firm.workspace.save()
        exception(firm, "TE-1", "10", late=True)
        events(firm, 1, 1)
    sync_partner_access(partner)
    six = query_count(client, pat)
    assert len(order(client.get("/dashboards/portfolio/"))) == 6
    assert six == two


def test_the_money_follows_the_queue_as_records_fail_are_resolved_snoozed_woken_and_succeed(
    northwind, pat, olivia, api
):
    """The portfolio reads each record's money as kept (queues.stakes): through every writer, as the queue
    counts it live."""

    def money():
        rows = firm_rows(pat, Membership.objects.filter(user=pat).select_related("workspace"))
        [row] = [r for r in rows if r.workspace == northwind.workspace]
        return [(m["amount"], m["records"], m["exceptions"]) for m in row.stake["by_currency"]]

    send(api, failure("TE-1"), failure("TE-2"), failure("TE-3"))  # 7.5 h at 150 each
    assert money() == [(Decimal("3375.00"), 3, 3)]
    items = exceptions(northwind)
    services.resolve(olivia, northwind.workspace, items.filter(external_id="TE-1"), Resolution.FIXED_AT_SOURCE, "ok")
    assert money() == [(Decimal("2250.00"), 2, 2)]
    services.snooze(olivia, northwind.workspace, items.filter(external_id="TE-2"), timezone.now() + timedelta(days=1))
    assert money() == [(Decimal("1125.00"), 1, 1)]
    send(api, success("TE-3", at=later(1)))
    assert money() == []
    wake_snoozed(now=timezone.now() + timedelta(days=2))
    send(api, failure("TE-1", at=timezone.now()))  # it failed again after it was resolved: reopened
    assert money() == [(Decimal("2250.00"), 2, 2)]
