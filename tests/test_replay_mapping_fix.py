"""Fixing a missing mapping sends the records: saving it resolves nothing, "save and replay" dry-runs then sends,
"resolve when the source resends" keeps the money open until the source's own success."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.kpis.exceptions import exception_volume
from opsview.kpis.scope import Scope
from opsview.queues.models import ExceptionItem, Mapping
from opsview.queues.tables import counts
from opsview.replay.models import Replay, SourceResend
from tests.queue_support import later, send, success
from tests.replay_support import failing_to, run_queued, webhook_system

UNKNOWN = {
    "message": "Unknown project code 'ACME-01'",
    "code": "",
    "payload": {"project": "ACME-01", "hours": 7.5, "bill_rate": 150, "currency": "EUR"},
}


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


@pytest.fixture
def waiting(api, northwind, target):
    """Two records the middleware refused for an unknown project."""
    return failing_to(api, northwind, target, "TE-1", "TE-2", **UNKNOWN)


def open_money(firm):
    items = ExceptionItem.objects.for_workspace(firm.workspace)
    return sum((i.amount for i in items.filter(status__in=("open", "snoozed"))), Decimal(0))


def open_in_kpis(firm):
    today = timezone.localdate()
    scope = Scope(workspace=firm.workspace, start=today - timedelta(days=7), end=today)
    return exception_volume(scope)["open_at_end"]


def map_group(client, user, group_id, then, value="P-4711"):
    client.force_login(user)
    return client.post(f"/replays/groups/{group_id}/map/", {"target_value": value, "then": then}, follow=True)


def test_saving_a_mapping_without_replaying_leaves_the_exceptions_open_with_their_money(
    client, northwind, olivia, waiting, server
):
    group = waiting["TE-1"].group_id
    money, kpi_open = open_money(northwind), open_in_kpis(northwind)
    assert money == Decimal("2250.00")
    client.force_login(olivia)
    page = client.get(f"/queues/groups/{group}/")
    assert "Save mapping and replay the 2 waiting records" in page.content.decode()

    page = map_group(client, olivia, group, "save").content.decode()

    assert "Mapped ACME-01 → P-4711. 2 exceptions stay open until replayed." in page
    assert set(ExceptionItem.objects.values_list("status", flat=True)) == {"open"}
    assert open_money(northwind) == money and open_in_kpis(northwind) == kpi_open
    assert server.seen == [] and not Replay.objects.exists()
    assert AuditEntry.objects.get(action="mapping.save").actor == olivia
    # Replaying the group afterwards still offers both records, with the mapping applied.
    dry = client.post("/replays/request/", {"group": group}).content.decode()
    assert "Dry run: 2 records would be replayed" in dry and dry.count("project: ACME-01 → P-4711") == 2


def test_save_mapping_and_replay_dry_runs_with_the_mapping_then_sends_what_was_confirmed(
    client, northwind, olivia, waiting, server
):
    group = waiting["TE-1"].group_id
    dry = map_group(client, olivia, group, "replay")
    page = dry.content.decode()

    assert "Dry run: 2 records would be replayed" in page and page.count("project: ACME-01 → P-4711") == 2
    assert "Nothing is resolved until Client middleware accepts the records." in page
    assert set(ExceptionItem.objects.values_list("status", flat=True)) == {"open"} and server.seen == []

    done = client.post(
        "/replays/request/",
        {"ids": [i.pk for i in waiting.values()], "confirm_count": "2", "selection": dry.context["plan"].selection},
    )
    assert done.status_code == 302
    assert run_queued() == ["succeeded", "succeeded"]
    assert sorted(s.json()["payload"]["project"] for s in server.seen) == ["P-4711", "P-4711"]
    assert set(ExceptionItem.objects.values_list("resolution", flat=True)) == {"replayed"}
    assert open_money(northwind) == 0


def test_resolve_when_the_source_resends_keeps_the_money_in_every_total_until_a_later_success(
    client, api, northwind, olivia, waiting, target, server
):
    group = waiting["TE-1"].group_id
    money, kpi_open = open_money(northwind), open_in_kpis(northwind)
    _, totals_before = counts(ExceptionItem.objects.for_workspace(northwind.workspace))

    page = map_group(client, olivia, group, "source").content.decode()

    assert "2 exceptions stay open, waiting for Harvest to resend." in page
    assert SourceResend.objects.count() == 2 and server.seen == []
    _, totals = counts(ExceptionItem.objects.for_workspace(northwind.workspace))
    assert totals == totals_before and totals["open"] == 2
    assert open_money(northwind) == money and open_in_kpis(northwind) == kpi_open
    detail = client.get(f"/queues/{waiting['TE-1'].pk}/").content.decode()
    assert "Waiting for the source" in detail
    entries = AuditEntry.objects.filter(action="exception.wait_for_source")
    assert entries.count() == 2 and {e.actor for e in entries} == {olivia}

    # The source resends TE-1 with the mapping and the target takes it: only TE-1 resolves.
    send(api, success("TE-1", at=later(2), target_system=target.slug))
    statuses = dict(ExceptionItem.objects.values_list("external_id", "status"))
    assert statuses == {"TE-1": "resolved", "TE-2": "open"}
    assert open_money(northwind) == Decimal("1125.00")
    assert "Waiting for the source" not in client.get(f"/queues/{waiting['TE-1'].pk}/").content.decode()


def test_only_operators_and_admins_fix_a_mapping(client, northwind, erin, max_manager, waiting):
    group = waiting["TE-1"].group_id
    for user in (erin, max_manager):
        client.force_login(user)
        response = client.post(f"/replays/groups/{group}/map/", {"target_value": "P-4711", "then": "source"})
        assert response.status_code in (403, 404)
    assert not Mapping.objects.exists() and not SourceResend.objects.exists()


def test_an_empty_value_is_refused_and_nothing_changes(client, northwind, olivia, waiting):
    page = map_group(client, olivia, waiting["TE-1"].group_id, "replay", value="  ").content.decode()
    assert "Give the target system&#x27;s value to map to." in page
    assert not Mapping.objects.exists() and not Replay.objects.exists()
