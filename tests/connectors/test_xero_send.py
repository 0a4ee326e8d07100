"""Sending an invoice to Xero, against its published contract: once in effect, with the idempotency key."""

import copy
import re
import uuid

import jsonschema
import pytest

from connectors.http import RetryPolicy
from connectors.xero import XeroConnector
from tests.connectors.contracts import SPEC_URI, contract
from tests.connectors.localserver import Reply

TENANT = "0b1f4c6e-6f0a-4d55-9d43-3f1c0c9d6a11"
CONTACT = "430fa14a-f945-44d3-9f97-5df5e28441b8"
KEY = "opsview-replay-" + "a1" * 24
INVOICE = {
    "Type": "ACCREC",
    "Contact": {"ContactID": CONTACT},
    "Date": "2026-11-02",
    "DueDate": "2026-12-02",
    "LineItems": [{"Description": "Consulting, October", "Quantity": 10, "UnitAmount": 150, "AccountCode": "200"}],
    "CurrencyCode": "EUR",
    "Status": "AUTHORISED",
    "external_id": "INV-7",
}


class XeroInvoices:
    """Xero's invoice endpoints on a local server: creates what it is PUT, answers lookups, checks requests."""

    def __init__(self, server):
        self.spec = contract("xero/xero_accounting.yaml")
        self.created, self.problems, self.refuse = {}, [], None
        server.handler = self

    def _check_body(self, body):
        schema = {"$ref": f"{SPEC_URI}#/components/schemas/Invoices"}
        validator = jsonschema.Draft4Validator(schema, registry=self.spec._registry)
        self.problems += [f"request body: {e.message}" for e in validator.iter_errors(body)]

    def _answer(self, invoices):
        body = copy.deepcopy(self.spec.example("/Invoices", "get"))
        body["Invoices"] = invoices
        self.spec.validate_response("/Invoices", "get", body)
        return Reply(200, body)

    def __call__(self, seen):
        one = re.fullmatch(r"/api\.xro/2\.0/Invoices/([^/]+)", seen.path)
        if seen.method == "PUT" and seen.path == "/api.xro/2.0/Invoices":
            self.problems += self.spec.request_problems("/Invoices", "put", seen, ("Authorization", "Idempotency-Key"))
            self._check_body(seen.json())
            if self.refuse:
                return Reply(
                    400,
                    {
                        "ErrorNumber": 10,
                        "Type": "ValidationException",
                        "Message": "A validation exception occurred",
                        "Elements": [{"ValidationErrors": [{"Message": self.refuse}]}],
                    },
                )
            (sent,) = seen.json()["Invoices"]
            invoice = {
                **sent,
                "InvoiceID": str(uuid.uuid4()),
                "InvoiceNumber": f"INV-{40 + len(self.created)}",
                "Total": 1500.0,
                "UpdatedDateUTC": "/Date(1764288000000+0000)/",
            }
            self.created[invoice["InvoiceID"]] = invoice
            return self._answer([invoice])
        if seen.method == "GET" and one:
            self.problems += self.spec.request_problems("/Invoices/{InvoiceID}", "get", seen, ("Authorization",))
            found = self.created.get(one.group(1))
            return self._answer([found] if found else [])
        if seen.method == "GET" and seen.path == "/api.xro/2.0/Invoices":
            self.problems += self.spec.request_problems("/Invoices", "get", seen, ("Authorization",))
            reference = re.fullmatch(r'Reference=="(.*)"', seen.query["where"][0]).group(1)
            return self._answer([i for i in self.created.values() if i.get("Reference") == reference])
        return Reply(404, {"Message": f"no route {seen.method} {seen.path}"})


@pytest.fixture
def xero(server):
    return XeroInvoices(server)


def connect(server, sleeps):
    return XeroConnector(
        "xero-access-token",
        TENANT,
        accounting_url=f"{server.url}/api.xro/2.0",
        retry=RetryPolicy(max_attempts=2),
        http_options={"sleep": sleeps},
    )


def test_an_invoice_is_sent_with_the_idempotency_key_in_its_header_and_reference(server, sleeps, xero):
    with connect(server, sleeps) as connector:
        assert connector.lookup("invoice", KEY) is None
        result = connector.send("invoice", INVOICE, KEY)
        back = connector.read_back("invoice", result.external_id)
        found = connector.lookup("invoice", KEY)

    assert xero.problems == []
    put = next(s for s in server.seen if s.method == "PUT")
    assert put.headers["Idempotency-Key"] == KEY
    (sent,) = put.json()["Invoices"]
    assert sent["Reference"] == KEY and "external_id" not in sent
    assert result.ok and result.detail == {"status": "AUTHORISED", "number": "INV-40"}
    assert (back["state"], back["status"], back["number"]) == ("AUTHORISED", "posted", "INV-40")
    assert found["external_id"] == result.external_id


def test_a_reference_of_its_own_is_kept_and_only_sales_invoices_carry_the_key(server, sleeps, xero):
    with connect(server, sleeps) as connector:
        connector.send("invoice", {**INVOICE, "Reference": "PO 4711"}, KEY)
        connector.send("invoice", {**INVOICE, "Type": "ACCPAY"}, KEY + "2")
    first, second = (s.json()["Invoices"][0] for s in server.seen if s.method == "PUT")
    assert first["Reference"] == "PO 4711" and "Reference" not in second and xero.problems == []


def test_a_refusal_carries_xeros_validation_message(server, sleeps, xero):
    xero.refuse = "Account code '999' is not a valid code for this document."
    with connect(server, sleeps) as connector:
        result = connector.send("invoice", INVOICE, KEY)
    assert not result.ok and result.error_code == "validation_error"
    assert result.error_message == xero.refuse and not result.retryable
