"""An operator's morning in real Chromium, on ``seed_demo``'s data and the demo's real Tryton.

The operator finds the posting failures with the most money at stake (invoices refused
for a closed period), the accountant reopens the period in Tryton (through its own API,
as the fix guide says), and the operator replays the group from its dry run and watches
it succeed. Tryton then holds each invoice once, posted with one move. Then a missing
mapping is fixed in place and its waiting records are replayed the same way. Workers are
stood in for by running the queued tasks here.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from connectors.tryton import TrytonConnector
from opsview.audit.models import AuditEntry
from opsview.demo.catalog import DEMO_PASSWORD
from opsview.demo.erp import env
from opsview.demo.erp.firms import erp_code
from opsview.queues.models import ExceptionItem, Mapping
from opsview.replay.models import Replay
from tests.browser import BROWSER, sign_in
from tests.demo_erp_support import SMALL, fix
from tests.replay_support import run_queued

pytestmark = [*BROWSER, pytest.mark.tryton]


@pytest.fixture
def seeded(demo_erp, transactional_db):
    call_command("seed_demo", *SMALL, stdout=StringIO())
    call_command("backfill_queues", stdout=StringIO())
    return demo_erp


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(20000)
    yield context.new_page()
    context.close()


def open_top_group(page, query):
    """The queue filtered by ``query``, in its default order (most money at stake first): the first row's group."""
    page.goto(f"/queues/?{query}")
    first = page.locator("table.items tbody tr").first
    record = first.get_attribute("data-record") or ""
    first.locator("details.more summary").click()  # the row's details: the error, its group
    first.locator("a", has_text="its group").click()
    page.wait_for_url(re.compile(r"/queues/groups/\d+/"))
    return int(re.search(r"/groups/(\d+)/", page.url).group(1)), record


def replay_from_dry_run(page):
    """On a dry run page: type the count it shows, confirm, and land on the batch's status page."""
    heading = page.locator("h1").inner_text()
    count = int(re.search(r"Dry run: (\d+) records? would be replayed", heading).group(1))
    page.fill("input[name=confirm_count]", str(count))
    page.get_by_role("button", name="Replay them").click()
    page.wait_for_url(re.compile(r"/replays/"))
    return count


def in_tryton(server, model, domain, fields=("id",)):
    """The rows of ``model`` Northwind's Tryton holds that match ``domain``."""
    with TrytonConnector(server.url, "northwind", env.ADMIN_USER, env.ADMIN_PASSWORD) as erp:
        return erp.rpc.call(f"model.{model}.search_read", domain, 0, None, None, list(fields))


def test_an_operators_morning_closes_the_loop_into_the_real_erp(page, seeded, live_server):
    server = seeded
    sign_in(page, "operator", DEMO_PASSWORD)

    # The posting failures with the most money at stake first: invoices refused for a closed period.
    group_id, _record = open_top_group(page, "kind=posting_failure")
    items = list(ExceptionItem.objects.filter(group_id=group_id, status="open").select_related("last_event"))
    assert items and {(i.record_type, i.error_code) for i in items} == {("invoice", "PERIOD_CLOSED")}
    guide = page.locator("section", has_text="How to fix it").first.inner_text()
    assert "Fiscal Years > Periods" in guide and "fix northwind reopen-period" in guide, guide
    assert page.locator("[data-stake]").inner_text().startswith("EUR ")

    # The accountant reopens each refused invoice's period in Tryton, through its own API.
    for day in sorted({item.last_event.payload["date"] for item in items}):
        assert '"state": "open"' in fix("northwind", "reopen-period", day)

    # The operator replays the whole group from its dry run and watches the status.
    page.get_by_role("button", name="Replay the whole group…").click()
    page.wait_for_url(re.compile(r"/replays/request/"))
    count = replay_from_dry_run(page)
    assert count == len(items)
    assert f"Queued: {count}" in page.locator("#replay-list").inner_text()
    assert run_queued() == ["succeeded"] * count
    page.reload()
    assert f"Succeeded: {count}" in page.locator("#replay-list").inner_text()

    # Tryton holds each invoice once, posted with one move; each exception is resolved as replayed, on record.
    for replay in Replay.objects.filter(exception__group_id=group_id):
        (invoice,) = in_tryton(
            server, "account.invoice", [("reference", "=", replay.idempotency_key)], ["state", "move"]
        )
        assert invoice["state"] == "posted" and replay.verified and replay.status == "succeeded"
        assert len(in_tryton(server, "account.move", [("origin", "=", f"account.invoice,{invoice['id']}")])) == 1
    resolved = ExceptionItem.objects.filter(pk__in=[i.pk for i in items])
    assert set(resolved.values_list("status", "resolution")) == {("resolved", "replayed")}
    page.goto(f"/queues/{items[0].pk}/")
    detail = page.locator("main").inner_text()
    assert "Attempt history" in detail and "Replayed" in detail
    page.goto("/audit/")
    assert "exception.replay" in page.locator("main").inner_text()
    replayed = AuditEntry.objects.filter(action="exception.replay", target_id__in=[str(i.pk) for i in items])
    assert replayed.count() == count

    # A missing mapping: the project is in Tryton under its ERP number. Map it in place and replay the records.
    group_id, _record = open_top_group(page, "kind=missing_mapping&q=project+code")
    waiting = list(ExceptionItem.objects.filter(group_id=group_id, status="open").select_related("last_event"))
    code = waiting[0].error_message.split("'")[1]
    oldest = min(i.last_event.payload["date"][:8] + "01" for i in waiting)
    fix("northwind", "reopen-timesheets", erp_code(code), oldest)
    mapping = page.locator("section[aria-label='Missing mapping']")
    mapping.locator("input[name=target_value]").fill(erp_code(code))
    mapping.get_by_role("button", name=re.compile(r"Save mapping and replay the \d+ waiting record")).click()
    page.wait_for_url(re.compile(r"/replays/"))
    assert erp_code(code) in page.locator("main").inner_text()  # the dry run shows the mapping applied
    count = replay_from_dry_run(page)
    assert count == len(waiting)
    assert Mapping.objects.filter(source_value=code, target_value=erp_code(code)).count() == 1
    assert run_queued() == ["succeeded"] * count
    done = ExceptionItem.objects.filter(pk__in=[i.pk for i in waiting])
    assert set(done.values_list("status", "resolution")) == {("resolved", "replayed")}
    for replay in Replay.objects.filter(exception__group_id=group_id):
        assert len(in_tryton(server, "timesheet.line", [("description", "like", f"%[{replay.idempotency_key}]")])) == 1
        assert replay.mappings_applied == [{"field": "project", "from": code, "to": erp_code(code)}]
