"""Each time entry keeps which sides hold its hours, as the reconciled share reads them: every way an entry's
hours or the postings carrying it change leaves it what its postings say now."""

import pytest
from rest_framework.test import APIClient

from opsview.kpis.reconciled import reconciled_share
from opsview.records.models import Posting, TimeEntry
from opsview.records.sides import IN_ERP, ON_INVOICE, sides_out_of_date
from opsview.systems.models import ApiToken, System
from opsview.systems.services import save_system
from tests.kpi_books import Books


def token_of(system):
    _, raw = ApiToken.issue(system, "export")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def send(client, kind, *items):
    response = client.post(f"/api/v1/states/{kind}/", {"items": list(items)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def line(ext, entry, hours, version=1, **more):
    """A time line of the system whose token sends it, carrying Harvest's entry ``entry``."""
    return {
        "external_id": ext,
        "version": version,
        "record_type": "time_entry",
        "source_system": "harvest",
        "source_external_id": entry,
        "hours": hours,
        **more,
    }


def sides(external_id):
    return TimeEntry.objects.get(external_id=external_id).sides_held


@pytest.fixture
def erp(northwind):
    return token_of(northwind.erp)


def test_an_erp_line_arriving_moving_to_another_entry_and_cancelled_changes_the_sides_of_both(erp, northwind):
    assert (sides("TE-PR-1"), sides("TE-PR-2")) == (0, 0)

    send(erp, "postings", line("TL-1", "TE-PR-1", "7.50"))
    assert (sides("TE-PR-1"), sides("TE-PR-2")) == (IN_ERP, 0)

    # The ERP's export corrects the line: it carries the other entry.
    send(erp, "postings", line("TL-1", "TE-PR-2", "7.50", version=2))
    assert (sides("TE-PR-1"), sides("TE-PR-2")) == (0, IN_ERP)

    send(erp, "postings", line("TL-1", "TE-PR-2", "7.50", version=3, is_cancelled=True))
    assert (sides("TE-PR-1"), sides("TE-PR-2")) == (0, 0)


def test_a_line_of_other_hours_or_two_lines_of_the_same_hours_do_not_hold_the_entry(erp, northwind):
    send(erp, "postings", line("TL-1", "TE-PR-1", "5.00"))
    assert sides("TE-PR-1") == 0
    send(erp, "postings", line("TL-2", "TE-PR-1", "2.50"))
    assert sides("TE-PR-1") == IN_ERP  # 5 + 2.5: all its hours
    send(erp, "postings", line("TL-3", "TE-PR-1", "7.50"))
    assert sides("TE-PR-1") == 0  # posted twice: a gap, not reached


def test_an_entry_whose_hours_change_is_no_longer_held_by_a_line_of_its_old_hours(api, erp, northwind):
    send(erp, "postings", line("TL-1", "TE-PR-1", "7.50"))
    assert sides("TE-PR-1") == IN_ERP

    entry = {
        "external_id": "TE-PR-1",
        "version": 2,
        "person": "P-W",
        "project": "PR-1",
        "work_date": "2026-11-02",
        "hours": "8.00",
        "billable": True,
        "bill_rate": 150,
        "currency": "EUR",
        "status": "approved",
        "approved_at": "2026-11-03T09:00:00+00:00",
    }
    send(api, "time-entries", entry)
    assert sides("TE-PR-1") == 0
    send(api, "time-entries", entry | {"version": 3, "hours": "7.50"})
    assert sides("TE-PR-1") == IN_ERP


def test_a_line_that_arrives_before_its_entry_holds_it_once_the_entry_comes(api, erp, northwind):
    send(erp, "postings", line("TL-9", "TE-9", "6.25"))
    entry = {
        "external_id": "TE-9",
        "version": 1,
        "person": "P-W",
        "project": "PR-1",
        "work_date": "2026-11-16",
        "hours": "6.25",
        "currency": "EUR",
        "status": "submitted",
    }
    send(api, "time-entries", entry)
    assert sides("TE-9") == IN_ERP


def test_a_system_whose_kind_changes_or_that_is_deleted_leaves_its_lines_counted_where_it_now_stands(ada, northwind):
    books_system = System.objects.create(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing")
    send(token_of(books_system), "postings", line("XL-1", "TE-PR-1", "7.50", number="INV-1"))
    assert sides("TE-PR-1") == ON_INVOICE

    # It was the firm's ERP all along: an admin says so.
    books_system.kind = "erp"
    save_system(ada, books_system)
    assert sides("TE-PR-1") == IN_ERP

    books_system.delete()
    assert sides("TE-PR-1") == 0


def test_the_reconciled_share_counts_what_a_replay_recorded_and_the_target_then_cancelled(db):
    books = Books()
    entry = books.entry("2026-11-03", 8, billable=False)
    scope = books.scope("2026-11-01", "2026-11-30", "2026-12-01 09:00")
    assert reconciled_share(scope)["reconciled_hours"] == 0

    # Saved one at a time, as a verified replay records the target's line.
    held = Posting.objects.create(
        workspace=books.workspace,
        system=books.tryton,
        external_id="L-1",
        record_type="time_entry",
        source_system=books.harvest,
        source_external_id=entry.external_id,
        hours=8,
    )
    assert reconciled_share(scope)["reconciled_hours"] == 8
    held.is_cancelled = True
    held.save()
    assert reconciled_share(scope)["reconciled_hours"] == 0
    assert not sides_out_of_date(TimeEntry.objects.all()).exists()
