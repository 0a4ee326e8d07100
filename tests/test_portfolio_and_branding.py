"""The partner portfolio (one row per workspace, needing attention first) and workspace branding in every page's header.

tests/test_portfolio.py has the portfolio's figures, totals, sorting and filters."""

import base64
import re
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.telemetry.models import SyncEvent
from opsview.workspaces.models import Membership
from opsview.workspaces.roles import Role
from tests.conftest import signed_in

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def sync_events(firm, succeeded, failed):
    yesterday = timezone.now() - timedelta(hours=20)
    for n, outcome in enumerate(["succeeded"] * succeeded + ["failed"] * failed):
        SyncEvent.objects.create(
            workspace=firm.workspace,
            event_id=f"recent-{n}",
            record_type="time_entry",
            external_id=f"R{n}",
            source_system=firm.harvest,
            target_system=firm.erp,
            outcome=outcome,
            occurred_at=yesterday,
        )


def tile_order(response):
    return re.findall(r'<tr class="workspace-tile[^"]*" data-workspace="([\w-]+)"', response.text)


def test_one_row_per_workspace_failing_first(client, northwind, contoso, erin):
    Membership.objects.create(user=erin, workspace=contoso.workspace, role=Role.EXECUTIVE)
    sync_events(northwind, succeeded=3, failed=0)
    sync_events(contoso, succeeded=1, failed=1)
    page = signed_in(client, erin).get("/dashboards/portfolio/")
    assert tile_order(page) == ["contoso", "northwind"]
    contoso_tile = page.text.split('data-workspace="contoso"')[1].split("</tr>")[0]
    assert "50.0%" in contoso_tile and "(1 failed)" in contoso_tile
    northwind_tile = page.text.split('data-workspace="northwind"')[1].split("</tr>")[0]
    assert "100.0%" in northwind_tile


def test_the_portfolio_shows_unapproved_hours_as_each_role_allows(client, northwind, contoso, max_manager):
    Membership.objects.create(user=max_manager, workspace=contoso.workspace, role=Role.EXECUTIVE)
    page = signed_in(client, max_manager).get("/dashboards/portfolio/")
    northwind_tile = page.text.split('data-workspace="northwind"')[1].split("</tr>")[0]
    contoso_tile = page.text.split('data-workspace="contoso"')[1].split("</tr>")[0]
    assert ">7.50</button>" in northwind_tile  # his project only
    assert ">12.50</button>" in contoso_tile  # 2 × 6.25 h


def test_an_outsider_sees_only_their_own_workspaces(client, northwind, contoso, oscar):
    page = signed_in(client, oscar).get("/dashboards/portfolio/")
    assert tile_order(page) == ["contoso"]
    assert "Northwind" not in page.text


def test_an_admin_brands_the_workspace(client, northwind, ada):
    signed_in(client, ada)
    response = client.post(
        "/settings/branding/",
        {
            "name": "Northwind Consulting",
            "accent_color": "#aa3366",
            "logo": SimpleUploadedFile("l.png", PNG, "image/png"),
        },
    )
    assert response.status_code == 302
    page = client.get("/runs/")
    assert '<link rel="stylesheet" href="/workspace/theme.css">' in page.text
    assert ":root { --accent: #aa3366; }" in client.get("/workspace/theme.css").text
    assert re.search(
        r'<a class="brand" href="/"><img class="logo" src="/workspace/\d+/logo\?v=\d+" alt="">Northwind Consulting</a>',
        page.text,
    )
    logo = client.get(f"/workspace/{northwind.workspace.pk}/logo")
    assert (logo["Content-Type"], logo.content) == ("image/png", PNG)
    assert "sandbox" in logo["Content-Security-Policy"]
    entry = AuditEntry.objects.get(action="workspace.branding")
    assert entry.after == {"name": "Northwind Consulting", "accent_color": "#aa3366", "logo": True}


def test_the_logo_can_be_removed(client, northwind, ada):
    signed_in(client, ada)
    client.post(
        "/settings/branding/",
        {"name": "Northwind", "accent_color": "#aa3366", "logo": SimpleUploadedFile("l.png", PNG, "image/png")},
    )
    client.post("/settings/branding/", {"name": "Northwind", "accent_color": "#aa3366", "remove_logo": "on"})
    assert client.get(f"/workspace/{northwind.workspace.pk}/logo").status_code == 404
    assert 'class="logo"' not in client.get("/runs/").text


def test_branding_is_checked(client, northwind, ada):
    signed_in(client, ada)
    page = client.post("/settings/branding/", {"name": "Northwind", "accent_color": "red"})
    assert "A colour like #2456a6." in page.text
    page = client.post(
        "/settings/branding/",
        {"name": "Northwind", "accent_color": "#aa3366", "logo": SimpleUploadedFile("l.txt", b"hello", "text/plain")},
    )
    assert "The logo must be a PNG, JPEG, WebP, GIF or SVG image." in page.text


def test_only_admins_brand_and_only_members_see_the_logo(client, northwind, contoso, ada, olivia, oscar):
    signed_in(client, ada).post(
        "/settings/branding/",
        {"name": "Northwind", "accent_color": "#aa3366", "logo": SimpleUploadedFile("l.png", PNG, "image/png")},
    )
    assert signed_in(client, olivia).get("/settings/branding/").status_code == 403
    assert client.get(f"/workspace/{northwind.workspace.pk}/logo").status_code == 200
    assert signed_in(client, oscar).get(f"/workspace/{northwind.workspace.pk}/logo").status_code == 404
