"""Testing each system's connection: ``manage.py check_connections`` and the systems page's button.

Harvest and Xero are local servers that answer from the vendors' published contracts and refuse requests the
contracts do not allow; Tryton is the real trytond; a webhook receiver is a local server.
"""

import copy
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connectors.base import Connector
from connectors.tryton import TrytonConnector
from opsview.audit.models import AuditEntry
from opsview.systems.models import System
from opsview.systems.services import save_system
from tests.conftest import signed_in
from tests.connectors.contracts import contract
from tests.connectors.localserver import Reply

HARVEST_TOKEN, ACCOUNT = "hv-token-123", "424242"
HARVEST_HEADERS = ("Authorization", "Harvest-Account-Id", "User-Agent")
XERO_TOKEN, TENANT = "xero-access-token", "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"


class Vendors:
    """Harvest's ``GET /users/me`` and Xero's ``GET /Organisation`` as their contracts publish them."""

    def __init__(self, server):
        self.harvest, self.xero = contract("harvest/harvest-openapi.yaml"), contract("xero/xero_accounting.yaml")
        self.problems, self.webhook_status = [], 405
        server.handler = self

    def __call__(self, seen):
        if seen.path == "/v2/users/me":
            self.problems += self.harvest.request_problems("/users/me", "get", seen, HARVEST_HEADERS)
            if seen.headers.get("Authorization") != f"Bearer {HARVEST_TOKEN}":
                return Reply(401, {"error": "invalid_token", "error_description": "The access token is invalid"})
            body = copy.deepcopy(self.harvest.example("/users/me"))
            self.harvest.validate_response("/users/me", "get", body)
            return Reply(200, body)
        if seen.path == "/api.xro/2.0/Organisation":
            self.problems += self.xero.request_problems("/Organisation", "get", seen, ("Authorization",))
            if seen.headers.get("Authorization") != f"Bearer {XERO_TOKEN}":
                return Reply(401, {"Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"})
            body = copy.deepcopy(self.xero.example("/Organisation"))
            self.xero.validate_response("/Organisation", "get", body)
            return Reply(200, body)
        if seen.path == "/hooks/opsview":
            return Reply(self.webhook_status)
        return Reply(404, {"error": "not found"})


@pytest.fixture
def vendors(server):
    return Vendors(server)


def set_up(admin, system, vendor, settings, credentials):
    system.vendor = vendor
    system.connector_settings = settings
    return save_system(admin, system, credentials)


