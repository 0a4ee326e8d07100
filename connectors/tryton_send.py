"""What the Tryton connector sends: timesheet lines and customer invoices, by the codes the jobs carry.

A job's payload names things by their codes (employee and customer party codes,
project numbers, tax names); the connector looks each up in Tryton first, and an
unknown one is a refusal naming the value ("Project code 'NW-0451' not found"), the
way a missing mapping shows. Everything else is Tryton's to refuse, in its own words.

The idempotency key travels on the record Tryton keeps: an invoice's ``reference``;
a timesheet line's description ends with ``[key]`` (the line's ``uuid`` is read-only
over RPC). ``lookup`` finds it there after an answer was lost.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from connectors.errors import ConnectorError
from connectors.records import hours_from_seconds
from connectors.tryton_rpc import TrytonError

INACTIVE_TOO = {"active_test": False}
MAX_WARNINGS = 5

TIME_ENTRY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Tryton timesheet line",
    "type": "object",
    "required": ["person", "project", "date", "duration"],
    "properties": {
        "company": {"type": "string", "description": "The firm's company code (informative)"},
        "person": {"type": "string", "minLength": 1, "description": "The employee's party code in Tryton"},
        "project": {"type": "string", "minLength": 1, "description": "The project's number in Tryton"},
        "date": {"type": "string", "format": "date"},
        "duration": {"type": "number", "exclusiveMinimum": 0, "maximum": 24, "description": "Hours"},
        "description": {"type": "string"},
        "origin": {"type": "string", "description": "Where the entry comes from (informative)"},
    },
}
INVOICE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Tryton customer invoice",
    "type": "object",
    "oneOf": [{"required": ["external_id"]}, {"required": ["contact", "date", "lines"]}],
    "properties": {
        "external_id": {"type": "string", "pattern": "^[0-9]+$", "description": "An existing Tryton invoice to post"},
        "invoice_id": {"type": "string"},
        "number": {"type": "string", "description": "The billing system's invoice number"},
        "company": {"type": "string"},
        "contact": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string", "minLength": 1}, "name": {"type": "string"}},
        },
        "reference": {"type": "string", "description": "Project number in Tryton"},
        "date": {"type": "string", "format": "date"},
        "due_date": {"type": "string", "format": "date"},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3},
        "lines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["quantity", "unit_amount"],
                "properties": {
                    "line": {"type": "integer"},
                    "description": {"type": "string"},
                    "quantity": {"type": "number"},
                    "unit_amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
                    "tax_code": {"type": "string", "description": "Tax name in Tryton"},
                    "line_amount": {"type": "string"},
                },
            },
        },
        "total_net": {"type": "string"},
    },
}


class Refused(ConnectorError):
    """The payload names something Tryton does not have, or cannot be read; not retryable."""

    def __init__(self, code, message):
        super().__init__(code, message, retryable=False)


def keyed(description: str, key: str) -> str:
    """A timesheet line's description carrying the idempotency key."""
    return f"{description} [{key}]" if description else f"[{key}]"


def one(rpc, model, domain, fields, code, what, value, context=None, cache=None):
    """The single row of ``model`` matching ``domain``, or a refusal naming ``what`` and ``value``.

    ``cache`` (a dict the caller keeps) remembers rows found: a code's record keeps its id in Tryton,
    so a batch of sends asks once per code. A code not found is asked again each time: it may have
    been added in Tryton meanwhile.
    """
    key = (model, repr(domain), tuple(fields), repr(context))
    if cache is not None and key in cache:
        return cache[key]
    rows = rpc.call(f"model.{model}.search_read", domain, 0, 2, None, fields, context=context)
    if not rows:
        raise Refused(code, f"{what} '{value}' not found")
    if cache is not None:
        cache[key] = rows[0]
    return rows[0]


