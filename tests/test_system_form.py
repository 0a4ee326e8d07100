"""Connecting a system from the browser: the vendor's declared settings as a form, secrets write-only, a
connection test in the vendor's words (against the real trytond), a token with an example first batch that
works as pasted, and the panel that waits for that batch."""

import html
import inspect
import re
import shlex
import shutil
import subprocess

import pytest
from rest_framework.test import APIClient

from connectors.registry import CONNECTORS
from connectors.settings import settings_of
from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem
from opsview.systems.models import ApiToken, System
from opsview.systems.services import first_data_received, save_system
from opsview.telemetry.models import SyncRun
from tests.conftest import signed_in

SECRET = "tryton-Pa55-PLANTED-81c2e7"
HARVEST_TOKEN = "hv-PLANTED-0d9a3c55e1f2a7"
HTMX = {"HTTP_HX_REQUEST": "true"}


def tryton_form(url="https://erp.example.com:8000", password=SECRET, **overrides):
    form = {
        "vendor": "tryton",
        "name": "Tryton",
        "slug": "tryton",
        "kind": "erp",
        "is_active": "on",
        "setting_url": url,
        "setting_database": "northwind",
        "setting_username": "admin",
        "setting_password": password,
        "poll_minutes": "15",
    }
    return {k: v for k, v in (form | overrides).items() if v is not None}


def field_names(page):
    return re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', page)


