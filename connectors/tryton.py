"""Tryton ERP over JSON-RPC: read timesheet lines, invoices and projects; post an invoice.

Modules used: timesheet, project, project_invoice, account_invoice. Fetches page with a
keyset on (``last_modified_at``, ``id``), Tryton's own "written or else created" time,
so a record changed during a scan moves to its end instead of being skipped.

How Tryton maps onto opsview:

- a timesheet line is a time entry of its employee on the *root* project of its work
  (tasks roll up), at the work's list price; Tryton has no approval step, so a line
  is ``approved`` when recorded (``approved_at`` = its creation time);
- an invoice's state: draft -> draft, validated -> issued, posted -> posted,
  paid -> paid, cancelled -> void; a draft has no number yet, so it is shown as
  ``draft-<id>``, and time on it carries that reference;
- a project is a ``project.work`` of type project; its party is the client;
- clients are parties, less the companies' and employees' own; people are employees
  (named after their party), inactive ones included so that leaving shows.
"""

from datetime import UTC, datetime, time, timedelta

from connectors.base import DEFAULT_OVERLAP, Connector, decode_cursor, encode_cursor, next_since
from connectors.errors import ConnectorError
from connectors.http import HttpClient, RetryPolicy
from connectors.records import (
    ClientRecord,
    InvoiceRecord,
    Page,
    PersonRecord,
    ProjectRecord,
    SendResult,
    TimeEntryRecord,
    hours_from_seconds,
    money,
    parse_datetime,
    utc,
)
from connectors.tryton_rpc import TrytonError, TrytonRPC, dumps, loads
from connectors.tryton_send import (
    INACTIVE_TOO,
    INVOICE_SCHEMA,
    TIME_ENTRY_SCHEMA,
    invoice_refusal,
    invoice_values,
    line_detail,
    post_invoice,
    posting_refusal,
    timesheet_refusal,
    timesheet_values,
)
from connectors.tryton_settings import TRYTON_SETTINGS

INVOICE_STATUS = {"draft": "draft", "validated": "issued", "posted": "posted", "paid": "paid", "cancelled": "void"}
TIMESHEET_FIELDS = [
    "date",
    "duration",
    "employee",
    "work.origin",
    "invoice_line.invoice.number",
    "invoice_line.invoice.id",
    "company.currency.code",
    "create_date",
    "last_modified_at",
]
INVOICE_FIELDS = [
    "number",
    "party",
    "state",
    "total_amount",
    "currency.code",
    "invoice_date",
    "move.post_date",
    "reconciled",
    "lines_to_pay.maturity_date",
    "reference",
    "last_modified_at",
]
PROJECT_FIELDS = ["name", "number", "party", "project_invoice_method", "status.progress", "last_modified_at"]
PARTY_FIELDS = ["name", "last_modified_at"]
EMPLOYEE_FIELDS = ["party.name", "party.email", "active", "last_modified_at"]
WITH_INACTIVE = ("active", "in", [True, False])


def draft_number(invoice_id) -> str:
    """The number opsview shows for a Tryton invoice that has none yet."""
    return f"draft-{invoice_id}"


def _at_midnight(day):
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


