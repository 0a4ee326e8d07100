"""Reconciled share: approved hours that reached the ERP and an invoice, against hand-worked answers."""

import re
from decimal import Decimal as D
from itertools import count

import pytest
from rest_framework.test import APIClient

from opsview.kpis.reconciled import held_entries, reconciled_share
from opsview.records.models import Posting
from opsview.workspaces.roles import Role
from tests.conftest import make_user, signed_in
from tests.kpi_books import Books

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}
_ids = count(1)


def hold(books, system, entry, hours, number="", cancelled=False):
    """A posting in ``system`` carrying ``entry``: a timesheet line in the ERP, a time line in billing."""
    return Posting.objects.create(
        workspace=books.workspace,
        system=system,
        external_id=f"L-{next(_ids)}",
        source_version=1,
        record_type="time_entry",
        source_system=books.harvest,
        source_external_id=entry.external_id,
        hours=D(str(hours)),
        number=number,
        is_cancelled=cancelled,
    )


@pytest.fixture
def books(db):
    """Fabrikam's approved November, worked by hand (A1 is Mara's project):

    E1  8 h A1 billable: ERP 8, invoice INV-1 8              → reconciled
    E2  4 h A1 billable: ERP 4, billing 4 on no invoice yet   → in the ERP only
    E3  2 h B1 not billable: ERP 2                            → reconciled (needs no invoice)
    E4  6 h B1 billable: no ERP, invoice INV-2 6              → invoiced only
    E5  5 h G1 billable: ERP 3 of 5, invoice INV-3 5          → invoiced only (the ERP holds less)
    E6  3 h A1 billable: ERP 3 but cancelled                  → neither
    E7  7 h A1 billable: ERP 4 + 3, invoice INV-4 7           → reconciled
    not counted: a submitted entry the ERP holds, and an approved one worked on 31 October (the
    previous period, where it is reconciled: not billable, the ERP holds it).
    approved 35 h, billable 33, ERP 21, invoiced 26, reconciled 17.
    """
    books = Books()
    e1, e2, e3, e4, e5, e6, e7 = (
        books.entry("2026-11-03", 8),
        books.entry("2026-11-04", 4),
        books.entry("2026-11-05", 2, project=books.b1, billable=False),
        books.entry("2026-11-06", 6, project=books.b1),
        books.entry("2026-11-10", 5, project=books.g1),
        books.entry("2026-11-11", 3),
        books.entry("2026-11-30", 7),
    )
    erp, billing = books.tryton, books.xero
    for entry, held in ((e1, 8), (e2, 4), (e3, 2), (e5, 3), (e7, 4), (e7, 3)):
        hold(books, erp, entry, held)
    hold(books, erp, e6, 3, cancelled=True)
    for entry, held, number in ((e1, 8, "INV-1"), (e2, 4, ""), (e4, 6, "INV-2"), (e5, 5, "INV-3"), (e7, 7, "INV-4")):
        hold(books, billing, entry, held, number)
    hold(books, erp, books.entry("2026-11-12", 10, status="submitted"), 10)
    hold(books, erp, books.entry("2026-10-31", 8, billable=False), 8)
    return books


FIGURES = {
    "approved_hours": D("35.00"),
    "billable_hours": D("33.00"),
    "erp_hours": D("21.00"),
    "invoiced_hours": D("26.00"),
    "reconciled_hours": D("17.00"),
    "entries": 7,
    "reconciled_entries": 3,
    "share": 0.4857,
    "erp_share": 0.6,
    "invoiced_share": 0.7879,
}


def test_the_share_and_its_two_partial_shares_with_the_hours_behind_them(books):
    assert reconciled_share(books.scope("2026-11-01", "2026-11-30", "2026-12-02 09:00")) == FIGURES


def test_each_entry_is_flagged_as_the_kpi_counts_it(books):
    flags = held_entries(books.scope("2026-11-01", "2026-11-30", "2026-12-02 09:00")).order_by("work_date")
    assert [(e.hours, bool(e.in_erp), bool(e.on_invoice)) for e in flags] == [
        (D("8"), True, True),
        (D("4"), True, False),
        (D("2"), True, False),
        (D("6"), False, True),
        (D("5"), False, True),
        (D("3"), False, False),
        (D("7"), True, True),
    ]


