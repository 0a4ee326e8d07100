"""Every operation of the API, fuzzed against the app's own OpenAPI schema: no 5xx, and every answer as declared.

The schema is what /api/schema/ serves; the requests reach the app in-process (WSGI) with Northwind's real
integration token, and with Olivia's personal token for the operations and KPI APIs (her session too). A run,
events, states and exceptions exist beforehand, so the operations on ids meet real rows as well as made-up
ones. Generation is derandomized: CI fuzzes the same inputs on every run.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from opsview.accounts.tokens import issue_personal_token
from opsview.queues import sync_failures
from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent, SyncRun

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The ids of a run, an exception and its group that exist in the test's database, set by the fixture before
# any case is drawn.
SEEDED = {}
# Operations for people (a personal token), not for integration jobs.
PEOPLES = ("operations", "kpis")


def seeded_id(path):
    if path.startswith("/api/v1/exceptions/"):
        return SEEDED["exception"]
    return SEEDED["group"] if path.startswith("/api/v1/groups/") else SEEDED["run"]


@schema.hook
def before_generate_path_parameters(context, strategy):
    """Half the ids name a seeded row, so the operations on one run, exception or group act on a real one too."""
    if "{id}" not in context.operation.path:
        return strategy
    return st.one_of(strategy, st.just(None).map(lambda _: {"id": seeded_id(context.operation.path)}))


@pytest.fixture
def seeded(northwind, settings):
    # The ingest rate limit is tested on its own; here it would only make the answers depend on speed.
    settings.INGEST_RATE = ""
    SEEDED["run"] = SyncRun.objects.create(
        workspace=northwind.workspace,
        reported_by=northwind.harvest,
        flow="time_to_erp",
        source_system=northwind.harvest,
        target_system=northwind.erp,
        external_id="job-7",
    ).pk
    sync_failures.on_sync_events(northwind.workspace, list(SyncEvent.objects.for_workspace(northwind.workspace)))
    item = ExceptionItem.objects.for_workspace(northwind.workspace).get()
    SEEDED["exception"], SEEDED["group"] = item.pk, item.group_id
    # The requests run inside the test's transaction: the WSGI handler must not close the connection
    # between requests, as Django's own test client arranges too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(seeded, northwind, olivia):
    """The integration token's header for the ingest API, Olivia's personal token for the people's APIs;
    her session cookie with either (the operations' POSTs then need no CSRF token)."""
    browser = Client()
    browser.force_login(olivia)
    _, personal = issue_personal_token(olivia, "fuzzing")
    return {
        "integration": {"Authorization": f"Bearer {northwind.raw_token}"},
        "personal": {"Authorization": f"Bearer {personal}"},
        "cookies": {"sessionid": browser.cookies["sessionid"].value},
    }


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx_or_off_schema(case, credentials):
    whose = "personal" if set(case.operation.tags or ()) & set(PEOPLES) else "integration"
    case.call_and_validate(checks=CHECKS, headers=credentials[whose], cookies=credentials["cookies"])