def error_of(page, field):
    found = re.search(rf'<p class="message error" id="id_{field}-errors">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def admin(client, ada):
    return signed_in(client, ada)


# -- what each connector declares, and the fields that follow ---------------------------------------------------


def test_every_declared_setting_is_a_keyword_of_its_connector():
    for vendor, connector_class in CONNECTORS.items():
        parameters = inspect.signature(connector_class).parameters
        for setting in settings_of(connector_class):
            assert setting.name in parameters, f"{vendor} declares {setting.name}, which it does not take"
            # What the form lets a person leave empty, the connector must do without. (A required setting may
            # still have a default there: Xero's client id, which a connector built on a fixed token lacks.)
            has_default = parameters[setting.name].default is not inspect.Parameter.empty
            assert setting.required or has_default, f"{vendor}.{setting.name}: optional, but the connector needs it"


@pytest.mark.parametrize(
    "vendor, fields, secrets",
    [
        ("tryton", ["url", "database", "username", "password", "accept_warnings"], ["password"]),
        ("harvest", ["access_token", "account_id", "base_url"], ["access_token"]),
        ("webhook", ["url", "secret"], ["secret"]),
    ],
)
def test_choosing_a_vendor_shows_one_field_per_declared_setting_with_its_help(admin, vendor, fields, secrets):
    page = admin.get(f"/settings/systems/?vendor={vendor}").content.decode()
    names = field_names(page)
    assert [n.removeprefix("setting_") for n in names if n.startswith("setting_")] == fields
    for secret in secrets:
        assert re.search(rf'<input type="password" name="setting_{secret}"', page)
    assert "connector_settings" not in names and "credentials" not in names
    for setting in settings_of(CONNECTORS[vendor]):
        assert html.escape(setting.help) in page
    assert ("poll_minutes" in names) == (vendor != "webhook")  # a webhook is only sent to, never pulled
    assert ">Save system</button>" in page


def test_the_harvest_form_says_where_harvest_shows_the_account_id(admin):
    page = html.unescape(admin.get("/settings/systems/?vendor=harvest").content.decode())
    assert "Account ID" in page and "id.getharvest.com/developers" in page


def test_a_vendor_without_declared_settings_keeps_the_json_box(admin, northwind):
    for vendor in ("", "clockify"):  # none, or an older free-text vendor without a connector
        names = field_names(admin.get(f"/settings/systems/?vendor={vendor}").content.decode())
        assert "connector_settings" in names and "credentials" in names
        assert not [n for n in names if n.startswith("setting_")]


def test_htmx_reloads_only_the_form_for_the_chosen_vendor_keeping_what_was_typed(admin, northwind):
    response = admin.get(
        f"/settings/systems/{northwind.erp.pk}/", {"vendor": "tryton", "name": "Tryton ERP", "slug": "erp"}, **HTMX
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="system-form">') and "<html" not in page
    assert 'name="setting_database"' in page
    assert 'value="Tryton ERP"' in page and 'value="erp"' in page
    assert "Test connection" not in page  # the rest of the page stays as it is


def test_the_system_edit_page_has_the_xero_include_only_for_xero(admin, northwind):
    northwind.erp.vendor = "xero"
    northwind.erp.save()
    xero_page = admin.get(f"/settings/systems/{northwind.erp.pk}/").content.decode()
    assert "Connect to Xero" in xero_page  # the placeholder's comment, until the Xero button replaces it
    assert "Connect to Xero" not in admin.get(f"/settings/systems/{northwind.harvest.pk}/").content.decode()


# -- saving: settings, secrets, audit ---------------------------------------------------------------------------


def test_saving_the_tryton_form_stores_settings_and_the_password_apart_and_audits_no_secret(admin, northwind, ada):
    response = admin.post(f"/settings/systems/{northwind.erp.pk}/", tryton_form())

    assert response.status_code == 302 and response["Location"] == f"/settings/systems/{northwind.erp.pk}/"
    system = System.objects.get(pk=northwind.erp.pk)
    assert system.vendor == "tryton"
    assert system.connector_settings == {
        "url": "https://erp.example.com:8000",
        "database": "northwind",
        "username": "admin",
        "accept_warnings": False,
        "poll_minutes": 15,
    }
    assert system.credentials == {"password": SECRET}
    assert SECRET not in system.credentials_encrypted
    entry = AuditEntry.objects.get(action="system.change", actor=ada)
    assert entry.after["encrypted_settings"] == "password changed"
    assert entry.after["connector_settings"]["database"] == "northwind"
    assert SECRET not in str(entry.before) + str(entry.after)


def test_a_secret_is_write_only_masked_kept_when_empty_replaced_when_typed_never_shown(admin, northwind):
    pages = []

    def visit(method, url, data=None, **extra):
        response = getattr(admin, method)(url, data, follow=True, **extra)
        pages.append(response.content.decode())
        return response

    url = f"/settings/systems/{northwind.erp.pk}/"
    visit("post", url, tryton_form())
    page = visit("get", url).content.decode()
    assert "Stored: <code>••••c2e7</code>" in page  # masked: its last four characters at most
    assert "stored (••••c2e7): leave empty to keep it" in page and 'name="setting_password"' in page

    visit("post", url, tryton_form(password="", setting_database="bluebird"))
    system = System.objects.get(pk=northwind.erp.pk)
    assert system.credentials == {"password": SECRET} and system.connector_settings["database"] == "bluebird"

    # A rejected form does not show back the secret typed with it.
    rejected = visit("post", url, tryton_form(password="new-" + SECRET, setting_url="not an address"))
    assert error_of(rejected.content.decode(), "setting_url").startswith("Enter a full address")
    assert System.objects.get(pk=northwind.erp.pk).credentials == {"password": SECRET}

    visit("post", url, tryton_form(password="replaced-PLANTED-pass"))
    assert System.objects.get(pk=northwind.erp.pk).credentials == {"password": "replaced-PLANTED-pass"}
    visit("get", url)
    visit("get", "/settings/systems/")
    visit("get", f"/settings/systems/{northwind.erp.pk}/first-data/")
    visit("get", "/audit/")
    for secret in (SECRET, "new-" + SECRET, "replaced-PLANTED-pass"):
        assert not [p for p in pages if secret in p], f"{secret} was rendered"
    assert "encrypted_settings: — → password changed" in html.unescape(pages[-1])  # the audit page


def test_a_new_system_needs_its_secret_and_says_so_on_the_field(admin, northwind):
    response = admin.post("/settings/systems/", tryton_form(password="", slug="erp2", name="Second ERP"))

    assert error_of(response.content.decode(), "setting_password") == "Enter the password: none is stored yet."
    assert not System.objects.filter(slug="erp2").exists()


@pytest.mark.parametrize(
    "override, field, message",
    [
        ({"setting_url": "erp.example.com"}, "setting_url", "Enter a full address starting with http:// or https://"),
        ({"setting_url": "ftp://erp.example.com"}, "setting_url", "Enter a full address"),
        ({"setting_url": "http://erp.example.com:99999"}, "setting_url", "The port after the"),
        ({"setting_database": ""}, "setting_database", "This field is required."),
        ({"poll_minutes": "0"}, "poll_minutes", "A whole number of minutes from 1 to 10080 (a week), e.g. 15."),
        ({"poll_minutes": "1.5"}, "poll_minutes", "A whole number of minutes from 1 to 10080"),
    ],
)
def test_each_kind_is_validated_with_the_error_on_its_field_and_nothing_saved(
    admin, northwind, override, field, message
):
    response = admin.post(f"/settings/systems/{northwind.erp.pk}/", tryton_form(**override))

    assert response.status_code == 200
    assert error_of(response.content.decode(), field).startswith(message)
    assert System.objects.get(pk=northwind.erp.pk).connector_settings == {}
    assert not AuditEntry.objects.exists()


def test_an_integer_setting_takes_only_a_whole_number(admin, northwind):
    form = {
        "vendor": "harvest",
        "name": "Harvest",
        "slug": "harvest",
        "kind": "time_tracking",
        "setting_access_token": HARVEST_TOKEN,
        "setting_account_id": "acme",
    }
    response = admin.post(f"/settings/systems/{northwind.harvest.pk}/", form)
    assert error_of(response.content.decode(), "setting_account_id") == "Enter a whole number."

    admin.post(f"/settings/systems/{northwind.harvest.pk}/", form | {"setting_account_id": "424242"})
    system = System.objects.get(pk=northwind.harvest.pk)
    assert system.connector_settings == {"account_id": 424242}  # base_url left empty: Harvest's own
    assert system.credentials == {"access_token": HARVEST_TOKEN}


def test_changing_the_vendor_starts_its_settings_and_credentials_afresh(admin, northwind, ada):
    admin.post(f"/settings/systems/{northwind.erp.pk}/", tryton_form())
    admin.post(
        f"/settings/systems/{northwind.erp.pk}/",
        {
            "vendor": "webhook",
            "name": "Middleware",
            "slug": "tryton",
            "kind": "other",
            "setting_url": "https://hooks.example.com/opsview",
            "setting_secret": "whsec-PLANTED",
        },
    )
    system = System.objects.get(pk=northwind.erp.pk)
    assert system.connector_settings == {"url": "https://hooks.example.com/opsview"}
    assert system.credentials == {"secret": "whsec-PLANTED"}
    assert AuditEntry.objects.filter(action="system.change").order_by("pk").last().after["encrypted_settings"] == (
        "password removed, secret changed"
    )


def test_what_the_form_does_not_show_is_kept_for_the_same_vendor(admin, northwind, ada):
    system = northwind.erp
    system.vendor = "tryton"
    system.connector_settings = {"url": "https://erp.example.com", "page_size": 50}
    save_system(ada, system, {"password": SECRET, "otp_seed": "kept-by-another-flow"})
    admin.post(f"/settings/systems/{system.pk}/", tryton_form(password=""))

    system.refresh_from_db()
    assert system.connector_settings["page_size"] == 50
    assert system.credentials == {"password": SECRET, "otp_seed": "kept-by-another-flow"}


def test_adding_a_system_goes_on_to_its_page(admin, northwind):
    form = tryton_form(slug="erp2", name="Second ERP")
    response = admin.post("/settings/systems/", form, follow=True)

    system = System.objects.get(workspace=northwind.workspace, slug="erp2")
    assert response.redirect_chain[-1][0] == f"/settings/systems/{system.pk}/"
    page = response.content.decode()
    assert "System &#x27;Second ERP&#x27; saved." in page and ">Test connection</button>" in page
    assert ">Create token</button>" in page


def test_only_admins_open_a_systems_page_test_it_or_create_its_token(client, northwind, olivia, erin, max_manager):
    pk = northwind.erp.pk
    for user in (olivia, erin, max_manager):
        signed_in(client, user)
        assert client.get(f"/settings/systems/{pk}/").status_code == 403
        assert client.get(f"/settings/systems/{pk}/first-data/").status_code == 403
        assert client.post(f"/settings/systems/{pk}/test/", **HTMX).status_code == 403
        assert client.post(f"/settings/systems/{pk}/tokens/", {"token-name": "job"}).status_code == 403
    assert not ApiToken.objects.filter(system=northwind.erp).exists()
    assert not AuditEntry.objects.exists()


# -- the connection test, against the real trytond ----------------------------------------------------------------


@pytest.mark.tryton
def test_the_tryton_form_filled_in_connects_to_the_real_tryton_in_its_words(admin, northwind, ada, tryton_server):
    url = f"/settings/systems/{northwind.erp.pk}/"
    form = tryton_form(url=tryton_server.url, password=tryton_server.password)
    form["setting_database"] = tryton_server.database
    assert admin.post(url, form).status_code == 302

    answer = admin.post(f"{url}test/", **HTMX).content.decode()

    assert answer.lstrip().startswith('<section class="card" id="connection">')
    assert '<span class="badge ok">Connected</span>' in answer
    assert "Connected: it answered and accepted the login." in answer
    assert re.search(rf"Tryton said: <q>Tryton [\d.]+, database {tryton_server.database}, user admin</q>", answer)
    system = System.objects.get(pk=northwind.erp.pk)
    assert system.connection_status == "ok"
    entry = AuditEntry.objects.get(action="system.check_connection", actor=ada)
    assert entry.after["connection_status"] == "ok"
    page = admin.get(url).content.decode()
    assert '<span class="badge ok">Connected</span>' in page and f"database {tryton_server.database}" in page


@pytest.mark.tryton
def test_a_wrong_password_shows_trytons_refusal(admin, northwind, tryton_server):
    url = f"/settings/systems/{northwind.erp.pk}/"
    form = tryton_form(url=tryton_server.url, password="not-the-PLANTED-password")
    form["setting_database"] = tryton_server.database
    admin.post(url, form)

    answer = html.unescape(admin.post(f"{url}test/", **HTMX).content.decode())

    assert '<span class="badge failing">Failing</span>' in answer
    assert "Reached it, but it refused the login." in answer
    assert "Tryton said: <q>authentication_failed: tryton refused the session or login" in answer
    assert "not-the-PLANTED-password" not in answer
    assert System.objects.get(pk=northwind.erp.pk).connection_status == "failing"


def test_a_server_that_does_not_answer_says_so_and_a_plain_post_comes_back_to_the_page(admin, northwind):
    url = f"/settings/systems/{northwind.erp.pk}/"
    admin.post(url, tryton_form(url="http://127.0.0.1:9"))  # the discard port: nothing listens

    response = admin.post(f"{url}test/", {"next": url}, follow=True)

    assert response.redirect_chain[-1][0] == url
    assert "Tryton could not be reached: transport_error" in html.unescape(response.content.decode())


def test_testing_a_system_not_set_up_says_what_is_missing(admin, northwind):
    answer = admin.post(f"/settings/systems/{northwind.erp.pk}/test/", **HTMX).content.decode()
    assert "Not set up yet: fill in its settings and save." in answer
    assert "not connected: no connector settings" in answer


# -- the token, its example request, and the first data -----------------------------------------------------------


def create_token(client, system, name="nightly Tryton postings"):
    page = client.post(f"/settings/systems/{system.pk}/tokens/", {"token-name": name}).content.decode()
    raw = re.search(r'id="new-token">(opv_[\w-]+)</pre>', page).group(1)
    curl = html.unescape(re.search(r'id="example-request">(.*?)</pre>', page, re.S).group(1))
    return page, raw, curl


def test_creating_a_token_shows_it_once_with_an_example_for_this_system(admin, northwind, ada):
    page, raw, curl = create_token(admin, northwind.erp)

    token = ApiToken.objects.get(system=northwind.erp)
    assert token.name == "nightly Tryton postings" and token.hint == raw[:10]
    assert AuditEntry.objects.get(action="token.issue").after == {"name": token.name, "system": "tryton"}
    assert curl.startswith("curl -X POST http://testserver/api/v1/sync-events/ \\\n")
    assert f"Authorization: Bearer {raw}" in curl
    assert '"source_system": "harvest", "target_system": "tryton"' in curl  # an ERP hears from time tracking
    assert 'data-copy="example-request"' in page and 'data-copy="new-token"' in page
    assert "Waiting for the first data" in page
    assert raw not in admin.get(f"/settings/systems/{northwind.erp.pk}/").content.decode()  # shown once


def test_a_token_needs_a_name(admin, northwind):
    response = admin.post(f"/settings/systems/{northwind.erp.pk}/tokens/", {"token-name": " "})
    assert error_of(response.content.decode(), "token-name") == "This field is required."
    assert not ApiToken.objects.filter(system=northwind.erp).exists()


def test_the_example_body_sent_with_the_token_opens_an_exception_and_flips_the_panel(admin, northwind):
    _, raw, curl = create_token(admin, northwind.erp)
    words = shlex.split(curl.replace("\\\n", " "))
    body = words[words.index("-d") + 1]
    panel = f"/settings/systems/{northwind.erp.pk}/first-data/"
    assert first_data_received(northwind.erp) is None
    waiting = admin.get(panel).content.decode()
    assert "Waiting for the first data" in waiting and 'hx-trigger="every 3s"' in waiting

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post(words[words.index("POST") + 1], body, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    item = ExceptionItem.objects.for_workspace(northwind.workspace).get(external_id="TE-1001")
    assert item.get_kind_display() == "ERP posting failure"
    received = first_data_received(northwind.erp)
    assert received is not None
    done = admin.get(panel).content.decode()
    assert f"First batch received {received:%Y-%m-%d %H:%M}" in done and "hx-get" not in done
    assert api.post("/api/v1/sync-events/", body, content_type="application/json").json()["duplicates"] == 1


def test_neither_whoami_nor_a_refused_batch_counts_as_first_data(northwind):
    token, raw = ApiToken.issue(northwind.erp, "job")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/whoami/").status_code == 200
    assert api.post("/api/v1/sync-events/", {"items": [{"event_id": "x"}]}, format="json").status_code == 400

    assert first_data_received(northwind.erp) is None
    token.refresh_from_db()
    assert token.last_used_at is not None and token.first_batch_at is None


def test_a_sync_run_the_system_reported_counts_but_a_failed_pull_does_not(northwind):
    assert first_data_received(northwind.erp) is None  # the seed's run was reported by Harvest
    failed = SyncRun.objects.create(
        workspace=northwind.workspace,
        reported_by=northwind.erp,
        flow="pull_invoices",
        source_system=northwind.erp,
        target_system=northwind.erp,
        status="failed",
    )
    assert first_data_received(northwind.erp) is None
    SyncRun.objects.filter(pk=failed.pk).update(status="succeeded")
    assert first_data_received(northwind.erp) == failed.started_at
    assert first_data_received(northwind.harvest) is not None


def test_another_firms_batch_does_not_count_for_this_system(northwind, contoso, ada):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    event = {
        "event_id": "cx-1",
        "record_type": "time_entry",
        "external_id": "T",
        "source_system": "harvest",
        "target_system": "tryton",
        "outcome": "succeeded",
        "occurred_at": "2026-11-20T18:00:00Z",
    }
    assert api.post("/api/v1/sync-events/", {"items": [event]}, format="json").status_code == 200
    assert first_data_received(contoso.harvest) is not None
    assert ApiToken.objects.get(pk=northwind.token.pk).first_batch_at is None


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_example_request_works_pasted_into_a_shell(client, ada, northwind, live_server):
    host = live_server.url.removeprefix("http://")
    signed_in(client, ada)
    page = client.post(
        f"/settings/systems/{northwind.erp.pk}/tokens/", {"token-name": "pasted"}, HTTP_HOST=host
    ).content.decode()
    curl = html.unescape(re.search(r'id="example-request">(.*?)</pre>', page, re.S).group(1))
    assert curl.startswith(f"curl -X POST {live_server.url}/api/v1/sync-events/")

    result = subprocess.run(["bash", "-c", curl + " --silent --show-error"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert '"created":1' in result.stdout.replace(" ", "")
    assert ExceptionItem.objects.for_workspace(northwind.workspace).filter(external_id="TE-1001").exists()
    assert ApiToken.objects.get(name="pasted").first_batch_at == first_data_received(northwind.erp) is not None


def test_the_json_fallback_saves_a_vendor_without_a_connector_and_shows_no_secret_back(admin, northwind):
    # A system of an older free-text vendor, which no connector declares anything for.
    system = System.objects.create(
        workspace=northwind.workspace, slug="clockify", name="Clockify", kind="time_tracking", vendor="clockify"
    )
    url = f"/settings/systems/{system.pk}/"
    form = {"vendor": "clockify", "name": "Clockify", "slug": "clockify", "kind": "time_tracking", "is_active": "on"}
    settings = '{"tenant_id": "b2c885a9"}'
    admin.post(
        url,
        form | {"connector_settings": settings, "credentials": "access_token=clock-PLANTED", "poll_minutes": "30"},
    )
    system.refresh_from_db()
    assert system.connector_settings == {"tenant_id": "b2c885a9"}  # nothing to pull it with: no schedule
    assert system.credentials == {"access_token": "clock-PLANTED"}
    page = admin.get(url).content.decode()
    assert "clock-PLANTED" not in page and "access_token ••••NTED" in page


def test_without_script_the_vendor_is_chosen_by_a_post_that_saves_nothing_and_shows_no_secret(admin, northwind):
    data = {"vendor": "harvest", "name": "Harvest US", "slug": "harvest-us", "choose_vendor": "1"}
    response = admin.post("/settings/systems/", data | {"setting_password": "typed-PLANTED"})

    page = response.content.decode()
    assert response.status_code == 200 and 'name="setting_access_token"' in page
    assert 'value="Harvest US"' in page and 'value="harvest-us"' in page
    assert "typed-PLANTED" not in page
    assert not System.objects.filter(slug="harvest-us").exists() and not AuditEntry.objects.exists()


def test_the_example_works_for_a_system_with_no_counterpart_in_its_workspace(admin, northwind):
    System.objects.filter(pk=northwind.erp.pk).update(is_active=False)
    _, raw, curl = create_token(admin, northwind.harvest, "the only system's job")
    words = shlex.split(curl.replace("\\\n", " "))
    assert '"source_system": "harvest", "target_system": "harvest"' in curl

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.post("/api/v1/sync-events/", words[words.index("-d") + 1], content_type="application/json")
    assert response.status_code == 200 and response.json()["created"] == 1