def timesheet_values(rpc, payload: dict, key: str, cache=None) -> dict:
    """The values of the timesheet line ``payload`` asks for, its codes looked up in Tryton (see ``one``).

    ``person`` and ``project`` carry the codes (the names opsview's mappings replace);
    Tryton's own words ``employee`` and ``work`` are taken too.
    """
    employee_code = str(payload.get("person") or payload.get("employee") or "")
    work_code = str(payload.get("project") or payload.get("work") or "")
    try:
        day = dt.date.fromisoformat(str(payload.get("date")))
        hours = Decimal(str(payload.get("duration")))
    except (ValueError, InvalidOperation):
        raise Refused("invalid_payload", "payload needs 'date' (YYYY-MM-DD) and 'duration' (hours)") from None
    if not employee_code or not work_code:
        raise Refused("invalid_payload", "payload needs the 'person' and 'project' codes")
    # Employees whose employment ended are inactive today yet still take time within their dates; an
    # employee's "active" is computed, so only the context reaches them.
    employee = one(
        rpc,
        "company.employee",
        [("party.code", "=", employee_code)],
        ["company"],
        "UNKNOWN_EMPLOYEE",
        "Employee code",
        employee_code,
        context=INACTIVE_TOO,
        cache=cache,
    )
    project = one(
        rpc,
        "project.work",
        [("number", "=", work_code), ("type", "=", "project")],
        ["timesheet_works"],
        "UNKNOWN_PROJECT",
        "Project code",
        work_code,
        cache=cache,
    )
    if not project["timesheet_works"]:
        raise Refused("UNKNOWN_PROJECT", f"Project code '{work_code}' takes no timesheets in Tryton")
    return {
        "company": employee["company"],
        "employee": employee["id"],
        "work": project["timesheet_works"][0],
        "date": day,
        "duration": dt.timedelta(hours=float(hours)),
        "description": keyed(str(payload.get("description") or ""), key),
    }


def line_detail(row) -> dict:
    """What the connector answers about a timesheet line it sent or found."""
    hours = hours_from_seconds(row["duration"].total_seconds())
    return {
        "external_id": str(row["id"]),
        "date": row["date"].isoformat(),
        "hours": str(hours),
        "description": row.get("description") or "",
        "state": "recorded",
    }


def _outside(day, start, end):
    if (start and day < start) or (end and day > end):
        return f"from {start.isoformat() if start else '-'} to {end.isoformat() if end else '-'}"
    return None


def timesheet_refusal(rpc, error: TrytonError, values: dict) -> TrytonError:
    """Tryton's refusal of a line, with the reason behind its domain message when the dates explain it.

    ``TIMESHEET_PERIOD_CLOSED``: the date is outside the work's timesheet dates;
    ``EMPLOYEE_CONTRACT_ENDED``: outside the employee's employment dates.
    """
    day = values["date"]
    (work,) = rpc.call("model.timesheet.work.read", [values["work"]], ["timesheet_start_date", "timesheet_end_date"])
    window = _outside(day, work.get("timesheet_start_date"), work.get("timesheet_end_date"))
    if window:
        note = f"the work's timesheet period is closed: it takes time {window}"
        return TrytonError("TIMESHEET_PERIOD_CLOSED", f"{error.message} ({note})")
    (employee,) = rpc.call("model.company.employee.read", [values["employee"]], ["start_date", "end_date"])
    window = _outside(day, employee.get("start_date"), employee.get("end_date"))
    if window:
        note = f"the employee is employed in Tryton {window}"
        return TrytonError("EMPLOYEE_CONTRACT_ENDED", f"{error.message} ({note})")
    return error


def invoice_refusal(rpc, error: TrytonError, values: dict) -> TrytonError:
    """Tryton's refusal of a new invoice, with the reason behind it when a line's product explains it.

    ``NO_REVENUE_ACCOUNT``: a line's product has no revenue account (Tryton asks for the line's account).
    """
    if error.code != "UserError":
        return error
    for _action, lines in values.get("lines") or []:
        unbooked = [line for line in lines if line.get("account") is None]
        if unbooked:
            (product,) = rpc.call("model.product.product.read", [unbooked[0]["product"]], ["rec_name"])
            note = f"product '{product['rec_name']}' has no revenue account in Tryton, on its accounting category"
            return TrytonError("NO_REVENUE_ACCOUNT", f"{error.message} ({note})")
    return error


def posting_refusal(rpc, error: TrytonError, day) -> TrytonError:
    """Tryton's refusal to post an invoice dated ``day``, as ``PERIOD_CLOSED`` when its period is closed."""
    if not day or error.code != "UserError":
        return error
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    closed = rpc.call(
        "model.account.period.search_read",
        [("start_date", "<=", day), ("end_date", ">=", day), ("type", "=", "standard"), ("state", "=", "closed")],
        0,
        1,
        None,
        ["rec_name"],
    )
    if not closed:
        return error
    note = f"the accounting period {closed[0]['rec_name']} is closed in Tryton"
    return TrytonError("PERIOD_CLOSED", f"{error.message} ({note})")


