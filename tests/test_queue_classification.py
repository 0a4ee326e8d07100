"""Realistic error messages are classified into kinds, and failures with one cause share a fingerprint."""

import pytest

from opsview.queues.classify import classify, fingerprint, normalize_message
from opsview.queues.models import Kind, MappingKind

CASES = [
    # (error_code, message, target kind) -> kind
    ("PERIOD_CLOSED", "Posting period 2026-10 is closed for company Northwind BV", "erp", Kind.POSTING_FAILURE),
    ("", "account.move: The fiscal year 2025 is closed", "erp", Kind.POSTING_FAILURE),
    ("", "Account 4000 is blocked for posting", "erp", Kind.POSTING_FAILURE),
    ("USER_ERROR", "You can not add/modify entries in a closed period: Oct 2026", "erp", Kind.POSTING_FAILURE),
    ("", "Journal entry could not be posted: ledger locked until 2026-10-31", "billing", Kind.POSTING_FAILURE),
    ("TIMEOUT", "Read timed out after 30s (POST https://erp.example.com/jsonrpc)", "erp", Kind.SYNC_ERROR),
    ("", "HTTP 503 Service Unavailable from https://api.harvestapp.com/v2/time_entries", "billing", Kind.SYNC_ERROR),
    ("429", "Too Many Requests: rate limit of 100 requests per 15 s exceeded", "billing", Kind.SYNC_ERROR),
    ("", "Connection refused (ECONNREFUSED 10.0.0.12:8000)", "erp", Kind.SYNC_ERROR),
    ("401", "Unauthorized: token expired", "erp", Kind.SYNC_ERROR),
    ("", "Something unexpected happened", "billing", Kind.SYNC_ERROR),
    ("VALIDATION_ERROR", "Field 'hours' must be at most 24 (got 25.5)", "billing", Kind.VALIDATION_REJECTED),
    ("422", "Unprocessable Entity: description is required", "billing", Kind.VALIDATION_REJECTED),
    ("", "Invoice rejected: VAT number DE123 is not a valid VAT number", "erp", Kind.VALIDATION_REJECTED),
    ("", "Unknown project code 'ACME-01'", "erp", Kind.MISSING_MAPPING),
    ("UNKNOWN_PROJECT", "Project 4411 not found in target", "erp", Kind.MISSING_MAPPING),
    ("", 'No mapping for customer "Contoso Ltd"', "billing", Kind.MISSING_MAPPING),
    ("", "Employee E-1077 does not exist", "billing", Kind.MISSING_MAPPING),
    ("", "Tax code 'VAT19-DE' not found", "erp", Kind.MISSING_MAPPING),
    ("MAPPING_MISSING", "No target for this record", "erp", Kind.MISSING_MAPPING),
    # What the demo's connectors report (opsview/demo/catalog.py).
    ("PERIOD_CLOSED", "Posting period 2026-10 is closed for company 1", "erp", Kind.POSTING_FAILURE),
    ("UNKNOWN_PROJECT", "Project code 'NW-0527' not found", "erp", Kind.MISSING_MAPPING),
    ("TAX_CODE_MISSING", "Tax code 'RC-EU' missing on line 3", "erp", Kind.MISSING_MAPPING),
    (
        "RATE_MISMATCH",
        "Rate 150.00 differs from contract rate 140.00 for person P-12",
        "billing",
        Kind.VALIDATION_REJECTED,
    ),
    ("DUPLICATE_INVOICE_NUMBER", "Invoice number 2026-0193 already exists", "erp", Kind.VALIDATION_REJECTED),
    (
        "NO_REVENUE_ACCOUNT",
        "Product 'Advisory retainer' on line 1 has no revenue account: the invoice cannot be posted",
        "erp",
        Kind.POSTING_FAILURE,
    ),
    # Tryton's own refusals, with the reason the connector found: words that sound like validation, an ERP reason.
    (
        "NO_REVENUE_ACCOUNT",
        'A value is required for field "Account" in "Invoice Line". (product \'Advisory '
        "retainer' has no revenue account in Tryton, on its accounting category)",
        "erp",
        Kind.POSTING_FAILURE,
    ),
    (
        "PERIOD_CLOSED",
        'To continue, you must reopen the period "2026-09" of company "Northwind". (the accounting '
        "period 2026-09 is closed in Tryton)",
        "erp",
        Kind.POSTING_FAILURE,
    ),
    ("", "Tryton JSON-RPC unavailable: 502 Bad Gateway from erp.northwind.example", "erp", Kind.SYNC_ERROR),
    ("", "Authentication failed: OAuth token for the Xero organisation has expired", "billing", Kind.SYNC_ERROR),
    ("", "Harvest API rate limit exceeded (HTTP 429); run aborted after 3 retries", "billing", Kind.SYNC_ERROR),
    ("", "Connection to erp.northwind.example:8000 timed out after 30 s", "erp", Kind.SYNC_ERROR),
    ("", "Customer email missing", "billing", Kind.VALIDATION_REJECTED),
]


