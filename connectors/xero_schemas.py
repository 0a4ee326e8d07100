"""The payloads Xero takes, as JSON Schemas: what the payload editor checks an edit against before a replay."""

# The writable fields of the Accounting API's Invoice and the Projects API's TimeEntryCreateOrUpdate,
# as Xero's published contract gives them; tests/connectors check they still agree.
_TEXT, _NUMBER = {"type": "string"}, {"type": "number"}
LINE_ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "Description": _TEXT,
        "Quantity": _NUMBER,
        "UnitAmount": _NUMBER,
        "ItemCode": _TEXT,
        "AccountCode": _TEXT,
        "TaxType": _TEXT,
        "TaxAmount": _NUMBER,
        "LineAmount": _NUMBER,
        "DiscountRate": _NUMBER,
    },
}
INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "Type": {
            "type": "string",
            "enum": [
                "ACCPAY",
                "ACCPAYCREDIT",
                "APOVERPAYMENT",
                "APPREPAYMENT",
                "ACCREC",
                "ACCRECCREDIT",
                "AROVERPAYMENT",
                "ARPREPAYMENT",
            ],
        },
        "Contact": {
            "type": "object",
            "properties": {"ContactID": {"type": "string", "format": "uuid"}, "Name": _TEXT, "ContactNumber": _TEXT},
        },
        "LineItems": {"type": "array", "items": LINE_ITEM_SCHEMA},
        "Date": _TEXT,
        "DueDate": _TEXT,
        "LineAmountTypes": {"type": "string", "enum": ["Exclusive", "Inclusive", "NoTax"]},
        "InvoiceNumber": {"type": "string", "maxLength": 255},
        "Reference": _TEXT,
        "Url": _TEXT,
        "CurrencyCode": _TEXT,
        "CurrencyRate": _NUMBER,
        "Status": {"type": "string", "enum": ["DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED"]},
        "SentToContact": {"type": "boolean"},
        "ExpectedPaymentDate": _TEXT,
    },
}
TIME_ENTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "userId": {"type": "string", "format": "uuid"},
        "taskId": {"type": "string", "format": "uuid"},
        "dateUtc": {"type": "string", "format": "date-time"},
        "duration": {"type": "integer"},
        "description": _TEXT,
    },
    "required": ["userId", "taskId", "dateUtc", "duration"],
}
PAYLOAD_SCHEMAS = {"invoice": INVOICE_SCHEMA, "time_entry": TIME_ENTRY_SCHEMA}
