"""Tryton's JSON-RPC: session login, typed values, and its errors as ``ConnectorError``.

The server answers at ``/<database>/rpc/``. ``common.db.login`` returns a user id and
a session key, sent afterwards as ``Authorization: Session base64(login:user_id:key)``.
Dates, datetimes, decimals and durations travel as ``{"__class__": ...}`` objects.
Errors come back with HTTP 200 and an ``error`` member: ``["UserError", [message,
description, domain]]``, ``["UserWarning", [name, message, description]]``, or a
server exception's text.
"""

import base64
import datetime as dt
import json
from decimal import Decimal

from connectors.errors import AuthenticationFailed, ConnectorError
from connectors.http import HttpClient, error_for_status


class TrytonError(ConnectorError):
    """Tryton refused a call; ``code`` is Tryton's error class (``UserError``, ``UserWarning``, ...)."""

    def __init__(self, code, message, *, warning_name=None, retryable=False):
        super().__init__(code, message, retryable=retryable)
        self.warning_name = warning_name


def _decode(obj):
    kind = obj.get("__class__")
    if kind == "datetime":
        return dt.datetime(
            obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"], obj["second"], obj["microsecond"]
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "bytes":
        return base64.decodebytes(obj["base64"].encode())
    return obj


def _encode(value):
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def dumps(payload) -> bytes:
    """Encode a JSON-RPC request the way Tryton reads it (naive UTC datetimes, typed decimals)."""
    return json.dumps(payload, default=_encode, separators=(",", ":")).encode()


def loads(content: bytes):
    """Decode a Tryton JSON-RPC answer into Python dates, datetimes (naive UTC), decimals and durations."""
    return json.loads(content, object_hook=_decode)


def error_from(error) -> TrytonError:
    """The ``TrytonError`` for a JSON-RPC ``error`` member."""
    if isinstance(error, list) and len(error) == 2 and isinstance(error[0], str) and isinstance(error[1], list):
        kind, args = error
        if kind == "UserError":
            message, description = (args + ["", ""])[:2]
            return TrytonError(kind, " ".join(p for p in (message, description) if p))
        if kind == "UserWarning":
            name, message, description = (args + ["", "", ""])[:3]
            return TrytonError(kind, " ".join(p for p in (message, description) if p), warning_name=name)
        if kind == "ConcurrencyException":
            return TrytonError(kind, str(args[0] if args else kind), retryable=True)
        return TrytonError(kind, " ".join(str(a) for a in args if a) or kind)
    if isinstance(error, list | tuple) and error:
        return TrytonError("server_error", str(error[0])[:1000], retryable=False)
    return TrytonError("server_error", str(error)[:1000])


class TrytonRPC:
    """A logged-in JSON-RPC session with one Tryton database; logs in again when the session expires."""

    def __init__(self, http: HttpClient, database: str, username: str, password: str):
        self.http = http
        self.path = f"/{database}/rpc/"
        self.database = database
        self.username = username
        self._password = password
        self._auth = None
        self.user_id = None
        self.context = {}
        self._ids = 0

    def login(self):
        """Open a session and load the user's preferences as the context of later calls."""
        result = self._post("common.db.login", [self.username, {"password": self._password}], auth=None)
        self.user_id, key = result[0], result[1]
        token = base64.b64encode(f"{self.username}:{self.user_id}:{key}".encode()).decode()
        self._auth = f"Session {token}"
        self.context = self._post("model.res.user.get_preferences", [True, {}], auth=self._auth)

    def call(self, method: str, *params, context: dict | None = None):
        """Call ``method`` (e.g. ``model.account.invoice.read``) with ``params`` and the session's context."""
        if self._auth is None:
            self.login()
        args = [*params, {**self.context, **(context or {})}]
        try:
            return self._post(method, args, auth=self._auth)
        except AuthenticationFailed:
            self.login()  # the session expired or is not fresh enough for this call
            return self._post(method, args, auth=self._auth)

    def _post(self, method, params, auth):
        self._ids += 1
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        body = dumps({"id": self._ids, "method": method, "params": params})
        response = self.http.request("POST", self.path, content=body, headers=headers, idempotent=True)
        if response.status_code == 401:
            raise AuthenticationFailed(f"tryton refused the session or login for {method}", status=401)
        if response.status_code == 403:
            raise ConnectorError("forbidden", f"tryton does not allow {method} for this user", status=403)
        if response.status_code != 200:
            raise error_for_status("tryton", response)
        answer = loads(response.content)
        if "error" in answer:
            raise error_from(answer["error"])
        return answer.get("result")
