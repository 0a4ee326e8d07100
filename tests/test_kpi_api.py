"""The KPI API: JSON for signed-in people, the dashboards' filters, scoped by role, in the OpenAPI schema."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from opsview.kpis.catalog import CATALOG
from opsview.kpis.forms import ScopeForm
from opsview.kpis.scope import PERIODS
from opsview.records.models import TimeEntry
from tests.conftest import signed_in

AGING = "/api/v1/kpis/unapproved-time-aging/"
PERIOD = {"start": "2026-11-01", "end": "2026-11-20"}


@pytest.fixture
def client():
    return APIClient()


def test_an_executive_gets_the_aging_in_numbers(client, northwind, erin):
    body = signed_in(client, erin).get(AGING, PERIOD).json()
    assert body["as_of"] == "2026-11-20"
    # Two entries of 7.5 h at 150 EUR, worked on 2 November: 18 days old on the 20th.
    bucket = {b["bucket"]: b for b in body["buckets"]}["15-30"]
    assert (bucket["entries"], bucket["hours"]) == (2, "15.00")
    assert bucket["value"] == [{"currency": "EUR", "amount": "2250.00"}]
    assert bucket["by_state"]["submitted"]["hours"] == "15.00"


def test_a_manager_gets_only_their_projects(client, northwind, max_manager):
    body = signed_in(client, max_manager).get(AGING, PERIOD).json()
    assert body["total"]["hours"] == "7.50"


def test_filters_narrow_the_figures(client, northwind, erin):
    body = signed_in(client, erin).get(AGING, {**PERIOD, "project": northwind.other_project.pk}).json()
    assert body["total"]["hours"] == "7.50"
    body = signed_in(client, erin).get(AGING, {"end": "2026-10-31"}).json()
    assert body["total"]["entries"] == 0


def test_amounts_stay_per_currency(client, northwind, erin):
    TimeEntry.objects.filter(project=northwind.other_project).update(currency="USD", bill_rate=Decimal("100"))
    body = signed_in(client, erin).get(AGING, PERIOD).json()
    assert body["total"]["value"] == [
        {"currency": "EUR", "amount": "1125.00"},
        {"currency": "USD", "amount": "750.00"},
    ]


def test_a_workspace_is_chosen_by_slug_among_the_users(client, northwind, contoso, erin, oscar):
    assert signed_in(client, erin).get(AGING, {"workspace": "northwind", **PERIOD}).status_code == 200
    response = signed_in(client, oscar).get(AGING, {"workspace": "northwind", **PERIOD})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found in this workspace."}


def test_a_foreign_filter_id_is_404(client, northwind, contoso, erin, max_manager):
    assert signed_in(client, erin).get(AGING, {"client": contoso.client.pk}).status_code == 404
    assert signed_in(client, max_manager).get(AGING, {"project": northwind.other_project.pk}).status_code == 404


def test_a_malformed_filter_says_what_is_wrong(client, northwind, erin):
    response = signed_in(client, erin).get(AGING, {"start": "2026-11-20", "end": "2026-11-01"})
    assert response.status_code == 400
    assert response.json()["detail"] == "start: must not be after end."


def test_only_people_signed_in_or_with_their_token_not_integration_tokens(client, northwind, api):
    assert client.get(AGING).status_code == 401  # ask for a token (WWW-Authenticate: Bearer)
    refused = api.get(AGING)
    assert refused.status_code == 403
    assert "An integration token (opv_…) only reports to the ingest API" in refused.json()["detail"]


def test_every_kpi_answers(client, northwind, erin):
    signed_in(client, erin)
    index = client.get("/api/v1/kpis/").json()
    assert [k["slug"] for k in index] == [k.slug for k in CATALOG]
    for kpi in index:
        response = client.get(kpi["url"], PERIOD)
        assert response.status_code == 200, kpi["slug"]
    assert client.get("/api/v1/kpis/billing-lag/", PERIOD).json()["median_days"] is None
    sync = client.get("/api/v1/kpis/sync-success-rate/", PERIOD).json()
    assert (sync["succeeded"], sync["failed"], sync["rate"]) == (0, 1, 0.0)
    assert sync["systems"][0]["system"] == "Tryton"


def test_the_index_states_each_definition(client, northwind, erin):
    index = {k["slug"]: k for k in signed_in(client, erin).get("/api/v1/kpis/").json()}
    assert index["dso"]["definition"] == (
        "Receivables ÷ billed revenue over the period × days in the period, per currency."
    )
    assert index["billing-lag"]["url"] == "/api/v1/kpis/billing-lag/"


def test_the_kpis_are_in_the_openapi_schema(client, northwind, erin):
    schema = signed_in(client, erin).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/kpis/unapproved-time-aging/"]["get"]
    assert operation["operationId"] == "kpi_unapproved_time_aging"
    assert "bucketed by days since the work date" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} >= {"workspace", "start", "end", "client", "project", "manager"}
    assert "/api/v1/kpis/sync-success-rate/" in schema["paths"]


def test_the_schema_documents_the_filters_as_the_form_defines_them(client, northwind, erin):
    schema = signed_in(client, erin).get("/api/schema/", {"format": "json"}).json()
    documented = {p["name"]: p for p in schema["paths"]["/api/v1/kpis/dso/"]["get"]["parameters"]}
    for name, field in ScopeForm.base_fields.items():
        assert documented[name]["description"] == field.help_text, name
    assert documented["period"]["schema"]["enum"] == sorted(PERIODS)
    assert documented["start"]["schema"] == {"type": "string", "format": "date"}
    assert documented["client"]["schema"]["type"] == "integer"
