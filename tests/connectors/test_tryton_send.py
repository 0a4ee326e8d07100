"""The Tryton connector sends what the demo's jobs send, to a real trytond: timesheet lines and invoices.

The firm database is built by the demo ERP's own tools (``opsview/demo/erp/tools.py``):
September is closed, timesheets are open from November on, the only tax is VAT19.
Fixes are made in Tryton, through the server, with the same tools an operator's
guide points to.
"""

import pytest

from connectors.errors import AuthenticationFailed
from connectors.tryton import TrytonConnector
from opsview.demo.erp.env import tools

pytestmark = pytest.mark.tryton

ENTRY = {
    "company": "NW01",
    "person": "E-101",
    "project": "NW-0401",
    "date": "2026-11-05",
    "duration": 2.5,
    "description": "Mapping",
    "origin": "harvest:2100000001",
}
INVOICE = {
    "invoice_id": "5f0c",
    "number": "INV-2026-0042",
    "company": "NW01",
    "contact": {"code": "CL-1001", "name": "Acme Logistics"},
    "reference": "NW-0401",
    "date": "2026-11-30",
    "due_date": "2026-12-30",
    "currency": "EUR",
    "lines": [
        {
            "line": 1,
            "description": "Professional services November 2026",
            "quantity": 10.5,
            "unit_amount": "150.00",
            "tax_code": "VAT19",
            "line_amount": "1575.00",
        }
    ],
    "total_net": "1575.00",
}


def connect(server, **kwargs):
    return TrytonConnector(
        server.url, server.database, server.username, server.password, accept_warnings=True, **kwargs
    )


def fix(server, command, *args):
    return tools(
        server.venv, command, server.rpc_url(server.database), server.username, server.password, *args, what=command
    )


def invoices(tryton):
    return tryton.rpc.call(
        "model.account.invoice.search_read",
        [],
        0,
        None,
        [["id", "ASC"]],
        ["reference", "state", "total_amount", "description"],
    )


def test_check_says_what_answered_and_refuses_a_wrong_password(tryton_firm):
    with connect(tryton_firm) as tryton:
        assert tryton.check() == f"Tryton 8.2, database {tryton_firm.database}, user admin"
    wrong = TrytonConnector(tryton_firm.url, tryton_firm.database, "admin", "wrong")
    with wrong as tryton, pytest.raises(AuthenticationFailed):
        tryton.check()


def test_payload_schemas_name_what_a_time_entry_and_an_invoice_need(tryton_firm):
    with connect(tryton_firm) as tryton:
        assert tryton.payload_schema("time_entry")["required"] == ["person", "project", "date", "duration"]
        assert "lines" in tryton.payload_schema("invoice")["properties"]
        assert tryton.payload_schema("project") is None


def test_a_time_entry_becomes_a_timesheet_line_once_even_when_sent_again(tryton_firm):
    with connect(tryton_firm) as tryton:
        assert tryton.lookup("time_entry", "te2erp-1") is None
        sent = tryton.send("time_entry", ENTRY, "te2erp-1")
        assert sent.ok and sent.verified
        assert sent.detail["hours"] == "2.50" and sent.detail["description"] == "Mapping [te2erp-1]"
        # The answer was lost; the job asks before sending again, and a resend changes nothing.
        assert tryton.lookup("time_entry", "te2erp-1")["external_id"] == sent.external_id
        again = tryton.send("time_entry", ENTRY, "te2erp-1")
        assert again.ok and again.detail["already"] and again.external_id == sent.external_id
        (entry,) = tryton.fetch_time_entries().records
        assert entry.external_id == sent.external_id and str(entry.hours) == "2.50"
        # Tryton's own words for the codes are taken too.
        tryton_words = {**ENTRY, "employee": ENTRY["person"], "work": ENTRY["project"]}
        del tryton_words["person"], tryton_words["project"]
        assert tryton.send("time_entry", {**tryton_words, "date": "2026-11-06"}, "te2erp-5").ok


def test_unknown_codes_are_refused_naming_the_value_before_anything_is_written(tryton_firm):
    with connect(tryton_firm) as tryton:
        project = tryton.send("time_entry", {**ENTRY, "project": "NW-0451"}, "k1")
        person = tryton.send("time_entry", {**ENTRY, "person": "E-999"}, "k2")
        tax = tryton.send("invoice", {**INVOICE, "lines": [{**INVOICE["lines"][0], "tax_code": "RC-EU"}]}, "k3")
        customer = tryton.send("invoice", {**INVOICE, "contact": {"code": "CL-9"}}, "k4")
        assert (project.error_code, project.error_message) == ("UNKNOWN_PROJECT", "Project code 'NW-0451' not found")
        assert (person.error_code, person.error_message) == ("UNKNOWN_EMPLOYEE", "Employee code 'E-999' not found")
        assert (tax.error_code, tax.error_message) == ("UNKNOWN_TAX", "Tax code 'RC-EU' not found")
        assert (customer.error_code, customer.error_message) == ("UNKNOWN_PARTY", "Customer code 'CL-9' not found")
        assert not any(r.retryable for r in (project, person, tax, customer))
        assert tryton.fetch_time_entries().records == [] and invoices(tryton) == []


