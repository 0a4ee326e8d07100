"""Xero's identity service and the Accounting API's ``GET /Organisation`` on a real local HTTP server.

The token endpoint follows Xero's published OAuth 2.0 contract: the client authenticates with HTTP
Basic; ``authorization_code`` takes a code once, for the redirect URL it was issued for;
``refresh_token`` rotates: the refresh token used stops working, a revoked or spent one gets 400
``invalid_grant``. ``GET /connections`` lists the tenants an access token opens. ``/Organisation``
answers Xero's published example (validated against ../shared/contracts/xero/xero_accounting.yaml)
to a live access token only, and records requests the contract does not allow.
"""

import base64
import copy
import itertools
import threading
from urllib.parse import parse_qs

from tests.connectors.contracts import contract
from tests.connectors.localserver import Reply

CLIENT_ID, CLIENT_SECRET = "XERO-APP-CLIENT-ID-1234", "xero-app-client-secret-5678"
REFUSED = "Token has been expired or revoked."


class XeroIdentity:
    """The double; ``refreshes`` lists the refresh tokens presented, ``organisation_tokens`` the access tokens."""

    def __init__(self, server, tenants=(("b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b", "Northwind Ltd"),)):
        self.url = server.url
        self.token_url = f"{server.url}/connect/token"
        self.connections_url = f"{server.url}/connections"
        self.accounting_url = f"{server.url}/api.xro/2.0"
        self.tenants = list(tenants)
        self.codes = {}  # code -> redirect_uri
        self.live_refresh, self.live_access = set(), set()
        self.refreshes, self.organisation_tokens, self.problems = [], [], []
        self.refresh_delay = 0.0
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.accounting = contract("xero/xero_accounting.yaml")
        server.handler = self

    def issue_code(self, redirect_uri):
        """What Xero's consent page hands the browser: a code for ``redirect_uri``."""
        code = f"code-{next(self._numbers)}"
        self.codes[code] = redirect_uri
        return code

    def grant(self):
        """A fresh token pair, as if a consent or refresh had issued it (for setting up a connected system)."""
        with self._lock:
            return self._issue()

    def _issue(self):
        n = next(self._numbers)
        access, refresh = f"xero-access-{n:04d}-secret", f"xero-refresh-{n:04d}-secret"
        self.live_access.add(access)
        self.live_refresh.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "expires_in": 1800, "token_type": "Bearer"}

    def revoke_all(self):
        """The organisation's admin disconnected the app in Xero."""
        self.live_refresh.clear()
        self.live_access.clear()

    def __call__(self, seen):
        if seen.path == "/connect/token" and seen.method == "POST":
            return self._token(seen)
        if seen.path == "/connections" and seen.method == "GET":
            if self._bearer(seen) not in self.live_access:
                return Reply(401, {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"})
            return Reply(
                200,
                [
                    {"id": f"conn-{i}", "tenantId": tid, "tenantType": "ORGANISATION", "tenantName": name}
                    for i, (tid, name) in enumerate(self.tenants)
                ],
            )
        if seen.path == "/api.xro/2.0/Organisation":
            self.problems += self.accounting.request_problems("/Organisation", "get", seen, ("Authorization",))
            token = self._bearer(seen)
            self.organisation_tokens.append(token)
            if token not in self.live_access:
                return Reply(401, {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"})
            body = copy.deepcopy(self.accounting.example("/Organisation"))
            self.accounting.validate_response("/Organisation", "get", body)
            return Reply(200, body)
        return Reply(404, {"error": "not found"})

    @staticmethod
    def _bearer(seen):
        return (seen.headers.get("Authorization") or "").removeprefix("Bearer ")

    def _token(self, seen):
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if seen.headers.get("Authorization") != f"Basic {expected}":
            return Reply(400, {"error": "invalid_client"})
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        with self._lock:
            if form.get("grant_type") == "authorization_code":
                redirect_uri = self.codes.pop(form.get("code"), None)
                if redirect_uri is None or redirect_uri != form.get("redirect_uri"):
                    return Reply(400, {"error": "invalid_grant"})
                return Reply(200, self._issue())
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token")
                self.refreshes.append(token)
                if token not in self.live_refresh:
                    return Reply(400, {"error": "invalid_grant", "error_description": REFUSED})
                self.live_refresh.discard(token)  # rotation: the one used stops working
                return Reply(200, self._issue(), delay=self.refresh_delay)
        return Reply(400, {"error": "unsupported_grant_type"})
