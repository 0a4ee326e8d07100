"""Every page a signed-in admin can open, and every form they can send, fuzzed with hostile input: never a 5xx.

Query parameters get the names the pages read; values are text of any kind, digits beyond any column,
dates at and past the calendar's ends, NUL bytes and very long strings. Forms start from a valid filling of
their own fields and have some or all of them replaced by the same values. Generation is derandomized, so CI
tries the same inputs on every run.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsview.queues import sync_failures
from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent, SyncRun

FUZZ = settings(
    max_examples=10, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

# Every name a page reads from its query string (grep request.GET, the scope and queue filters).
QUERY_NAMES = (
    "period",
    "start",
    "end",
    "client",
    "project",
    "manager",
    "system",
    "workspace",
    "page",
    "kind",
    "assignee",
    "status",
    "age",
    "past_sla",
    "q",
    "sort",
    "view",
    "state",
    "lag",
    "outcome",
    "target",
    "day",
    "show",
    "batch",
    "actor",
    "action",
    "since",
    "until",
    "next",
)

EDGE_VALUES = (
    "",
    " ",
    "0",
    "-1",
    "1",
    "9" * 19,
    "9" * 30,
    "-" + "9" * 30,
    "1e309",
    "NaN",
    "Infinity",
    "0x10",
    "²",
    "١٢",
    "0001-01-01",
    "9999-12-31",
    "1899-12-31",
    "2201-01-01",
    "1900-01-01",
    "2200-12-31",
    "2026-02-30",
    "0000-00-00",
    "99999-01-01",
    "2026-11-23T09:30:00",
    "\x00",
    "a\x00b",
    "\ud7ff\ufffd",
    "🧾",
    "%00",
    "../..",
    "x" * 5000,
    "<script>",
    "' OR 1=1 --",
    "today",
    "last-30-days",
    "this-month",
    "oldest",
    "failed",
    "true",
)
VALUE = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.dates().map(str),
)
QUERY = st.fixed_dictionaries({}, optional={name: VALUE for name in QUERY_NAMES})

# Pages that are not for this sweep: leaving the session, and files (the logo) or endpoints the API fuzz covers.
SKIPPED = {"logout", "workspace-logo", "api-schema", "api-docs"}


def forms_of(nw, item):
    """Per form, a valid filling: each example replaces some of its fields (or all, from nothing) with fuzz,
    so the fuzz reaches the code behind the form's first check as well."""
    system = {
        "name": "Billing",
        "slug": "billing",
        "kind": "billing",
        "vendor": "webhook",
        "is_active": "on",
        "setting_url": "https://hooks.example.com/opsview",
        "setting_secret": "whsec-fuzz",
        "poll_minutes": "15",
        "connector_settings": "{}",
        "credentials": "",
    }
    return {
        "queue-act": {
            "action": "comment",
            "quick": "",
            "one": item.pk,
            "group": "",
            "ids": "",
            "note": "checked",
            "assignee": "",
            "resolution": "fixed_at_source",
            "until": "2026-12-24",
            "body": "Asked AP",
            "next": "/queues/",
        },
        "queue-save-view": {"name": "Mine", "query": "?kind=sync_error&sort=oldest"},
        "queue-settings": {
            "kind": "sync_error",
            "sync_error-threshold_days": "3",
            "sync_error-sla_hours": "24",
            "sync_error-fix_guide": "Ask the ERP team",
            "masked_fields": "password",
        },
        "queue-masked-fields": {"kind": "masked_fields", "masked_fields": "password\napi_key"},
        "queue-group-guide": {"fix_guide": "Reopen the period, then replay."},
        "queue-group-map": {"target_value": "P-100"},
        "replay-request": {"one": item.pk, "group": "", "ids": item.pk, "confirm_count": "1", "selection": ""},
        "replay-edit": {"payload": '{"hours": "7.5"}', "then": "save"},
        "replay-map-group": {"target_value": "P-100", "then": "save"},
        "systems": system,
        "system-edit": {**system, "slug": "tryton", "kind": "erp"},
        "tokens": {"system": nw.harvest.pk, "name": "nightly job"},
        "system-token": {"token-name": "nightly job"},
        "branding": {"name": "Northwind", "accent_color": "#1f6feb", "remove_logo": ""},
        "switch-workspace": {"workspace": nw.workspace.pk, "next": "/"},
    }