def post_invoice(rpc, invoice_id, accept_warnings):
    """Post the invoice; with ``accept_warnings``, confirm Tryton's warnings as the user, as the client's "Yes"."""
    for _ in range(MAX_WARNINGS):
        try:
            return rpc.call("model.account.invoice.post", [invoice_id])
        except TrytonError as error:
            if error.code != "UserWarning" or not accept_warnings:
                raise
            rpc.call(
                "model.res.user.warning.create", [{"user": rpc.user_id, "name": error.warning_name, "always": False}]
            )
    raise TrytonError("UserWarning", f"tryton raised more than {MAX_WARNINGS} warnings posting invoice {invoice_id}")


def invoice_values(rpc, payload: dict, key: str, cache=None) -> dict:
    """The values of the customer invoice ``payload`` asks for, its codes looked up in Tryton (see ``one``)."""
    contact = payload.get("contact") or {}
    party_code = str(contact.get("code") or "")
    lines = payload.get("lines") or []
    try:
        day = dt.date.fromisoformat(str(payload.get("date")))
    except ValueError:
        raise Refused("invalid_payload", "payload needs the invoice 'date' (YYYY-MM-DD)") from None
    if not party_code or not lines:
        raise Refused("invalid_payload", "payload needs 'contact.code' and at least one line")
    party = one(
        rpc,
        "party.party",
        [("code", "=", party_code)],
        ["customer_payment_term", "addresses"],
        "UNKNOWN_PARTY",
        "Customer code",
        party_code,
        cache=cache,
    )
    project_code = str(payload.get("reference") or "")
    product = None
    if project_code:
        project = one(
            rpc,
            "project.work",
            [("number", "=", project_code), ("type", "=", "project")],
            ["product"],
            "UNKNOWN_PROJECT",
            "Project code",
            project_code,
            cache=cache,
        )
        product = project.get("product")
    if product is None:
        product = one(
            rpc, "product.product", [("type", "=", "service")], ["id"], "UNKNOWN_PRODUCT", "Service product", "any"
        )["id"]
    (item,) = rpc.call("model.product.product.read", [product], ["default_uom", "account_category.account_revenue"])
    revenue = (item.get("account_category.") or {}).get("account_revenue")
    taxes = {}
    for code in sorted({str(line.get("tax_code")) for line in lines if line.get("tax_code")}):
        taxes[code] = one(
            rpc, "account.tax", [("name", "=", code)], ["id"], "UNKNOWN_TAX", "Tax code", code, cache=cache
        )["id"]
    values = {
        "type": "out",
        "party": party["id"],
        "invoice_date": day,
        "reference": key,
        "description": " ".join(p for p in (str(payload.get("number") or ""), project_code) if p),
        "account": rpc.call("model.account.configuration.read", [1], ["default_account_receivable"])[0][
            "default_account_receivable"
        ],
        "journal": one(
            rpc,
            "account.journal",
            [("type", "=", "revenue")],
            ["id"],
            "UNKNOWN_JOURNAL",
            "Journal type",
            "revenue",
            cache=cache,
        )["id"],
        "payment_term": party.get("customer_payment_term"),
        "invoice_address": (party.get("addresses") or [None])[0],
        "lines": [["create", [_line(line, product, item["default_uom"], revenue, taxes) for line in lines]]],
    }
    currency = str(payload.get("currency") or "")
    if currency:
        values["currency"] = one(
            rpc,
            "currency.currency",
            [("code", "=", currency)],
            ["id"],
            "UNKNOWN_CURRENCY",
            "Currency",
            currency,
            cache=cache,
        )["id"]
    return values


def _line(line, product, unit, revenue, taxes):
    try:
        quantity, price = Decimal(str(line["quantity"])), Decimal(str(line["unit_amount"]))
    except (KeyError, InvalidOperation):
        raise Refused("invalid_payload", f"line {line.get('line', '?')} needs 'quantity' and 'unit_amount'") from None
    values = {
        "type": "line",
        "product": product,
        "unit": unit,
        "description": str(line.get("description") or ""),
        "quantity": float(quantity),
        "unit_price": price,
        # As the client's product change does: the product's revenue account; none, and Tryton refuses the line.
        "account": revenue,
    }
    if line.get("tax_code"):
        values["taxes"] = [["add", [taxes[str(line["tax_code"])]]]]
    return values
