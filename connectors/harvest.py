"""Harvest API v2: time entries with their approval state, invoices and projects, changed since a cursor.

Authentication is a personal access token or OAuth token (``Authorization: Bearer``)
plus the ``Harvest-Account-Id`` header; Harvest also asks for a ``User-Agent`` naming
the integration. Lists page with ``page``/``per_page`` and filter on ``updated_since``.

How Harvest maps onto opsview:

- a time entry is ``approved`` when closed by timesheet approval (``is_closed``) or
  billed, ``submitted`` when locked for approval, else ``draft``; Harvest does not say
  when it was approved, so ``approved_at`` is its last update;
- an invoice's state: draft -> draft, open -> issued, paid -> paid, closed -> void;
- time entries carry no currency: the account's currency is a constructor argument;
- clients are Harvest's clients; people are its users (weekly capacity in seconds).
"""

from datetime import date, timedelta

from connectors.base import DEFAULT_OVERLAP, Connector, decode_cursor, encode_cursor, later, next_since
from connectors.errors import AuthenticationFailed
from connectors.http import HttpClient, RetryPolicy, error_for_status
from connectors.records import (
    ClientRecord,
    InvoiceRecord,
    Page,
    PersonRecord,
    ProjectRecord,
    TimeEntryRecord,
    hours_from_seconds,
    money,
    parse_datetime,
    utc,
)
from connectors.settings import Setting

BASE_URL = "https://api.harvestapp.com/v2"
INVOICE_STATUS = {"draft": "draft", "open": "issued", "paid": "paid", "closed": "void"}


def _iso_z(moment):
    return utc(moment).isoformat().replace("+00:00", "Z")


def time_entry_status(entry: dict) -> str:
    """opsview's approval state of a Harvest time entry."""
    if entry.get("is_closed") or entry.get("is_billed"):
        return "approved"
    if entry.get("is_locked"):
        return "submitted"
    return "draft"


# What Harvest takes to create a time entry (POST /v2/time_entries), as its published contract says;
# the contract's ``nullable`` fields allow null. tests/connectors check it still agrees.
TIME_ENTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": ["integer", "null"]},
        "project_id": {"type": ["integer", "null"]},
        "task_id": {"type": ["integer", "null"]},
        "spent_date": {"type": ["string", "null"], "format": "date"},
        "started_time": {"type": ["string", "null"]},
        "ended_time": {"type": ["string", "null"]},
        "notes": {"type": ["string", "null"]},
        "external_reference": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": ["string", "null"]},
                "group_id": {"type": ["string", "null"]},
                "account_id": {"type": ["string", "null"]},
                "permalink": {"type": ["string", "null"]},
            },
        },
        "hours": {"type": ["number", "null"]},
    },
    "required": ["project_id", "task_id", "spent_date"],
}
PAYLOAD_SCHEMAS = {"time_entry": TIME_ENTRY_SCHEMA}