# Forms that post to another form's page.
FORM_PAGES = {"queue-masked-fields": "queue-settings"}
FORM_NAMES = (
    "branding",
    "queue-act",
    "queue-group-guide",
    "queue-group-map",
    "queue-masked-fields",
    "queue-save-view",
    "queue-settings",
    "replay-edit",
    "replay-map-group",
    "replay-request",
    "switch-workspace",
    "system-edit",
    "system-token",
    "systems",
    "tokens",
)


def with_edges(names, argument):
    """Hypothesis tries each edge value in every field at once first, then its own mixes."""

    def decorate(test):
        for value in EDGE_VALUES:
            test = example(**{argument: dict.fromkeys(names, value)})(test)
        return test

    return decorate


# The nastiest value of each class, put alone into each field of a valid form.
FIELD_EDGES = ("a\x00b", "x" * 5000, "9" * 30, "²", "9999-12-31")


def one_field_at_a_time(valid):
    """Each field of a valid form alone replaced by each of FIELD_EDGES: the other fields let it get far."""

    def decorate(test):
        for field in valid:
            for value in FIELD_EDGES:
                test = example(data={**valid, field: value})(test)
        return test

    return decorate


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern)


ROUTES = dict(walk(get_resolver().url_patterns))
PAGES = sorted(
    name for name, route in ROUTES.items() if not route.startswith(("api/", "static")) and name not in SKIPPED
)


@pytest.fixture
def objects(northwind, ada):
    """Ids of Northwind's own objects, so pages with an id show a real one."""
    SyncRun.objects.create(
        workspace=northwind.workspace,
        reported_by=northwind.harvest,
        flow="time_to_erp",
        source_system=northwind.harvest,
        target_system=northwind.erp,
    )
    sync_failures.on_sync_events(northwind.workspace, list(SyncEvent.objects.for_workspace(northwind.workspace)))
    item = ExceptionItem.objects.for_workspace(northwind.workspace).get()
    run = SyncRun.objects.for_workspace(northwind.workspace).first()
    return {
        "forms": forms_of(northwind, item),
        "sync-run": run.pk,
        "queue-item": item.pk,
        "queue-group": item.group_id,
        "queue-group-guide": item.group_id,
        "queue-group-map": item.group_id,
        "replay-map-group": item.group_id,
        "replay-edit": item.pk,
        "replay-status": item.pk,
        "project-billing": northwind.managed_project.pk,
        "system-edit": northwind.erp.pk,
        "system-test": northwind.erp.pk,
        "system-token": northwind.erp.pk,
        "system-first-data": northwind.erp.pk,
        "system-pull": northwind.erp.pk,
        "revoke-token": northwind.token.pk,
        "queue-delete-view": 10**6,
        "chart-csv": "aging",
        "password_reset_confirm": ("MQ", "set-password"),
    }


def path_of(name, objects):
    name = FORM_PAGES.get(name, name)
    values = objects.get(name)
    values = list(values) if isinstance(values, tuple) else [values]
    return "/" + re.sub(r"<(?:\w+:)?\w+>", lambda _: str(values.pop(0)), ROUTES[name])


def no_server_error(response, what):
    assert response.status_code < 500, f"{what} answered {response.status_code}"


@pytest.mark.parametrize("name", PAGES)
def test_no_page_answers_5xx_to_any_query(name, client, ada, objects):
    client.force_login(ada)
    path = path_of(name, objects)

    @FUZZ
    @with_edges(QUERY_NAMES, "query")
    @given(query=QUERY)
    def fuzz(query):
        no_server_error(client.get(path, query), f"GET {path} {query!r}")

    fuzz()


@pytest.mark.parametrize("name", FORM_NAMES)
def test_no_form_answers_5xx_to_any_field(name, client, ada, objects):
    client.force_login(ada)
    path = path_of(name, objects)
    valid = objects["forms"][name]
    fuzzed = st.fixed_dictionaries({}, optional={field: VALUE for field in valid})
    filled = st.one_of(fuzzed, fuzzed.map(lambda changes: {**valid, **changes}))

    @FUZZ
    @with_edges(valid, "data")
    @one_field_at_a_time(valid)
    @given(data=filled)
    def fuzz(data):
        no_server_error(client.post(path, data), f"POST {path} {data!r}")
        client.force_login(ada)  # a switch of workspace or a sign-out must not end the sweep

    fuzz()
