"""Personal API tokens: a person creates (shown once), lists and revokes their own; a token acts as its user,
with their firms and roles as they are at each request; the KPI API reads them, for BI tools."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from opsview.accounts.models import PersonalToken
from opsview.accounts.tokens import issue_personal_token
from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem, Status
from opsview.systems.models import hash_token
from opsview.workspaces.models import Membership
from opsview.workspaces.roles import Role
from tests.conftest import make_user, signed_in
from tests.queue_support import exceptions, failure, send

PAGE = "/account/tokens/"
EXCEPTIONS = "/api/v1/exceptions/"
ACTIONS = "/api/v1/exceptions/actions/"
KPIS = "/api/v1/kpis/"
AGING = "/api/v1/kpis/unapproved-time-aging/"


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def failures(api, northwind):
    send(api, failure("TE-1"), failure("TE-2"))
    return exceptions(northwind)


def test_a_person_creates_a_token_sees_it_once_and_it_is_stored_hashed(client, northwind, contoso, olivia):
    Membership.objects.create(user=olivia, workspace=contoso.workspace, role=Role.EXECUTIVE)
    response = signed_in(client, olivia).post(PAGE, {"name": "Power BI", "lifetime": "90"})

    raw = response.context["new_token"]
    assert raw.startswith("opp_") and raw.encode() in response.content
    assert b"It will not be shown again" in response.content
    token = PersonalToken.objects.get(key_hash=hash_token(raw))
    assert (token.user, token.name, raw.startswith(token.hint)) == (olivia, "Power BI", True)
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    listing = client.get(PAGE).content
    assert raw.encode() not in listing and token.hint.encode() in listing and b"Power BI" in listing
    # Audited in each firm the token reaches, so each firm's admins see it on their trail.
    entries = AuditEntry.objects.filter(action="token.issue", actor=olivia)
    assert sorted(e.workspace.slug for e in entries) == ["contoso", "northwind"]
    assert entries[0].after["name"] == "Power BI" and entries[0].after["kind"] == "personal"


def test_a_token_needs_a_name(client, northwind, olivia):
    response = signed_in(client, olivia).post(PAGE, {"name": "  ", "lifetime": ""})

    assert response.status_code == 400
    assert b"This field is required" in response.content or b"needs a name" in response.content
    assert not PersonalToken.objects.exists() and not AuditEntry.objects.exists()


def test_a_revoked_token_answers_401_at_once(client, northwind, olivia, failures):
    token, raw = issue_personal_token(olivia, "script")
    assert bearer(raw).get(EXCEPTIONS).status_code == 200

    response = signed_in(client, olivia).post(f"{PAGE}{token.pk}/revoke/", follow=True)

    assert b"revoked; requests using it now get 401" in response.content
    answer = bearer(raw).get(EXCEPTIONS)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    assert AuditEntry.objects.filter(action="token.revoke", actor=olivia, workspace=northwind.workspace).count() == 1


def test_nobody_else_revokes_or_sees_my_token(client, northwind, contoso, olivia, ada, oscar):
    token, raw = issue_personal_token(olivia, "olivia's script")
    for other in (ada, oscar):
        assert b"olivia's script" not in signed_in(client, other).get(PAGE).content
        assert client.post(f"{PAGE}{token.pk}/revoke/").status_code == 404
    assert PersonalToken.objects.get(pk=token.pk).revoked_at is None
    assert bearer(raw).get(EXCEPTIONS).status_code == 200


def test_an_expired_token_answers_401_saying_when_it_expired(northwind, olivia):
    token, raw = issue_personal_token(olivia, "short-lived", days=1)
    PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = bearer(raw).get(EXCEPTIONS)

    assert response.status_code == 401 and "expired on" in response.json()["detail"]


def test_unknown_tokens_and_deactivated_users_get_401(northwind, olivia):
    _, raw = issue_personal_token(olivia, "script")
    assert bearer(raw + "x").get(EXCEPTIONS).status_code == 401
    olivia.is_active = False
    olivia.save()

    response = bearer(raw).get(EXCEPTIONS)

    assert response.status_code == 401 and "deactivated" in response.json()["detail"]


def test_a_role_change_applies_to_the_next_call(northwind, olivia, failures):
    _, raw = issue_personal_token(olivia, "script")
    api = bearer(raw)
    first, second = failures.order_by("pk")
    assert api.post(ACTIONS, {"action": "claim", "ids": [first.pk]}, format="json").status_code == 200

    Membership.objects.filter(user=olivia).update(role=Role.EXECUTIVE)
    refused = api.post(ACTIONS, {"action": "claim", "ids": [second.pk]}, format="json")

    assert refused.status_code == 403 and "does not allow 'act'" in refused.json()["detail"]
    assert ExceptionItem.objects.get(pk=second.pk).assignee is None
    assert api.get(EXCEPTIONS).json()["count"] == 2  # an executive still reads

    Membership.objects.filter(user=olivia).delete()
    assert api.get(EXCEPTIONS).json()["count"] == 0
    assert api.get(f"{EXCEPTIONS}{first.pk}/").status_code == 404


def test_an_integration_token_cannot_act_as_a_person(api, northwind, failures):
    for response in (
        api.get(EXCEPTIONS),
        api.post(ACTIONS, {"action": "claim", "ids": [failures.first().pk]}, format="json"),
        api.get(KPIS),
        api.get(AGING),
    ):
        assert response.status_code == 403
        assert "personal token (opp_" in response.json()["detail"]
    assert not failures.filter(assignee__isnull=False).exists()


def test_a_personal_token_cannot_report_to_the_ingest_api(northwind, ada):
    _, raw = issue_personal_token(ada, "script")

    response = bearer(raw).post("/api/v1/sync-events/", {"items": [failure("TE-1")]}, format="json")

    assert response.status_code == 403 and "integration token (opv_" in response.json()["detail"]
    assert not ExceptionItem.objects.exists()


def test_a_bi_tool_reads_the_kpis_with_a_personal_token(northwind, erin):
    _, raw = issue_personal_token(erin, "Power BI")
    bi = bearer(raw)

    index = bi.get(KPIS)
    aging = bi.get(AGING, {"start": "2026-11-01", "end": "2026-11-20"})

    assert index.status_code == 200 and AGING in [k["url"] for k in index.json()]
    assert aging.status_code == 200
    bucket = {b["bucket"]: b for b in aging.json()["buckets"]}["15-30"]
    assert (bucket["entries"], bucket["hours"]) == (2, "15.00")


def test_a_managers_token_reads_their_projects_figures_only(northwind, max_manager):
    _, raw = issue_personal_token(max_manager, "Excel")

    body = bearer(raw).get(AGING, {"start": "2026-11-01", "end": "2026-11-20"}).json()

    assert body["total"]["hours"] == "7.50"


def test_a_token_of_several_firms_names_the_firm(northwind, contoso, erin):
    Membership.objects.create(user=erin, workspace=contoso.workspace, role=Role.EXECUTIVE)
    _, raw = issue_personal_token(erin, "Power BI")
    bi = bearer(raw)
    period = {"start": "2026-11-01", "end": "2026-11-20"}

    unnamed = bi.get(AGING, period)
    contoso_figures = bi.get(AGING, {**period, "workspace": "contoso"}).json()
    northwind_figures = bi.get(AGING, {**period, "workspace": "northwind"}).json()

    assert unnamed.status_code == 400 and "northwind" in unnamed.json()["detail"]
    assert contoso_figures["total"]["hours"] == "12.50"  # two entries of 6.25 h
    assert northwind_figures["total"]["hours"] == "15.00"
    assert bi.get(AGING, {**period, "workspace": "fabrikam"}).status_code == 404


def test_an_outsiders_token_reads_no_kpi_of_another_firm(northwind, contoso, oscar):
    _, raw = issue_personal_token(oscar, "Power BI")

    response = bearer(raw).get(AGING, {"workspace": "northwind"})

    assert response.status_code == 404


def test_signed_out_people_get_401_from_the_kpi_api(northwind):
    response = APIClient().get(AGING)

    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def test_the_audit_page_finds_a_persons_entries_done_through_the_api(client, northwind, olivia, ada, failures):
    _, raw = issue_personal_token(olivia, "script")
    first, second = failures.order_by("pk")
    bearer(raw).post(ACTIONS, {"action": "claim", "ids": [first.pk]}, format="json")
    signed_in(client, olivia).post("/queues/actions/", {"action": "claim", "one": second.pk})

    page = signed_in(client, ada).get("/audit/", {"actor": "olivia", "action": "exception.claim"})

    assert list(page.context["page"].object_list.values_list("actor_label", flat=True)) == [
        "olivia",
        f"olivia via API token {PersonalToken.objects.get().hint}…",
    ]
    assert ExceptionItem.objects.filter(status=Status.OPEN, assignee=olivia).count() == 2


def test_the_page_lists_the_firms_and_roles_a_token_reaches(client, northwind, contoso):
    partner = make_user("pat", northwind.workspace, Role.OPERATOR)
    Membership.objects.create(user=partner, workspace=contoso.workspace, role=Role.EXECUTIVE)

    page = signed_in(client, partner).get(PAGE).content.decode()

    assert "Northwind: Operator" in page and "Contoso: Executive" in page