class HarvestConnector(Connector):
    """One Harvest account, read with one access token.

    ``http_options`` go to ``HttpClient`` (timeout, sleep, clock, rng, transport).
    """

    system = "harvest"
    SETTINGS = (
        Setting(
            "access_token",
            "Personal access token",
            'Create one in Harvest at id.getharvest.com/developers ("Create new personal access token"), '
            "signed in as a user who sees every project and timesheet, e.g. an Administrator. Harvest shows the "
            'token once, as "Your Token".',
            secret=True,
        ),
        Setting(
            "account_id",
            "Account ID",
            'On the same developers page, under the token: "Account ID", the number of the Harvest account '
            "to read (a person can belong to several).",
            kind="integer",
            placeholder="424242",
        ),
        Setting(
            "base_url",
            "API address",
            f"Harvest's API v2. Leave it empty for {BASE_URL}; change it only for a proxy in between.",
            required=False,
            kind="url",
            default=BASE_URL,
            placeholder=BASE_URL,
        ),
    )

    @classmethod
    def payload_schema(cls, record_type):
        """The fields Harvest takes for ``record_type`` (a time entry), as JSON Schema; None for other types."""
        return PAYLOAD_SCHEMAS.get(record_type)

    def __init__(
        self,
        access_token: str,
        account_id: str,
        *,
        currency: str,
        user_agent: str = "opsview connector",
        base_url: str = BASE_URL,
        per_page: int = 100,
        overlap: timedelta = DEFAULT_OVERLAP,
        retry: RetryPolicy | None = None,
        http_options: dict | None = None,
    ):
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Harvest-Account-Id": str(account_id),
            "User-Agent": user_agent,
            "Accept": "application/json",
        }
        self.http = HttpClient(base_url, system=self.system, headers=headers, retry=retry, **(http_options or {}))
        self.currency = currency
        self.account_id = str(account_id)
        self.per_page = per_page
        self.overlap = overlap

    def _scan(self, resource, since_cursor):
        """One page of ``/resource`` updated since the cursor; the rows and the cursor after them."""
        state = decode_cursor(since_cursor)
        since, page, mark = state.get("since"), state.get("page", 1), state.get("mark")
        params = {"page": page, "per_page": self.per_page}
        if since:
            params["updated_since"] = _iso_z(parse_datetime(since))
        response = self.http.request("GET", f"/{resource}", params=params)
        if response.status_code != 200:
            raise error_for_status(self.system, response)
        body = response.json()
        rows = body[resource]
        for row in rows:
            mark = later(mark, parse_datetime(row.get("updated_at")))
        if body.get("next_page"):
            return rows, encode_cursor({"since": since, "page": body["next_page"], "mark": mark}), True
        return rows, encode_cursor({"since": next_since(mark, since, self.overlap)}), False

    def fetch_time_entries(self, since_cursor=None) -> Page:
        """Time entries updated since the cursor, with their approval state."""
        rows, cursor, more = self._scan("time_entries", since_cursor)
        return Page([self._time_entry(row) for row in rows], cursor, more)

    def _time_entry(self, row):
        status = time_entry_status(row)
        updated_at = parse_datetime(row.get("updated_at"))
        invoice = row.get("invoice") or {}
        return TimeEntryRecord(
            external_id=str(row["id"]),
            person=str(row["user"]["id"]),
            project=str(row["project"]["id"]),
            work_date=_date(row["spent_date"]),
            hours=money(row.get("hours") or 0),
            billable=bool(row.get("billable")),
            bill_rate=money(row.get("billable_rate") or 0),
            currency=self.currency,
            status=status,
            approved_at=updated_at if status == "approved" else None,
            invoice_reference=invoice.get("number") or "",
            updated_at=updated_at,
            raw=row,
        )

    def fetch_invoices(self, since_cursor=None) -> Page:
        """Invoices updated since the cursor."""
        rows, cursor, more = self._scan("invoices", since_cursor)
        records = []
        for row in rows:
            projects = {str(item["project"]["id"]) for item in row.get("line_items") or [] if item.get("project")}
            records.append(
                InvoiceRecord(
                    external_id=str(row["id"]),
                    number=row.get("number") or f"draft-{row['id']}",
                    client=str(row["client"]["id"]),
                    project=projects.pop() if len(projects) == 1 else None,
                    amount=money(row["amount"]),
                    currency=row["currency"],
                    status=INVOICE_STATUS[row["state"]],
                    issue_date=_date(row.get("issue_date")),
                    due_date=_date(row.get("due_date")),
                    paid_at=parse_datetime(row.get("paid_at")),
                    voided_at=parse_datetime(row.get("closed_at")) if row["state"] == "closed" else None,
                    updated_at=parse_datetime(row.get("updated_at")),
                    raw=row,
                )
            )
        return Page(records, cursor, more)

    def fetch_projects(self, since_cursor=None) -> Page:
        """Projects updated since the cursor."""
        rows, cursor, more = self._scan("projects", since_cursor)
        records = [
            ProjectRecord(
                external_id=str(row["id"]),
                name=row["name"],
                code=row.get("code") or "",
                client=str(row["client"]["id"]),
                is_billable=bool(row.get("is_billable")),
                is_active=bool(row.get("is_active")),
                updated_at=parse_datetime(row.get("updated_at")),
                raw=row,
            )
            for row in rows
        ]
        return Page(records, cursor, more)

    def fetch_clients(self, since_cursor=None) -> Page:
        """Clients updated since the cursor."""
        rows, cursor, more = self._scan("clients", since_cursor)
        records = [
            ClientRecord(
                external_id=str(row["id"]),
                name=row["name"],
                currency=row.get("currency") or None,
                updated_at=parse_datetime(row.get("updated_at")),
                raw=row,
            )
            for row in rows
        ]
        return Page(records, cursor, more)

    def fetch_people(self, since_cursor=None) -> Page:
        """Users updated since the cursor: the people who track time."""
        rows, cursor, more = self._scan("users", since_cursor)
        records = [
            PersonRecord(
                external_id=str(row["id"]),
                name=" ".join(p for p in (row.get("first_name"), row.get("last_name")) if p),
                email=row.get("email") or "",
                weekly_capacity_hours=(
                    hours_from_seconds(row["weekly_capacity"]) if row.get("weekly_capacity") is not None else None
                ),
                is_active=bool(row.get("is_active", True)),
                updated_at=parse_datetime(row.get("updated_at")),
                raw=row,
            )
            for row in rows
        ]
        return Page(records, cursor, more)

    def check(self) -> str:
        """Ask Harvest who the token belongs to (``GET /users/me``): e.g. "Harvest account 424242, user Bob Powell
        (bob@example.com)"; ``AuthenticationFailed`` when Harvest refuses the token or account id."""
        response = self.http.request("GET", "/users/me")
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"Harvest refused the access token or account id {self.account_id} ({response.status_code})",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_for_status(self.system, response)
        user = response.json()
        name = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip() or f"id {user.get('id')}"
        email = f" ({user['email']})" if user.get("email") else ""
        return f"Harvest account {self.account_id}, user {name}{email}"

    def close(self):
        """Close the HTTP client."""
        self.http.close()


def _date(value):
    return date.fromisoformat(value) if value else None