class TrytonConnector(Connector):
    """One Tryton database, reached at ``url`` (e.g. ``http://127.0.0.1:8000``) as one user.

    ``accept_warnings``: Tryton asks a person to confirm some actions (posting an invoice
    whose payment date is past); when true, the connector confirms them as that user, the
    way the Tryton client's "Yes" does; when false such a send fails with ``UserWarning``.
    ``http_options`` go to ``HttpClient`` (timeout, sleep, clock, rng, transport).
    """

    system = "tryton"
    send_types = frozenset({"invoice", "time_entry"})
    SETTINGS = TRYTON_SETTINGS

    def __init__(
        self,
        url: str,
        database: str,
        username: str,
        password: str,
        *,
        accept_warnings: bool = False,
        page_size: int = 100,
        overlap: timedelta = DEFAULT_OVERLAP,
        invoice_types=("out",),
        retry: RetryPolicy | None = None,
        http_options: dict | None = None,
    ):
        self.http = HttpClient(url, system=self.system, retry=retry, **(http_options or {}))
        self.rpc = TrytonRPC(self.http, database, username, password)
        self.accept_warnings = accept_warnings
        self.page_size = page_size
        self.overlap = overlap
        self.invoice_types = list(invoice_types)
        self.codes = {}  # rows found by their codes while sending (see ``tryton_send.one``)

    # -- fetching -------------------------------------------------------------------------

    def _scan(self, model, fields, since_cursor, domain=(), context=None):
        """One keyset page of ``model`` rows changed since the cursor, and the cursor after it."""
        state = decode_cursor(since_cursor)
        since, after = state.get("since"), state.get("after")
        where = list(domain)
        if after:
            moment = parse_datetime(after[0])
            where.append(
                ["OR", ("last_modified_at", ">", moment), [("last_modified_at", "=", moment), ("id", ">", after[1])]]
            )
        elif since:
            where.append(("last_modified_at", ">=", parse_datetime(since)))
        order = [["last_modified_at", "ASC"], ["id", "ASC"]]
        rows = self.rpc.call(f"model.{model}.search_read", where, 0, self.page_size, order, fields, context=context)
        if len(rows) == self.page_size:
            last = rows[-1]
            return (
                rows,
                encode_cursor({"since": since, "after": [utc(last["last_modified_at"]).isoformat(), last["id"]]}),
                True,
            )
        mark = utc(rows[-1]["last_modified_at"]).isoformat() if rows else (after[0] if after else None)
        return rows, encode_cursor({"since": next_since(mark, since, self.overlap)}), False

    def _root_projects(self, work_ids):
        """Map project.work ids to their root project's row (name, list price, invoice method)."""
        if not work_ids:
            return {}, {}
        works = self.rpc.call("model.project.work.read", sorted(work_ids), ["path", "list_price"])
        roots = {w["id"]: int(w["path"].split("/")[0]) for w in works}
        projects = self.rpc.call("model.project.work.read", sorted(set(roots.values())), ["project_invoice_method"])
        by_id = {p["id"]: p for p in projects}
        return {w: by_id[r] for w, r in roots.items()}, {w["id"]: w for w in works}

    def fetch_time_entries(self, since_cursor=None) -> Page:
        """Timesheet lines changed since the cursor, as approved time entries on their root project."""
        rows, cursor, more = self._scan("timesheet.line", TIMESHEET_FIELDS, since_cursor)
        work_ids = {_work_id(r) for r in rows if _work_id(r)}
        roots, works = self._root_projects(work_ids)
        records = []
        for row in rows:
            work_id = _work_id(row)
            root = roots.get(work_id)
            invoice = (row.get("invoice_line.") or {}).get("invoice.") or {}
            records.append(
                TimeEntryRecord(
                    external_id=str(row["id"]),
                    person=str(row["employee"]),
                    project=str(root["id"]) if root else "",
                    work_date=row["date"],
                    hours=hours_from_seconds(row["duration"].total_seconds()),
                    billable=bool(root) and root.get("project_invoice_method") != "manual",
                    bill_rate=money(works[work_id].get("list_price") or 0) if work_id in works else money(0),
                    currency=row["company."]["currency."]["code"],
                    status="approved",
                    approved_at=utc(row["create_date"]),
                    invoice_reference=(invoice.get("number") or draft_number(invoice["id"])) if invoice else "",
                    updated_at=utc(row["last_modified_at"]),
                    raw=row,
                )
            )
        return Page(records, cursor, more)

    def fetch_invoices(self, since_cursor=None) -> Page:
        """Invoices (customer invoices by default) changed since the cursor."""
        rows, cursor, more = self._scan(
            "account.invoice", INVOICE_FIELDS, since_cursor, [("type", "in", self.invoice_types)]
        )
        projects = self._invoice_projects([r["id"] for r in rows])
        return Page([self._invoice_record(r, projects.get(r["id"])) for r in rows], cursor, more)

    def _invoice_projects(self, invoice_ids):
        """The root project each invoice bills, found through the timesheet lines invoiced on it."""
        if not invoice_ids:
            return {}
        lines = self.rpc.call(
            "model.timesheet.line.search_read",
            [("invoice_line.invoice", "in", invoice_ids)],
            0,
            None,
            None,
            ["invoice_line.invoice", "work.origin"],
        )
        roots, _ = self._root_projects({_work_id(r) for r in lines if _work_id(r)})
        found = {}
        for line in lines:
            root = roots.get(_work_id(line))
            if root:
                found.setdefault(line["invoice_line."]["invoice"], str(root["id"]))
        return found

    def _invoice_record(self, row, project=None):
        state = row["state"]
        due = [d["maturity_date"] for d in row.get("lines_to_pay.") or [] if d.get("maturity_date")]
        return InvoiceRecord(
            external_id=str(row["id"]),
            number=row.get("number") or draft_number(row["id"]),
            client=str(row["party"]),
            project=project,
            amount=money(row["total_amount"]),
            currency=row["currency."]["code"],
            status=INVOICE_STATUS[state],
            issue_date=row.get("invoice_date"),
            due_date=min(due) if due else None,
            posted_at=_at_midnight((row.get("move.") or {}).get("post_date")),
            paid_at=_at_midnight(row.get("reconciled")) if state == "paid" else None,
            voided_at=utc(row["last_modified_at"]) if state == "cancelled" else None,
            updated_at=utc(row["last_modified_at"]),
            raw=row,
        )

    def fetch_projects(self, since_cursor=None) -> Page:
        """Projects (works of type project) changed since the cursor."""
        rows, cursor, more = self._scan("project.work", PROJECT_FIELDS, since_cursor, [("type", "=", "project")])
        records = [
            ProjectRecord(
                external_id=str(row["id"]),
                name=row["name"],
                code=row.get("number") or "",
                client=str(row["party"]) if row.get("party") else "",
                is_billable=row.get("project_invoice_method") != "manual",
                is_active=((row.get("status.") or {}).get("progress") or 0) < 1,
                updated_at=utc(row["last_modified_at"]),
                raw=row,
            )
            for row in rows
        ]
        return Page(records, cursor, more)

    def fetch_clients(self, since_cursor=None) -> Page:
        """Parties changed since the cursor, less the companies' and employees' own parties."""
        rows, cursor, more = self._scan(
            "party.party", PARTY_FIELDS, since_cursor, [("id", "not in", self._own_parties()), WITH_INACTIVE]
        )
        records = [
            ClientRecord(external_id=str(row["id"]), name=row["name"], updated_at=utc(row["last_modified_at"]), raw=row)
            for row in rows
        ]
        return Page(records, cursor, more)

    def _own_parties(self):
        """Ids of the parties that are companies or employees, not clients."""
        companies = self.rpc.call("model.company.company.search_read", [], 0, None, None, ["party"])
        employees = self.rpc.call(
            "model.company.employee.search_read", [], 0, None, None, ["party"], context=INACTIVE_TOO
        )
        return sorted({row["party"] for row in companies + employees if row.get("party")})

    def fetch_people(self, since_cursor=None) -> Page:
        """Employees changed since the cursor (a change to their party alone is not seen)."""
        # An employee's "active" is computed from its dates: only the context shows those who left.
        rows, cursor, more = self._scan("company.employee", EMPLOYEE_FIELDS, since_cursor, context=INACTIVE_TOO)
        records = [
            PersonRecord(
                external_id=str(row["id"]),
                name=row["party."]["name"],
                email=row["party."].get("email") or "",
                is_active=bool(row.get("active", True)),
                updated_at=utc(row["last_modified_at"]),
                raw=row,
            )
            for row in rows
        ]
        return Page(records, cursor, more)

    # -- sending --------------------------------------------------------------------------

    def read_back(self, record_type, external_id):
        """The record as Tryton holds it now (an invoice's ``state`` is Tryton's own), or None if there is none."""
        if record_type == "time_entry":
            rows = self.rpc.call(
                "model.timesheet.line.search_read",
                [("id", "=", int(external_id))],
                0,
                1,
                None,
                TIMESHEET_FIELDS + ["description"],
            )
            return line_detail(rows[0]) if rows else None
        if record_type != "invoice":
            return super().read_back(record_type, external_id)
        rows = self.rpc.call(
            "model.account.invoice.search_read", [("id", "=", int(external_id))], 0, 1, None, INVOICE_FIELDS
        )
        if not rows:
            return None
        return {**self._invoice_record(rows[0]).as_ingest(), "state": rows[0]["state"]}

    def lookup(self, record_type, key):
        """The record sent with ``key`` if it took effect: a timesheet line, or an invoice posted or paid; else None.

        A draft invoice left by a refused posting is not "there": the next send posts it.
        """
        if record_type == "time_entry":
            rows = self.rpc.call(
                "model.timesheet.line.search_read",
                [("description", "like", f"%[{key}]")],
                0,
                1,
                None,
                TIMESHEET_FIELDS + ["description"],
            )
            return line_detail(rows[0]) if rows else None
        if record_type != "invoice":
            return super().lookup(record_type, key)
        found = self._invoice_by_key(key)
        return found if found and found["state"] in ("posted", "paid") else None

    def _invoice_by_key(self, key):
        where = [("reference", "=", key), ("state", "!=", "cancelled")]
        rows = self.rpc.call("model.account.invoice.search_read", where, 0, 1, [["id", "DESC"]], INVOICE_FIELDS)
        return {**self._invoice_record(rows[0]).as_ingest(), "state": rows[0]["state"]} if rows else None

    def check(self):
        """Log in and say what answered, e.g. "Tryton 8.2.1, database northwind, user admin"."""
        self.rpc.login()
        response = self.http.request(
            "POST",
            "/rpc/",
            content=dumps({"id": 0, "method": "common.server.version", "params": []}),
            headers={"Content-Type": "application/json"},
            idempotent=True,
        )
        version = loads(response.content).get("result") if response.status_code == 200 else None
        return f"Tryton {version or '(version unknown)'}, database {self.rpc.database}, user {self.rpc.username}"

    @classmethod
    def payload_schema(cls, record_type):
        """The JSON Schema of a ``time_entry`` or ``invoice`` payload; None for other record types."""
        return {"time_entry": TIME_ENTRY_SCHEMA, "invoice": INVOICE_SCHEMA}.get(record_type)

    def send(self, record_type, payload, idempotency_key) -> SendResult:
        """Send one time entry (a timesheet line) or invoice (a customer invoice, posted), by the job's codes.

        An invoice payload with only ``external_id`` posts that existing Tryton invoice.
        Success is verified by reading the record back (an invoice in state ``posted``).
        A refusal carries Tryton's own error: code ``UserError`` (or ``UserWarning``) and
        message; an unknown code is refused before anything is written ("Project code
        'NW-0451' not found", code ``UNKNOWN_PROJECT``).
        """
        if record_type not in self.send_types:
            return SendResult.failure("unsupported_record_type", f"tryton takes {sorted(self.send_types)} only")
        if not isinstance(payload, dict):
            return SendResult.failure("invalid_payload", "the payload must be a JSON object")
        try:
            if record_type == "time_entry":
                return self._send_line(payload, idempotency_key)
            if set(payload) == {"external_id"} or ("external_id" in payload and "lines" not in payload):
                return self._post_existing(payload)
            return self._send_invoice(payload, idempotency_key)
        except ConnectorError as error:
            return SendResult.failure(error.code, error.message, retryable=error.retryable)

    def _send_line(self, payload, key):
        done = self.lookup("time_entry", key)
        if done:
            return SendResult(True, done["external_id"], verified=True, detail={**done, "already": True})
        values = timesheet_values(self.rpc, payload, key, self.codes)
        try:
            (line_id,) = self.rpc.call("model.timesheet.line.create", [values])
        except TrytonError as error:
            if error.code != "UserError":
                raise
            raise timesheet_refusal(self.rpc, error, values) from None
        after = self.read_back("time_entry", str(line_id))
        return SendResult(True, str(line_id), verified=after is not None, detail=after or {})

    def _send_invoice(self, payload, key):
        found = self._invoice_by_key(key)
        if found and found["state"] in ("posted", "paid"):
            return SendResult(True, found["external_id"], verified=True, detail={**found, "already": True})
        if found is None:
            values = invoice_values(self.rpc, payload, key, self.codes)
            try:
                (invoice_id,) = self.rpc.call("model.account.invoice.create", [values])
            except TrytonError as error:
                raise invoice_refusal(self.rpc, error, values) from None
        else:
            invoice_id = int(found["external_id"])  # the draft a refused posting left: post it now
        return self._post_existing({"external_id": str(invoice_id)})

    def _post_existing(self, payload):
        external_id = str(payload.get("external_id") or "")
        if not external_id.isdigit():
            return SendResult.failure("invalid_payload", "payload needs the Tryton invoice id as 'external_id'")
        try:
            before = self.read_back("invoice", external_id)
            if before is None:
                return SendResult.failure("not_found", f"tryton has no invoice {external_id}", external_id=external_id)
            if before["state"] in ("posted", "paid"):
                return SendResult(True, external_id, verified=True, detail={**before, "already": True})
            if before["state"] == "cancelled":
                return SendResult.failure(
                    "cancelled",
                    f"invoice {before['number']} is cancelled in tryton",
                    external_id=external_id,
                    detail=before,
                )
            try:
                post_invoice(self.rpc, int(external_id), self.accept_warnings)
            except TrytonError as error:
                raise posting_refusal(self.rpc, error, before.get("issue_date")) from None
            after = self.read_back("invoice", external_id)
        except ConnectorError as error:
            return SendResult.failure(error.code, error.message, retryable=error.retryable, external_id=external_id)
        verified = after is not None and after["state"] in ("posted", "paid")
        return SendResult(True, external_id, verified=verified, detail=after or {})

    def close(self):
        """Close the HTTP client."""
        self.http.close()


def _work_id(row):
    """The project.work id behind a timesheet line's work (its origin), or None."""
    origin = (row.get("work.") or {}).get("origin") or ""
    model, _, ident = origin.partition(",")
    return int(ident) if model == "project.work" and ident.isdigit() else None