def test_the_previous_period_and_an_empty_one(books):
    before = reconciled_share(books.scope("2026-10-02", "2026-10-31", "2026-12-02 09:00"))
    assert (before["approved_hours"], before["share"], before["invoiced_share"]) == (D("8.00"), 1.0, None)
    empty = reconciled_share(books.scope("2026-09-01", "2026-09-30", "2026-12-02 09:00"))
    assert (empty["approved_hours"], empty["share"], empty["erp_share"], empty["entries"]) == (D("0.00"), None, None, 0)


def test_a_manager_sees_the_share_of_their_own_projects(books):
    mara = make_user("mara", books.workspace, Role.MANAGER)
    books.mara.user = mara
    books.mara.save()

    mine = reconciled_share(books.scope("2026-11-01", "2026-11-30", "2026-12-02 09:00", user=mara))

    # A1 only: E1 8, E2 4, E6 3, E7 7.
    assert (mine["approved_hours"], mine["erp_hours"], mine["invoiced_hours"], mine["reconciled_hours"]) == (
        D("22.00"),
        D("19.00"),
        D("15.00"),
        D("15.00"),
    )
    assert (mine["share"], mine["erp_share"], mine["invoiced_share"]) == (0.6818, 0.8636, 0.6818)
    body = signed_in(APIClient(), mara).get("/api/v1/kpis/reconciled-share/", NOVEMBER).json()
    assert (body["approved_hours"], body["share"]) == ("22.00", 0.6818)


def test_the_api_answers_the_same_figures_and_documents_the_definition(books):
    executive = make_user("erin", books.workspace, Role.EXECUTIVE)
    client = signed_in(APIClient(), executive)

    body = client.get("/api/v1/kpis/reconciled-share/", NOVEMBER).json()

    assert body == {k: str(v) if isinstance(v, D) else v for k, v in FIGURES.items()}
    index = {k["slug"]: k for k in client.get("/api/v1/kpis/").json()}
    assert index["reconciled-share"]["definition"].startswith(
        "Approved hours of the period that reached the ERP and an invoice ÷ approved hours of the period "
        "(three-way: time tracking, ERP, billing). Non-billable time needs no invoice"
    )
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/kpis/reconciled-share/" in schema["paths"]
    assert (
        signed_in(APIClient(), make_user("ivan", Books(slug="other").workspace, Role.EXECUTIVE))
        .get("/api/v1/kpis/reconciled-share/", NOVEMBER | {"workspace": "fabrikam"})
        .status_code
        == 404
    )


def test_the_executive_tile_shows_the_share_its_definition_and_links_to_the_time_it_does_not_count(books):
    executive = make_user("erin", books.workspace, Role.EXECUTIVE)

    page = signed_in(APIClient(), executive).get("/dashboards/executive/", NOVEMBER).content.decode()

    tile = re.search(
        r'<div class="tile" title="([^"]*)">\s*<span class="label"><a href="([^"]*)">Reconciled share</a></span>\s*'
        r'<span class="value">([^<]*)</span>\s*<span class="change worse">([^<]*) <span class="was">vs ([^<]*)</span>',
        page,
    )
    assert tile is not None
    help_text, link, value, change, before = tile.groups()
    assert (value, change, before) == ("48.6%", "-51.4 pts", "100.0%")
    assert link.startswith("/records/time-entries/?") and "status=unreconciled" in link

    # The records behind it: the approved hours it does not count (35 h approved, 17 h reconciled).
    listing = signed_in(APIClient(), executive).get(link.replace("&amp;", "&")).content.decode()
    assert "<strong>4</strong> entries · <strong>18.00</strong> h" in listing
    assert 'href="/reconciliation/?period=2026-11"' in listing
    assert help_text.startswith("Approved hours of the period that reached the ERP and an invoice ÷ approved hours")
    assert "Non-billable time needs no invoice: it is reconciled once the ERP holds it." in help_text
