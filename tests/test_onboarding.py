"""The onboarding checklist ticks itself as a new firm gets each thing, and shows where to do what is left."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.firms.checklist import onboarding, onboarding_for
from opsview.systems.models import ApiToken, System
from opsview.telemetry.models import SyncRun
from opsview.workspaces.models import Invitation, Membership, Partner, PartnerMembership, PartnerRole, Workspace
from opsview.workspaces.partners import sync_partner_access
from opsview.workspaces.roles import Role
from tests.conftest import PASSWORD, signed_in


def done(workspace):
    return [step.key for step in onboarding(workspace).steps if step.done]


@pytest.fixture
def partner(db):
    return Partner.objects.create(name="Ledgerline Partners", slug="ledgerline")


@pytest.fixture
def pat(partner):
    """A partner admin: admin of every firm of the partner by the partner's grant, not the firm's own member."""
    user = get_user_model().objects.create_user("pat", "pat@example.com", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=partner, role=PartnerRole.ADMIN)
    return user


@pytest.fixture
def fresh(partner, pat):
    workspace = Workspace.objects.create(name="Fabrikam", slug="fabrikam", partner=partner)
    sync_partner_access(partner)
    return workspace


def test_each_step_ticks_itself_as_the_firm_gets_it(fresh, pat):
    assert done(fresh) == []
    assert onboarding(fresh).progress == "0/7"

    harvest = System.objects.create(workspace=fresh, slug="hooks", name="Hooks", kind="billing", vendor="webhook")
    assert done(fresh) == []  # added, but its connector cannot be built: no settings, no secret
    harvest.connector_settings = {"url": "https://hooks.example/in"}
    harvest.credentials = {"secret": "s3cret"}
    harvest.save()
    assert done(fresh) == ["systems"]

    harvest.record_connection(True, "answered 200")
    assert done(fresh) == ["systems", "connection"]

    ApiToken.issue(harvest, "nightly sync")
    assert done(fresh) == ["systems", "connection", "token"]

    SyncRun.objects.create(
        workspace=fresh, reported_by=harvest, flow="time_to_erp", source_system=harvest, target_system=harvest
    )
    assert done(fresh)[-1] == "first-sync"

    fresh.queue_settings_reviewed_at = timezone.now()
    fresh.save()
    assert done(fresh)[-1] == "review"

    fresh.accent_color = "#aa3366"
    fresh.save()
    assert done(fresh)[-1] == "branding"

    Invitation.objects.create(
        workspace=fresh, email="finance@fabrikam.example", role=Role.OPERATOR, expires_at=timezone.now()
    )
    assert onboarding(fresh).complete and onboarding(fresh).progress == "7/7"


def test_a_failing_test_and_opsviews_own_alerts_system_do_not_count(fresh):
    own = System.objects.create(workspace=fresh, slug="opsview", name="opsview alerts", kind="other", vendor="opsview")
    own.record_connection(True, "")
    hooks = System.objects.create(
        workspace=fresh,
        slug="hooks",
        name="Hooks",
        kind="billing",
        vendor="webhook",
        connector_settings={"url": "https://hooks.example/in"},
    )
    hooks.credentials = {"secret": "s3cret"}
    hooks.save()
    hooks.record_connection(False, "401 Unauthorized")
    assert done(fresh) == ["systems"]


def test_a_batch_accepted_with_a_token_is_a_first_sync_and_a_firms_own_member_is_an_invitation_done(fresh):
    # Records alone are no first sync: the rule is the systems page's (``first_data_received``).
    system = System.objects.create(workspace=fresh, slug="harvest", name="Harvest", kind="time_tracking")
    token, _raw = ApiToken.issue(system, "nightly sync")
    assert "first-sync" not in done(fresh)
    ApiToken.objects.filter(pk=token.pk).update(first_batch_at=timezone.now())
    assert "first-sync" in done(fresh)
    user = get_user_model().objects.create_user("fab", "fab@example.com", PASSWORD)
    Membership.objects.create(user=user, workspace=fresh, role=Role.EXECUTIVE)
    assert "members" in done(fresh)


def test_the_partners_own_staff_are_not_the_firms_people(fresh, pat):
    assert Membership.objects.filter(workspace=fresh, user=pat).exists()
    assert "members" not in done(fresh)


def test_the_bulk_form_equals_the_single_form_in_a_constant_number_of_queries(fresh, northwind, contoso):
    firms = [fresh, northwind.workspace, contoso.workspace]
    with CaptureQueriesContext(connection) as queries:
        bulk = onboarding_for(firms)
    assert len(queries) <= 3
    for firm in firms:
        assert bulk[firm.pk] == onboarding(firm)
    assert bulk[northwind.workspace.pk].done > bulk[fresh.pk].done


def test_the_admin_sees_whats_left_on_the_home_page_and_the_checklist_page(client, fresh, pat):
    page = signed_in(client, pat).get("/")
    assert "Set up Fabrikam: 0/7 done" in page.text
    assert '<a class="title" href="/settings/systems/">Connect your systems</a>' in page.text
    checklist = client.get("/onboarding/")
    assert checklist.status_code == 200
    assert checklist.text.count('class="step todo"') == 7
    assert "Integration jobs report their runs and records with a token" in checklist.text


def test_a_complete_checklist_leaves_the_home_page_and_others_never_see_it(client, northwind, ada, erin):
    northwind.harvest.vendor = "webhook"
    northwind.harvest.connector_settings = {"url": "https://hooks.example/in"}
    northwind.harvest.credentials = {"secret": "s3cret"}
    northwind.harvest.save()
    northwind.harvest.record_connection(True, "ok")
    Workspace.objects.filter(pk=northwind.workspace.pk).update(
        queue_settings_reviewed_at=timezone.now(), accent_color="#aa3366"
    )
    page = signed_in(client, ada).get("/")
    assert "Onboarding complete." in page.text and 'class="step' not in page.text
    assert "Onboarding complete" not in signed_in(client, erin).get("/").text
    assert client.get("/onboarding/").status_code == 403


def test_saving_the_queue_settings_or_marking_them_reviewed_ticks_the_review(client, fresh, pat):
    signed_in(client, pat)
    page = client.get("/queues/settings/")
    assert "Mark as reviewed" in page.text and "Not reviewed yet" in page.text
    response = client.post("/queues/settings/", {"kind": "reviewed"})
    assert response.status_code == 302
    fresh.refresh_from_db()
    assert fresh.queue_settings_reviewed_at is not None and "review" in done(fresh)
    assert AuditEntry.objects.filter(action="queue_setting.reviewed", workspace=fresh).count() == 1

    Workspace.objects.filter(pk=fresh.pk).update(queue_settings_reviewed_at=None)
    client.post(
        "/queues/settings/",
        {
            "kind": "sync_error",
            "sync_error-threshold_days": "0",
            "sync_error-sla_hours": "12",
            "sync_error-fix_guide": "",
        },
    )
    fresh.refresh_from_db()
    assert fresh.queue_settings_reviewed_at is not None


def test_only_admins_mark_the_settings_reviewed(client, northwind, olivia):
    assert signed_in(client, olivia).post("/queues/settings/", {"kind": "reviewed"}).status_code == 403
    northwind.workspace.refresh_from_db()
    assert northwind.workspace.queue_settings_reviewed_at is None


def test_an_expired_invitation_still_shows_the_firm_reached_out(fresh):
    Invitation.objects.create(
        workspace=fresh, email="a@b.example", role=Role.OPERATOR, expires_at=timezone.now() - timedelta(days=9)
    )
    assert "members" in done(fresh)