@pytest.fixture
def connected(northwind, ada, server, vendors):
    """Northwind's Harvest, a Xero and a webhook target, each set up against the local server; Tryton inactive."""
    harvest = set_up(
        ada,
        northwind.harvest,
        "harvest",
        {"account_id": ACCOUNT, "base_url": f"{server.url}/v2"},
        {"access_token": HARVEST_TOKEN},
    )
    xero_settings = {"tenant_id": TENANT, "accounting_url": f"{server.url}/api.xro/2.0"}
    xero = set_up(
        ada,
        System(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing"),
        "xero",
        xero_settings,
        {"access_token": XERO_TOKEN},
    )
    hook = set_up(
        ada,
        System(workspace=northwind.workspace, slug="middleware", name="Middleware", kind="other"),
        "webhook",
        {"url": f"{server.url}/hooks/opsview"},
        {"secret": "s3cret"},
    )
    System.objects.filter(pk=northwind.erp.pk).update(is_active=False)
    return {"harvest": harvest, "xero": xero, "middleware": hook}


def run(*args):
    """The command's lines and whether it exited 0."""
    out = StringIO()
    try:
        call_command("check_connections", *args, stdout=out)
    except CommandError as failed:
        return out.getvalue().splitlines(), str(failed)
    return out.getvalue().splitlines(), None


def test_every_active_system_is_tested_through_its_connector_and_remembered(connected, vendors):
    lines, failed = run("--workspace", "northwind")
    assert failed is None
    assert lines == [
        'system=harvest workspace=northwind ok=1 detail="Harvest account 424242, user Bob Powell '
        '(bobpowell@example.com)"',
        'system=middleware workspace=northwind ok=1 detail="webhook 127.0.0.1 answered HEAD with 405"',
        'system=xero workspace=northwind ok=1 detail="Xero organisation Dev Evangelist - Sid Test 3 (NZ-2016-02), '
        'base currency NZD"',
    ]
    assert vendors.problems == []
    for system in connected.values():
        system.refresh_from_db()
        assert system.connection_status == "ok" and system.connection_checked_at is not None
    assert AuditEntry.objects.filter(action="system.check_connection", actor_label="check_connections").count() == 3


def test_refused_credentials_fail_the_command_and_the_system(connected, vendors, ada):
    save_system(ada, connected["harvest"], {"access_token": "expired"})
    save_system(ada, connected["xero"], {"access_token": "expired"})
    vendors.webhook_status = 501

    lines, failed = run()
    assert failed == "3 of 3 systems are not ok."
    assert lines[0].startswith('system=harvest workspace=northwind ok=0 detail="authentication_failed: Harvest refused')
    assert lines[1] == (
        'system=middleware workspace=northwind ok=0 detail="http_501: webhook 127.0.0.1 answered HEAD '
        'with 501 Not Implemented"'
    )
    assert lines[2].startswith('system=xero workspace=northwind ok=0 detail="authentication_failed: Xero refused')
    harvest = System.objects.get(pk=connected["harvest"].pk)
    assert harvest.connection_status == "failing" and "Harvest refused" in harvest.connection_detail
    assert "expired" not in " ".join(lines)  # never a secret


def test_a_system_without_connector_settings_is_not_connected(northwind, connected):
    System.objects.filter(pk=northwind.erp.pk).update(is_active=True)
    lines, failed = run("--workspace", "northwind")
    assert 'system=tryton workspace=northwind ok=0 detail="not connected: no connector settings"' in lines
    assert failed == "1 of 4 systems are not ok."


def test_an_unknown_workspace_is_named(db):
    assert run("--workspace", "nowhere") == ([], "No workspace 'nowhere'.")


tryton_check = pytest.mark.skipif(
    TrytonConnector.check is Connector.check, reason="the Tryton connector cannot be checked on this branch yet"
)


@pytest.fixture
def tryton(northwind, ada, tryton_server):
    System.objects.filter(pk=northwind.harvest.pk).update(is_active=False)
    settings = {"url": tryton_server.url, "database": tryton_server.database, "username": "admin"}
    return set_up(ada, northwind.erp, "tryton", settings, {"password": tryton_server.password})


@pytest.mark.tryton
@tryton_check
def test_the_real_tryton_answers_with_its_version_database_and_user(tryton, tryton_server):
    lines, failed = run("--workspace", "northwind")
    assert failed is None
    [line] = lines
    assert line.startswith('system=tryton workspace=northwind ok=1 detail="Tryton ')
    assert f"database {tryton_server.database}, user admin" in line


@pytest.mark.tryton
@tryton_check
def test_the_real_tryton_refusing_the_password_fails_the_command(tryton, tryton_server, ada):
    save_system(ada, tryton, {"password": "not the password"})
    lines, failed = run("--workspace", "northwind")
    assert failed == "1 of 1 systems are not ok."
    [line] = lines
    assert line.startswith('system=tryton workspace=northwind ok=0 detail="')
    assert "not the password" not in line
    tryton.refresh_from_db()
    assert tryton.connection_status == "failing"


def test_the_systems_page_shows_each_connection_state_and_tests_on_request(client, northwind, ada, connected, vendors):
    signed_in(client, ada)
    System.objects.filter(pk=northwind.erp.pk).update(is_active=True)
    run("--workspace", "northwind")  # harvest, xero and the webhook connected; tryton not set up
    save_system(ada, connected["xero"], {"access_token": "revoked"})
    page = client.get("/settings/systems/").content.decode()
    assert 'data-connection="harvest"><span class="badge ok">Connected</span>' in page
    assert "Harvest account 424242, user Bob Powell" in page
    assert 'data-connection="tryton"><span class="badge untested">Not connected</span>' in page
    assert "set it up: no connector settings" in page
    assert page.count(">Test connection</button>") == 4

    response = client.post(f"/settings/systems/{connected['xero'].pk}/test/", follow=True)
    page = response.content.decode()
    assert "Xero could not be reached: authentication_failed: Xero refused the access token" in page
    assert 'data-connection="xero"><span class="badge failing">Failing</span>' in page
    assert "tested " in page
    entry = AuditEntry.objects.filter(action="system.check_connection", actor=ada).get()
    assert entry.after["connection_status"] == "failing"

    untested = System.objects.create(
        workspace=northwind.workspace,
        slug="psa",
        name="PSA",
        kind="psa",
        vendor="harvest",
        connector_settings={"account_id": "1"},
    )
    save_system(ada, untested, {"access_token": "t"})
    assert (
        'data-connection="psa"><span class="badge untested">Not tested</span>'
        in client.get("/settings/systems/").content.decode()
    )


def test_only_admins_test_connections_and_only_by_post(client, northwind, olivia, ada, connected):
    url = f"/settings/systems/{connected['harvest'].pk}/test/"
    assert signed_in(client, olivia).post(url).status_code == 403
    assert signed_in(client, ada).get(url).status_code == 405
    assert not AuditEntry.objects.filter(action="system.check_connection").exists()