def test_time_before_the_works_timesheet_period_is_refused_until_it_is_reopened_in_tryton(tryton_firm):
    october = {**ENTRY, "date": "2026-10-20"}
    with connect(tryton_firm) as tryton:
        refused = tryton.send("time_entry", october, "te2erp-2")
        assert not refused.ok and refused.error_code == "TIMESHEET_PERIOD_CLOSED"
        assert (
            'for field "Work"' in refused.error_message and "not valid according to its domain" in refused.error_message
        )
        assert "it takes time from 2026-11-01" in refused.error_message

        fix(tryton_firm, "reopen-timesheets", "NW-0401", "2026-10-01")
        sent = tryton.send("time_entry", october, "te2erp-2")
        assert sent.ok and tryton.read_back("time_entry", sent.external_id)["date"] == "2026-10-20"


def test_time_after_the_employees_contract_ended_is_refused_until_it_is_extended_in_tryton(tryton_firm):
    late = {**ENTRY, "person": "E-102", "date": "2026-11-20"}
    with connect(tryton_firm) as tryton:
        assert tryton.send("time_entry", {**late, "date": "2026-11-13"}, "te2erp-3").ok
        refused = tryton.send("time_entry", late, "te2erp-4")
        assert not refused.ok and refused.error_code == "EMPLOYEE_CONTRACT_ENDED"
        assert refused.error_message.startswith('The value "Ben Schmidt" for field "Employee"')
        assert "employed in Tryton from - to 2026-11-15" in refused.error_message

        fix(tryton_firm, "extend-employee", "E-102", "-")
        assert tryton.send("time_entry", late, "te2erp-4").ok


def test_an_invoice_is_created_posted_and_read_back_once(tryton_firm):
    with connect(tryton_firm) as tryton:
        sent = tryton.send("invoice", INVOICE, "inv2erp-1")
        assert sent.ok and sent.verified and sent.detail["state"] == "posted"
        assert sent.detail["amount"] == "1874.25"  # 10.5 h x 150.00 + 19 % VAT, as Tryton computed it
        assert tryton.lookup("invoice", "inv2erp-1")["external_id"] == sent.external_id
        again = tryton.send("invoice", INVOICE, "inv2erp-1")
        assert again.ok and again.detail["already"]
        (row,) = invoices(tryton)
        assert row["reference"] == "inv2erp-1" and row["description"] == "INV-2026-0042 NW-0401"


def test_posting_into_a_closed_period_is_refused_the_draft_is_reused_and_posts_once_reopened(tryton_firm):
    september = {**INVOICE, "date": "2026-09-30"}
    with connect(tryton_firm) as tryton:
        refused = tryton.send("invoice", september, "inv2erp-2")
        assert not refused.ok and refused.error_code == "PERIOD_CLOSED"
        assert refused.error_message.startswith('To continue, you must reopen the period "2026-09"')
        assert refused.error_message.endswith("(the accounting period 2026-09 is closed in Tryton)")
        # The draft left behind is not "already there", and a second refused attempt makes no second draft.
        assert tryton.lookup("invoice", "inv2erp-2") is None
        assert not tryton.send("invoice", september, "inv2erp-2").ok
        assert [r["state"] for r in invoices(tryton)] == ["draft"]

        fix(tryton_firm, "reopen-period", "2026-09-30")
        posted = tryton.send("invoice", september, "inv2erp-2")
        assert posted.ok and posted.verified
        assert [r["state"] for r in invoices(tryton)] == ["posted"]
        assert tryton.read_back("invoice", posted.external_id)["status"] == "posted"


def test_a_line_whose_product_has_no_revenue_account_is_refused_until_the_account_is_set_in_tryton(tryton_firm):
    travel = {**INVOICE, "reference": "NW-0402"}
    with connect(tryton_firm) as tryton:
        refused = tryton.send("invoice", travel, "inv2erp-4")
        assert not refused.ok and refused.error_code == "NO_REVENUE_ACCOUNT"
        assert refused.error_message.startswith('A value is required for field "Account"')
        assert refused.error_message.endswith(
            "(product 'Travel time' has no revenue account in Tryton, on its accounting category)"
        )
        assert invoices(tryton) == []  # nothing half-written

        fix(tryton_firm, "set-revenue-account", "Travel time")
        posted = tryton.send("invoice", travel, "inv2erp-4")
        assert posted.ok and posted.verified and posted.detail["state"] == "posted"


def test_a_missing_tax_is_added_in_tryton_and_the_invoice_then_posts(tryton_firm):
    reverse_charge = {**INVOICE, "lines": [{**INVOICE["lines"][0], "tax_code": "RC-EU"}]}
    with connect(tryton_firm) as tryton:
        assert tryton.send("invoice", reverse_charge, "inv2erp-3").error_code == "UNKNOWN_TAX"
        fix(tryton_firm, "add-tax", "RC-EU", "0")
        posted = tryton.send("invoice", reverse_charge, "inv2erp-3")
        assert posted.ok and posted.detail["amount"] == "1575.00"
