"""An executive reads the queue: no action buttons on the list or a group, and a direct POST is refused.

What the server renders and answers is all this needs, so Django's test client asks (the operator's
htmx-driven work on a group is in tests/test_queue_browser.py, in real Chromium).
"""

from django.test import Client

from opsview.queues.models import Status
from tests.conftest import PASSWORD
from tests.page_support import select, text
from tests.queue_support import twenty_posting_failures


def buttons(page, name):
    return [b for b in select(page, "button") if text(b) == name]


def test_an_executive_sees_no_action_buttons_and_is_refused_a_direct_post(api, northwind, erin):
    failures = twenty_posting_failures(api, northwind)
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="erin", password=PASSWORD)
    page = client.get("/queues/")
    assert len(select(page, "table.items tbody tr")) == 22
    assert buttons(page, "Apply to selected") == []
    assert buttons(page, "Claim") == []

    group = failures.get(external_id="TE-0").group
    page = client.get(f"/queues/groups/{group.pk}/")
    assert page.status_code == 200
    assert buttons(page, "Resolve all") == []

    csrf = client.cookies["csrftoken"].value
    form = {"action": "resolve", "group": str(group.pk), "resolution": "fixed_at_source", "csrfmiddlewaretoken": csrf}
    response = client.post("/queues/actions/", form, HTTP_REFERER=f"http://testserver/queues/groups/{group.pk}/")
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()
    assert failures.filter(status=Status.OPEN).count() == 22