@pytest.mark.parametrize(("code", "message", "target_kind", "kind"), CASES)
def test_realistic_errors_get_their_kind(code, message, target_kind, kind):
    assert classify(code, message, target_kind).kind == kind


@pytest.mark.parametrize(
    ("message", "mapping_kind", "value"),
    [
        ("Unknown project code 'ACME-01'", MappingKind.PROJECT, "ACME-01"),
        ('No mapping for customer "Contoso Ltd"', MappingKind.CLIENT, "Contoso Ltd"),
        ("Employee E-1077 does not exist", MappingKind.PERSON, "E-1077"),
        ("Tax code 'VAT19-DE' not found", MappingKind.TAX_CODE, "VAT19-DE"),
        ("Project 4411 not found in target.", MappingKind.PROJECT, "4411"),
        ("Tax code 'RC-EU' missing on line 3", MappingKind.TAX_CODE, "RC-EU"),
    ],
)
def test_a_missing_mapping_names_the_unknown_value(message, mapping_kind, value):
    found = classify("", message, "erp")
    assert (found.mapping_kind, found.mapping_value) == (mapping_kind, value)


def test_ids_numbers_dates_and_emails_are_taken_out_of_messages():
    assert normalize_message("Invoice INV-2026-0042 for ada@example.com: amount 1,250.00 exceeds 1000.") == (
        "Invoice <n> for <email>: amount <n> exceeds <n>"
    )
    assert normalize_message("Record 3f2b9c1e-8d4a-4c2b-9f1e-2a7b6c5d4e3f failed (ref 0x9fa3bc21d4e5)") == (
        "Record <id> failed (ref <n>)"
    )
    assert normalize_message("Entry 'TE-4411' rejected") == "Entry '<id>' rejected"


def test_an_id_that_happens_to_be_all_digits_is_still_an_id():
    assert normalize_message("Service unavailable (request 00000010)") == normalize_message(
        "Service unavailable (request 0000000a)"
    )


def test_the_same_cause_with_other_ids_shares_a_fingerprint():
    a = fingerprint(7, "time_entry", "PERIOD_CLOSED", "Posting period 2026-10 is closed (entry TE-1)")
    b = fingerprint(7, "time_entry", "period_closed", "Posting period 2026-11 is closed (entry TE-977)")
    assert a == b


def test_another_system_record_type_code_or_message_is_another_cause():
    base = fingerprint(7, "time_entry", "PERIOD_CLOSED", "Posting period 2026-10 is closed")
    assert base != fingerprint(8, "time_entry", "PERIOD_CLOSED", "Posting period 2026-10 is closed")
    assert base != fingerprint(7, "invoice", "PERIOD_CLOSED", "Posting period 2026-10 is closed")
    assert base != fingerprint(7, "time_entry", "ACCOUNT_BLOCKED", "Posting period 2026-10 is closed")
    assert base != fingerprint(7, "time_entry", "PERIOD_CLOSED", "Account is blocked")


def test_each_unknown_value_is_its_own_cause():
    one = fingerprint(7, "time_entry", "", "Unknown project code 'ACME-01'", cause="ACME-01")
    two = fingerprint(7, "time_entry", "", "Unknown project code 'ACME-02'", cause="ACME-02")
    assert one != two
