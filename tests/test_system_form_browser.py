"""In real Chromium, under the Content-Security-Policy: choosing a vendor reloads the system form with its
fields, the connection test answers in place, a new token comes with its example and a copy button, and the
waiting panel turns into "First batch received" by itself when the example's batch arrives."""

import re
import shlex
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from opsview.systems.models import System
from tests.browser import BROWSER, sign_in

pytestmark = BROWSER


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    ours = urlsplit(live_server.url).netloc
    context.route(
        "**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc == ours else route.abort()
    )
    yield context.new_page()
    context.close()


def test_an_admin_connects_a_system_creates_its_token_and_sees_the_first_batch_arrive(
    page, transactional_db, northwind, ada
):
    sign_in(page, "ada")
    page.goto(f"/settings/systems/{northwind.erp.pk}/")
    assert page.locator("[name=setting_url]").count() == 0

    page.select_option("#id_vendor", "tryton")  # htmx brings the Tryton fields, nothing else reloads
    page.get_by_label("Server address").fill("http://127.0.0.1:9")
    page.get_by_label("Database").fill("northwind")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("browser-PLANTED-pass")
    page.get_by_role("button", name="Save system").click()
    page.wait_for_selector("text=System 'Tryton' saved.")
    assert System.objects.get(pk=northwind.erp.pk).credentials == {"password": "browser-PLANTED-pass"}
    assert "browser-PLANTED-pass" not in page.content()

    page.get_by_role("button", name="Test connection").click()
    page.wait_for_selector("#connection-outcome")
    assert "No answer: the server could not be reached" in page.inner_text("#connection")
    assert page.url.endswith(f"/settings/systems/{northwind.erp.pk}/")  # answered in place

    page.get_by_role("button", name="Create token").click()
    page.wait_for_selector("#example-request")
    page.get_by_role("button", name="Copy request").wait_for(state="visible")  # copy.js shows it once it runs
    page.get_by_text("Waiting for the first data").wait_for(state="visible")
    raw = page.inner_text("#new-token").strip()
    words = shlex.split(page.inner_text("#example-request").replace("\\\n", " "))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = words[words.index("-d") + 1]
    assert api.post("/api/v1/sync-events/", body, content_type="application/json").status_code == 200

    page.wait_for_selector("text=/First batch received \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d/", timeout=20000)
    assert re.search(r"First batch received", page.inner_text("#first-data"))
