"""Xero: accounting invoices (Accounting API) and projects with their time entries (Projects API).

Every call carries ``Authorization: Bearer <access token>`` and ``Xero-Tenant-Id``.
Xero access tokens live 30 minutes. Connected with OAuth 2.0 (``connectors.xero_oauth``),
the connector is given the client id and secret, the refresh token, the access token and
its expiry, and keeps the token fresh itself: it refreshes before expiry and hands the rotated
tokens to ``on_tokens``, the app's custodian that stores them. A fixed ``access_token``
(a string, or a callable read for each call) still works without any of that.

What Xero lets us fetch incrementally differs by API:

- invoices: ``If-Modified-Since`` with pages of up to ``page_size``, in
  ``UpdatedDateUTC`` order; the cursor moves like every other connector's;
- contacts (clients): like invoices, archived ones included;
- projects and project users (people): no change filter, so every poll reads them
  all (they are few), stamped with the time they were read;
- time entries: per project, with no change filter either; a scan walks every
  project's entries whose work date is after a rolling window (``time_window``,
  default 62 days before the scan; the first scan reads all). Entries have no update
  time, so ``updated_at`` is when we read them: the app takes the latest reading.

Sending (replays): an invoice is created with ``PUT /Invoices`` carrying the
``Idempotency-Key`` header; a sales invoice (ACCREC, the only type whose ``Reference`` the
contract allows) without a reference of its own gets the key as its reference, so
``lookup`` can later ask Xero whether a send took effect.

Mapping: Xero Projects has no approval step, so an entry is ``approved`` when
entered; an ``INVOICED`` entry carries the invoice reference ``INVOICED`` (Xero does
not say which). Invoices: DRAFT and SUBMITTED -> draft, AUTHORISED -> posted (it is
in the ledger), PAID -> paid, VOIDED and DELETED -> void.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from connectors.base import DEFAULT_OVERLAP, Connector, decode_cursor, encode_cursor, later, next_since
from connectors.errors import AuthenticationFailed, ConnectorError
from connectors.http import HttpClient, RetryPolicy, error_for_status
from connectors.records import (
    ClientRecord,
    InvoiceRecord,
    Page,
    PersonRecord,
    ProjectRecord,
    SendResult,
    TimeEntryRecord,
    money,
    parse_datetime,
    utc,
)
from connectors.settings import Setting
from connectors.xero_oauth import REFRESH_MARGIN, TOKEN_URL, TokenKeeper, Tokens, parse_expiry
from connectors.xero_schemas import INVOICE_SCHEMA, PAYLOAD_SCHEMAS

ACCOUNTING_URL = "https://api.xero.com/api.xro/2.0"
PROJECTS_URL = "https://api.xero.com/projects.xro/2.0"
INVOICE_STATUS = {
    "DRAFT": "draft",
    "SUBMITTED": "draft",
    "AUTHORISED": "posted",
    "PAID": "paid",
    "VOIDED": "void",
    "DELETED": "void",
}
INVOICED = "INVOICED"
IDEMPOTENCY_HEADER = "Idempotency-Key"

MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_xero_datetime(value: str | None) -> datetime | None:
    """A Xero date: ``/Date(1539993600000+0000)/`` (milliseconds since the epoch) or ISO 8601; None stays None."""
    if not value:
        return None
    match = MS_DATE.fullmatch(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    return parse_datetime(value)


class _BearerAuth(httpx.Auth):
    def __init__(self, token, tenant_id):
        self.token, self.tenant_id = token, tenant_id

    def auth_flow(self, request):
        token = self.token() if callable(self.token) else self.token
        request.headers["Authorization"] = f"Bearer {token}"
        request.headers["Xero-Tenant-Id"] = self.tenant_id
        yield request


class XeroConnector(Connector):
    """One Xero organisation (tenant).

    ``http_options`` go to ``HttpClient`` (timeout, sleep, clock, rng, transport);
    ``clock`` gives the time that rolls the time-entry window and stamps readings.
    """

    system = "xero"
    send_types = frozenset({"invoice"})
    # What a person fills in; the tokens come from "Connect to Xero" (the OAuth flow) and are stored
    # by the app as credentials, never typed.
    SETTINGS = (
        Setting(
            "client_id",
            "Client id",
            "From your app at developer.xero.com (Configuration). Then press Connect to Xero.",
        ),
        Setting("client_secret", "Client secret", "Generated for your app at developer.xero.com.", secret=True),
        Setting(
            "tenant_id",
            "Tenant id",
            "The Xero organisation, filled in by Connect to Xero.",
            required=False,
        ),
    )

    @classmethod
    def payload_schema(cls, record_type):
        """The fields Xero takes for ``record_type`` (an invoice or a time entry), as JSON Schema; else None."""
        return PAYLOAD_SCHEMAS.get(record_type)

    def __init__(
        self,
        access_token: str | Callable[[], str] | None = None,
        tenant_id: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        expires_at: str | datetime | None = None,
        on_tokens: Callable | None = None,
        token_url: str = TOKEN_URL,
        refresh_margin: timedelta = REFRESH_MARGIN,
        accounting_url: str = ACCOUNTING_URL,
        projects_url: str = PROJECTS_URL,
        page_size: int = 100,
        overlap: timedelta = DEFAULT_OVERLAP,
        time_window: timedelta = timedelta(days=62),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
        http_options: dict | None = None,
    ):
        if not tenant_id:
            raise ValueError("no Xero organisation (tenant_id) yet: press Connect to Xero on the system page")
        self.keeper = None
        if refresh_token:
            if not client_id or not client_secret:
                raise ValueError("a Xero refresh token needs the app's client_id and client_secret")
            held = Tokens(
                access_token if isinstance(access_token, str) else "",
                refresh_token,
                parse_expiry({"expires_at": expires_at}),
            )
            self.keeper = TokenKeeper(
                held,
                client_id,
                client_secret,
                on_tokens=on_tokens,
                token_url=token_url,
                margin=refresh_margin,
                clock=clock,
                http_options=http_options,
            )
            access_token = self.keeper
        elif not access_token:
            raise ValueError("Xero is not connected: press Connect to Xero on the system page")
        auth = _BearerAuth(access_token, tenant_id)
        headers = {"Accept": "application/json"}
        self.http = HttpClient(system=self.system, auth=auth, headers=headers, retry=retry, **(http_options or {}))
        self.accounting_url, self.projects_url = accounting_url.rstrip("/"), projects_url.rstrip("/")
        self.page_size, self.overlap, self.time_window, self.clock = page_size, overlap, time_window, clock
        self._tasks, self._scan_projects = {}, {}

    def _get(self, url, params=None, headers=None):
        response = self.http.request("GET", url, params=params, headers=headers)
        if response.status_code != 200:
            raise error_for_status(self.system, response)
        return response.json()

    def check(self) -> str:
        """Ask Xero for the organisation the token and tenant id open (``GET /Organisation``): e.g.
        "Xero organisation Demo Company (NZ), base currency NZD"; ``AuthenticationFailed`` when Xero refuses."""
        response = self.http.request("GET", f"{self.accounting_url}/Organisation")
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"Xero refused the access token or tenant id ({response.status_code})", status=response.status_code
            )
        if response.status_code != 200:
            raise error_for_status(self.system, response)
        organisations = response.json().get("Organisations") or []
        if not organisations:
            raise ConnectorError("no_organisation", "Xero answered, but with no organisation for this tenant id")
        org = organisations[0]
        return f"Xero organisation {org.get('Name') or '(unnamed)'}, base currency {org.get('BaseCurrency') or '?'}"

    # -- invoices ---------------------------------------------------------------------------

    def _modified_page(self, resource, since_cursor, params, make):
        """One page of an Accounting API list in ``UpdatedDateUTC`` order, changed since the cursor."""
        state = decode_cursor(since_cursor)
        since, page, mark = state.get("since"), state.get("page", 1), state.get("mark")
        headers = {"If-Modified-Since": since} if since else None
        params = {**params, "page": page, "pageSize": self.page_size, "order": "UpdatedDateUTC ASC"}
        rows = self._get(f"{self.accounting_url}/{resource}", params, headers).get(resource) or []
        records = [make(row) for row in rows]
        for record in records:
            mark = later(mark, record.updated_at)
        if len(rows) == self.page_size:
            return Page(records, encode_cursor({"since": since, "page": page + 1, "mark": mark}), True)
        return Page(records, encode_cursor({"since": next_since(mark, since, self.overlap)}), False)

    def fetch_invoices(self, since_cursor=None) -> Page:
        """Sales invoices (ACCREC) created or changed since the cursor."""
        return self._modified_page("Invoices", since_cursor, {"where": 'Type=="ACCREC"'}, self._invoice)

    def _invoice(self, row):
        status = INVOICE_STATUS[row["Status"]]
        updated_at = parse_xero_datetime(row.get("UpdatedDateUTC"))
        return InvoiceRecord(
            external_id=row["InvoiceID"],
            number=row.get("InvoiceNumber") or f"draft-{row['InvoiceID'][:8]}",
            client=row["Contact"]["ContactID"],
            amount=money(row.get("Total") or 0),
            currency=row["CurrencyCode"],
            status=status,
            issue_date=_day(row.get("Date")),
            due_date=_day(row.get("DueDate")),
            paid_at=parse_xero_datetime(row.get("FullyPaidOnDate")),
            voided_at=updated_at if status == "void" else None,
            updated_at=updated_at,
            raw=row,
        )

    # -- contacts -------------------------------------------------------------------------

    def fetch_clients(self, since_cursor=None) -> Page:
        """Contacts (the clients invoices and projects name) created or changed since the cursor."""
        return self._modified_page("Contacts", since_cursor, {"includeArchived": "true"}, self._contact)

    def _contact(self, row):
        return ClientRecord(
            external_id=row["ContactID"],
            name=row.get("Name") or row["ContactID"],
            currency=row.get("DefaultCurrency") or None,
            updated_at=parse_xero_datetime(row.get("UpdatedDateUTC")),
            raw=row,
        )

    # -- projects ---------------------------------------------------------------------------

    def _projects_page(self, page, resource="Projects"):
        body = self._get(f"{self.projects_url}/{resource}", {"page": page, "pageSize": self.page_size})
        return body.get("items") or [], page < ((body.get("pagination") or {}).get("pageCount") or 1)

    def fetch_people(self, since_cursor=None) -> Page:
        """All project users, a page at a time (Xero has no change filter for them)."""
        page = decode_cursor(since_cursor).get("page", 1)
        rows, more = self._projects_page(page, "ProjectsUsers")
        observed = self.clock()
        records = [
            PersonRecord(
                external_id=row["userId"],
                name=row.get("name") or "",
                email=row.get("email") or "",
                updated_at=observed,
                raw=row,
            )
            for row in rows
        ]
        return Page(records, encode_cursor({"page": page + 1} if more else {}), more)

    def fetch_projects(self, since_cursor=None) -> Page:
        """All projects, a page at a time (Xero has no change filter for them)."""
        page = decode_cursor(since_cursor).get("page", 1)
        rows, more = self._projects_page(page)
        observed = self.clock()
        records = [
            ProjectRecord(
                external_id=row["projectId"],
                name=row["name"],
                client=row.get("contactId") or "",
                is_active=row.get("status") != "CLOSED",
                updated_at=observed,
                raw=row,
            )
            for row in rows
        ]
        return Page(records, encode_cursor({"page": page + 1} if more else {}), more)

    # -- time entries -----------------------------------------------------------------------

    def _project_tasks(self, project_id):
        if project_id not in self._tasks:
            body = self._get(f"{self.projects_url}/Projects/{project_id}/Tasks", {"page": 1, "pageSize": 500})
            self._tasks[project_id] = {t["taskId"]: t for t in body.get("items") or []}
        return self._tasks[project_id]

    def fetch_time_entries(self, since_cursor=None) -> Page:
        """One page of one project's time entries in the scan's window of work dates; see the module's notes."""
        state = decode_cursor(since_cursor)
        window = state.get("window")
        project_page, index, page = state.get("project_page", 1), state.get("index", 0), state.get("page", 1)
        if project_page not in self._scan_projects:  # read once per scan, not once per page
            self._scan_projects[project_page] = self._projects_page(project_page)
        projects, more_projects = self._scan_projects[project_page]
        next_window = (self.clock() - self.time_window).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        if index >= len(projects):
            self._scan_projects.clear()
            return Page([], encode_cursor({"window": state.get("next_window", next_window)}), False)
        project = projects[index]
        params = {"page": page, "pageSize": self.page_size}
        if window:
            params["dateAfterUtc"] = window
        body = self._get(f"{self.projects_url}/Projects/{project['projectId']}/Time", params)
        rows = body.get("items") or []
        tasks = self._project_tasks(project["projectId"]) if rows else {}
        observed = self.clock()
        records = [self._time_entry(row, project, tasks.get(row.get("taskId")) or {}, observed) for row in rows]
        scan = {"window": window, "next_window": state.get("next_window", next_window)}
        if page < ((body.get("pagination") or {}).get("pageCount") or 1):
            position = {"project_page": project_page, "index": index, "page": page + 1}
        elif index + 1 < len(projects):
            position = {"project_page": project_page, "index": index + 1}
        elif more_projects:
            position = {"project_page": project_page + 1, "index": 0}
        else:
            self._scan_projects.clear()
            return Page(records, encode_cursor({"window": scan["next_window"]}), False)
        return Page(records, encode_cursor({**scan, **position}), True)

    def _time_entry(self, row, project, task, observed):
        charge = task.get("chargeType")
        entered = parse_xero_datetime(row.get("dateEnteredUtc"))
        return TimeEntryRecord(
            external_id=row["timeEntryId"],
            person=row["userId"],
            project=row.get("projectId") or project["projectId"],
            work_date=parse_xero_datetime(row["dateUtc"]).date(),
            hours=money((row.get("duration") or 0) / 60),
            billable=charge != "NON_CHARGEABLE",
            bill_rate=money((task.get("rate") or {}).get("value") or 0) if charge == "TIME" else money(0),
            currency=project.get("currencyCode") or (task.get("rate") or {}).get("currency") or "",
            status="approved",
            approved_at=entered,
            invoice_reference=INVOICED if row.get("status") == INVOICED else "",
            updated_at=utc(observed),
            raw=row,
        )

    # -- sending --------------------------------------------------------------------------

    def send(self, record_type, payload, idempotency_key) -> SendResult:
        """Create the invoice in ``payload`` (Xero's own Invoice fields) once: see the module's notes.

        Fields Xero does not take for an invoice (e.g. opsview's ``external_id``) are left out.
        A refusal carries Xero's validation messages.
        """
        if record_type not in self.send_types:
            return SendResult.failure("unsupported_record_type", f"xero takes {sorted(self.send_types)} only")
        invoice = {k: v for k, v in (payload or {}).items() if k in INVOICE_SCHEMA["properties"]}
        if invoice.get("Type", "ACCREC") == "ACCREC" and not invoice.get("Reference"):
            invoice["Reference"] = idempotency_key
        try:
            response = self.http.request(
                "PUT",
                f"{self.accounting_url}/Invoices",
                json={"Invoices": [invoice]},
                headers={IDEMPOTENCY_HEADER: idempotency_key},
                idempotent=True,
            )
        except ConnectorError as error:
            return SendResult.failure(error.code, error.message, retryable=error.retryable)
        if response.status_code == 400:
            return SendResult.failure("validation_error", _validation_messages(response), detail=_json(response))
        if response.status_code != 200:
            error = error_for_status(self.system, response)
            return SendResult.failure(error.code, error.message, retryable=error.retryable)
        created = (_json(response).get("Invoices") or [{}])[0]
        if created.get("HasErrors"):
            messages = "; ".join(e.get("Message", "") for e in created.get("ValidationErrors") or [])
            return SendResult.failure("validation_error", messages or "xero refused the invoice", detail=created)
        detail = {"status": created.get("Status"), "number": created.get("InvoiceNumber")}
        return SendResult(True, created.get("InvoiceID") or "", detail=detail)

    def lookup(self, record_type, key):
        """The sales invoice whose reference is ``key`` (see ``send``), or None."""
        if record_type != "invoice":
            return super().lookup(record_type, key)
        rows = self._get(f"{self.accounting_url}/Invoices", {"where": f'Reference=="{key}"'}).get("Invoices") or []
        return self._read(rows[0]) if rows else None

    def read_back(self, record_type, external_id):
        """The invoice as Xero holds it now (``state`` is Xero's own status), or None if there is none."""
        if record_type != "invoice":
            return super().read_back(record_type, external_id)
        rows = self._get(f"{self.accounting_url}/Invoices/{external_id}").get("Invoices") or []
        return self._read(rows[0]) if rows else None

    def _read(self, row):
        return {**self._invoice(row).as_ingest(), "state": row.get("Status")}

    def close(self):
        """Close the HTTP client."""
        self.http.close()


def _json(response):
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _validation_messages(response):
    """Xero's validation messages in a 400 answer, joined; its summary message when it gives no detail."""
    body = _json(response)
    messages = [
        error.get("Message", "")
        for element in body.get("Elements") or []
        for error in element.get("ValidationErrors") or []
    ]
    return "; ".join(m for m in messages if m) or body.get("Message") or f"xero answered 400: {response.text[:300]}"


def _day(value):
    moment = parse_xero_datetime(value)
    return moment.date() if moment else None
