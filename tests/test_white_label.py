"""White-label: a partner's brand on the sign-in page of its host, beside the firms it runs, and on their alerts."""

import base64

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from opsview.audit.models import AuditEntry
from opsview.notify.services import notify
from opsview.workspaces.branding import partner_for_host
from opsview.workspaces.models import Partner, PartnerMembership, PartnerRole
from opsview.workspaces.partners import sync_partner_access
from tests.conftest import PASSWORD, signed_in
from tests.notify_support import MESSAGE, brand, run_tasks_at_once

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def ledgerline(db):
    return Partner.objects.create(name="Ledgerline Partners", slug="ledgerline", host="ops.ledgerline.example")


@pytest.fixture
def pat(ledgerline, northwind):
    user = get_user_model().objects.create_user("pat", "pat@example.com", PASSWORD)
    PartnerMembership.objects.create(user=user, partner=ledgerline, role=PartnerRole.ADMIN)
    northwind.workspace.partner = ledgerline
    northwind.workspace.save()
    sync_partner_access(ledgerline)
    return user


@pytest.fixture
def login_url():
    from django.urls import reverse

    return reverse("login")


def test_the_sign_in_page_shows_the_partner_of_its_host_or_the_only_one(client, settings, db, login_url):
    settings.ALLOWED_HOSTS = ["*"]
    assert "Sign in to opsview" in client.get(login_url, HTTP_HOST="ops.example").text  # no partner at all
    Partner.objects.create(name="Ledgerline Partners", slug="ledgerline", host="ops.ledgerline.example")
    page = client.get(login_url, HTTP_HOST="anything.example")
    assert "Sign in to Ledgerline Partners" in page.text  # the only partner
    Partner.objects.create(name="Bluepeak IT", slug="bluepeak", host="ops.bluepeak.example", accent_color="#117733")
    assert "Sign in to opsview" in client.get(login_url, HTTP_HOST="anything.example").text  # two: whose?
    page = client.get(login_url, HTTP_HOST="OPS.bluepeak.example:8443")
    assert "Sign in to Bluepeak IT" in page.text and "Ledgerline" not in page.text
    bluepeak = Partner.objects.get(slug="bluepeak")
    assert f'href="/partner/{bluepeak.pk}/theme.css"' in page.text
    assert ":root { --accent: #117733; }" in client.get(f"/partner/{bluepeak.pk}/theme.css").text
    assert partner_for_host("ops.ledgerline.example.").slug == "ledgerline"


def test_the_header_names_the_partner_beside_the_firm_for_its_staff_and_the_firms_people(client, pat, ada, oscar):
    page = signed_in(client, pat).get("/runs/")
    assert '<span class="run-by">run by Ledgerline Partners</span>' in page.text
    assert "run by Ledgerline Partners" in signed_in(client, ada).get("/runs/").text
    assert "run by" not in signed_in(client, oscar).get("/runs/").text  # Contoso runs itself


def test_a_partners_firm_alerts_are_sent_by_the_partner_for_the_firm(monkeypatch, settings, northwind, pat, ada):
    run_tasks_at_once(monkeypatch)
    branded = brand(northwind, settings)
    notify(branded, MESSAGE, users=[ada])
    (sent,) = mail.outbox
    assert sent.from_email == '"Ledgerline Partners for Northwind Traders" <opsview@localhost>'
    assert sent.body.strip().endswith("sent by Ledgerline Partners for Northwind Traders")
    ((html, _),) = sent.alternatives
    assert "sent by Ledgerline Partners for Northwind Traders" in html and "#a83232" in html  # the firm's colour


def test_a_partner_admin_brands_the_partner_and_every_firm_has_it_on_record(client, ledgerline, pat, northwind):
    signed_in(client, pat)
    response = client.post(
        "/partner/branding/",
        {
            "name": "Ledgerline",
            "host": "Ops.Ledgerline.example",
            "accent_color": "#334455",
            "logo": SimpleUploadedFile("l.png", PNG, "image/png"),
        },
    )
    assert response.status_code == 302
    ledgerline.refresh_from_db()
    assert (ledgerline.name, ledgerline.host, ledgerline.accent_color) == (
        "Ledgerline",
        "ops.ledgerline.example",
        "#334455",
    )
    logo = client.get(f"/partner/{ledgerline.pk}/logo")
    assert (logo["Content-Type"], logo.content) == ("image/png", PNG) and "sandbox" in logo["Content-Security-Policy"]
    assert f'src="/partner/{ledgerline.pk}/logo?v=' in client.get("/runs/").text
    entry = AuditEntry.objects.get(action="partner.branding", workspace=northwind.workspace)
    assert entry.after == {
        "name": "Ledgerline",
        "host": "ops.ledgerline.example",
        "accent_color": "#334455",
        "logo": True,
    }


def test_partner_branding_is_checked_and_only_for_partner_admins(client, ledgerline, pat, ada):
    Partner.objects.create(name="Bluepeak IT", slug="bluepeak", host="ops.bluepeak.example")
    signed_in(client, pat)
    page = client.post("/partner/branding/", {"name": "L", "host": "ops.bluepeak.example", "accent_color": "#334455"})
    assert page.status_code == 400 and "Another partner signs its clients in at ops.bluepeak.example." in page.text
    page = client.post("/partner/branding/", {"name": "L", "host": "not a host!", "accent_color": "#334455"})
    assert "A host name like ops.partner.example" in page.text
    page = client.post(
        "/partner/branding/",
        {"name": "L", "host": "", "accent_color": "red", "logo": SimpleUploadedFile("l.txt", b"hi", "text/plain")},
    )
    assert (
        "A colour like #2456a6." in page.text and "The logo must be a PNG, JPEG, WebP, GIF or SVG image." in page.text
    )
    ledgerline.refresh_from_db()
    assert ledgerline.name == "Ledgerline Partners"
    # A firm admin (even of a partner's firm) is no partner admin.
    assert signed_in(client, ada).get("/partner/branding/").status_code == 403
    assert client.post("/partner/branding/", {"name": "Hijack", "accent_color": "#000000"}).status_code == 403
    assert client.get("/partner/branding/", HTTP_HOST="testserver").status_code == 403
