"""The Tryton connector against a real trytond on SQLite: read timesheets and invoices, post an invoice."""

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest

from connectors.base import DEFAULT_OVERLAP as OVERLAP
from connectors.base import decode_cursor, iter_pages
from connectors.errors import AuthenticationFailed
from connectors.tryton import TrytonConnector

pytestmark = pytest.mark.tryton


def connect(server, **kwargs):
    return TrytonConnector(server.url, server.database, server.username, server.password, **kwargs)


def test_reads_timesheet_lines_as_time_entries_on_their_root_project(tryton_server):
    ids = tryton_server.ids
    with connect(tryton_server, page_size=2) as tryton:
        pages = list(iter_pages(tryton.fetch_time_entries))
        entries = {e.external_id: e for page in pages for e in page.records}
        assert [len(p.records) for p in pages] == [2, 1]
        assert [p.has_more for p in pages] == [True, False]
        assert set(entries) == {str(i) for i in ids["timesheet_lines"]}

        mapping, kick_off, cut_over = (entries[str(i)] for i in ids["timesheet_lines"])
        # The task's lines roll up to the project; each is approved when recorded in the ERP.
        assert {e.project for e in entries.values()} == {str(ids["project"])}
        assert mapping.person == str(ids["employee"])
        assert (mapping.work_date, mapping.hours, kick_off.hours, cut_over.hours) == (
            date(2026, 10, 5),
            Decimal("3.00"),
            Decimal("2.50"),
            Decimal("4.00"),
        )
        assert mapping.bill_rate == Decimal("150.00") and mapping.currency == "EUR"
        assert mapping.status == "approved" and mapping.approved_at is not None
        # Two lines are on the (draft) invoice, the cut-over is not billed yet.
        assert mapping.invoice_reference == kick_off.invoice_reference == f"draft-{ids['invoice']}"
        assert cut_over.invoice_reference == ""

        # The next poll starts at the latest change seen, less the overlap that re-reads the boundary.
        final = pages[-1].next_cursor
        assert decode_cursor(final)["since"] == (max(e.updated_at for e in entries.values()) - OVERLAP).isoformat()
        again = [e.external_id for page in iter_pages(tryton.fetch_time_entries, final) for e in page.records]
        assert sorted(again) == sorted(entries)  # all three were written within the overlap

    with connect(tryton_server, overlap=timedelta(0)) as tryton:
        final = list(iter_pages(tryton.fetch_time_entries))[-1].next_cursor
        latest = tryton.fetch_time_entries(final)
        newest = max(e.updated_at for e in entries.values())
        boundary = sorted(e.external_id for e in entries.values() if e.updated_at == newest)
        assert sorted(e.external_id for e in latest.records) == boundary  # only what changed at the latest moment
        assert latest.next_cursor == final and not latest.has_more


def test_reads_invoices_and_projects(tryton_server):
    ids = tryton_server.ids
    with connect(tryton_server) as tryton:
        (invoice,) = tryton.fetch_invoices().records
        (project,) = tryton.fetch_projects().records
    assert invoice.external_id == str(ids["invoice"])
    assert invoice.status == "draft" and invoice.number == f"draft-{ids['invoice']}"
    assert invoice.amount == Decimal(ids["invoice_amount"]) == Decimal("825.00")
    assert (invoice.client, invoice.project, invoice.currency) == (str(ids["customer"]), str(ids["project"]), "EUR")
    assert invoice.issue_date == date(2026, 10, 31)
    assert project.external_id == str(ids["project"]) and project.name == "Northwind Rollout"
    assert project.client == str(ids["customer"]) and project.is_billable and project.is_active


def test_reads_customers_as_clients_and_employees_as_people(tryton_server):
    ids = tryton_server.ids
    with connect(tryton_server, page_size=1) as tryton:
        clients = [r for page in iter_pages(tryton.fetch_clients) for r in page.records]
        people = [r for page in iter_pages(tryton.fetch_people) for r in page.records]
    # The company's own party and the employee's party are not clients.
    assert [(c.external_id, c.name) for c in clients] == [(str(ids["customer"]), "Northwind Traders")]
    assert clients[0].updated_at is not None and clients[0].currency is None
    (wendy,) = people
    assert (wendy.external_id, wendy.name, wendy.is_active) == (str(ids["employee"]), "Wendy Worker", True)
    assert wendy.updated_at is not None


def test_posting_fails_with_trytons_reason_until_the_fiscal_year_exists_then_reads_back_posted(tryton_server):
    invoice_id = str(tryton_server.ids["invoice"])
    with connect(tryton_server) as tryton:
        failed = tryton.send("invoice", {"external_id": invoice_id}, "replay-inv-1")
        assert not failed.ok and not failed.retryable
        assert failed.error_code == "UserError"
        assert "you must create a period" in failed.error_message and "10/31/2026" in failed.error_message
        assert tryton.read_back("invoice", invoice_id)["state"] == "draft"

        tryton_server.open_fiscal_year("2026-10-31")

        # Tryton now asks for a confirmation (the payment date is past); unconfirmed, that is the failure.
        warned = tryton.send("invoice", {"external_id": invoice_id}, "replay-inv-1")
        assert not warned.ok and warned.error_code == "UserWarning" and "in the past" in warned.error_message

    with connect(tryton_server, accept_warnings=True) as tryton:
        posted = tryton.send("invoice", {"external_id": invoice_id}, "replay-inv-1")
        assert posted.ok and posted.verified and posted.external_id == invoice_id
        back = tryton.read_back("invoice", invoice_id)
        assert back["state"] == "posted" and back["status"] == "posted"
        assert back["number"] != f"draft-{invoice_id}" and back["posted_at"].startswith("20")
        # A replay of the same record has no further effect.
        again = tryton.send("invoice", {"external_id": invoice_id}, "replay-inv-1")
        assert again.ok and again.verified and again.detail["already"]
        # An incremental fetch now shows the invoice as posted.
        (invoice,) = tryton.fetch_invoices().records
        assert invoice.status == "posted" and invoice.number == back["number"]


def test_wrong_password_and_unknown_invoice_are_clear_failures_and_no_secret_is_logged(tryton_server, caplog):
    caplog.set_level(logging.DEBUG)
    with connect(tryton_server) as tryton:
        missing = tryton.send("invoice", {"external_id": "999"}, "k")
        assert not missing.ok and missing.error_code == "not_found"
        assert tryton.lookup("invoice", "replay-never-sent") is None
        session = tryton.rpc._auth
    tryton = TrytonConnector(tryton_server.url, tryton_server.database, "admin", "wrong-password")
    with tryton, pytest.raises(AuthenticationFailed):
        tryton.fetch_invoices()
    logged = " ".join(r.getMessage() + repr(vars(r)) for r in caplog.records)
    assert f"/{tryton_server.database}/rpc/" in logged
    for secret in (tryton_server.password, "wrong-password", session.split()[1]):
        assert secret not in logged
