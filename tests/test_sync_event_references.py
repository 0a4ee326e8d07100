"""A sync event's firm, systems and run are kept right by the app: the database does not check them per row.

Ingest names systems by slug and runs by id, and resolves both within the sender's firm; deletes cascade
through Django, as they did when the database held the foreign keys.
"""

from datetime import UTC, datetime

import pytest
from django.db.models import ProtectedError

from opsview.ingest.events import store_events, sync_event
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Workspace
from tests.test_ingest_sync_events import URL, event

SYSTEMS = (("harvest", "time_tracking"), ("tryton", "erp"))


def sent(workspace):
    return SyncEvent.objects.for_workspace(workspace).filter(event_id__startswith="run7-")


def test_an_event_naming_another_firms_system_is_refused_and_nothing_of_its_batch_is_stored(api, northwind, contoso):
    System.objects.create(workspace=contoso.workspace, slug="xero", name="Xero", kind="billing")
    response = api.post(URL, {"items": [event(1), event(2, target_system="xero")]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "target_system", "message": "no system 'xero' in this workspace"}
    ]
    assert not SyncEvent.objects.filter(event_id__startswith="run7-").exists()


def test_an_event_naming_another_firms_run_or_no_run_at_all_is_refused_and_nothing_is_stored(api, northwind, contoso):
    own = SyncRun.objects.for_workspace(northwind.workspace).get()
    foreign = SyncRun.objects.for_workspace(contoso.workspace).get()
    unknown = SyncRun.objects.order_by("-pk").first().pk + 1000
    items = [event(1, run=own.pk), event(2, run=foreign.pk), event(3, run=unknown)]
    response = api.post(URL, {"items": items}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "run", "message": f"no sync run {foreign.pk} reported by this system"},
        {"index": 2, "field": "run", "message": f"no sync run {unknown} reported by this system"},
    ]
    assert not SyncEvent.objects.filter(event_id__startswith="run7-").exists()


def test_stored_events_refer_to_the_senders_firm_its_systems_and_its_run(api, northwind, contoso):
    run = SyncRun.objects.for_workspace(northwind.workspace).get()
    items = [event(1, run=run.pk), event(2, source_system="tryton", target_system="harvest")]
    assert api.post(URL, {"items": items}, format="json").status_code == 200

    rows = list(sent(northwind.workspace).select_related("source_system", "target_system", "run"))
    assert len(rows) == 2
    for row in rows:
        assert row.source_system.workspace == row.target_system.workspace == northwind.workspace
        assert row.run is None or row.run.workspace == northwind.workspace
    assert {(r.source_system, r.target_system) for r in rows} == {
        (northwind.harvest, northwind.erp),
        (northwind.erp, northwind.harvest),
    }


def test_deleting_a_run_keeps_its_events_without_it(api, northwind):
    run = SyncRun.objects.for_workspace(northwind.workspace).get()
    api.post(URL, {"items": [event(1, run=run.pk)]}, format="json")
    run.delete()

    assert sent(northwind.workspace).get().run_id is None


def test_deleting_a_system_deletes_the_events_it_sent_or_received_and_no_others(api, northwind, contoso):
    xero = System.objects.create(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing")
    items = [event(1), event(2, source_system="tryton", target_system="harvest"), event(3, target_system="xero")]
    api.post(URL, {"items": items}, format="json")
    contoso_events = SyncEvent.objects.for_workspace(contoso.workspace).count()

    northwind.erp.delete()

    assert list(sent(northwind.workspace).values_list("event_id", "target_system")) == [("run7-3", xero.pk)]
    assert SyncEvent.objects.for_workspace(contoso.workspace).count() == contoso_events > 0

    xero.delete()
    assert not sent(northwind.workspace).exists()


def test_a_firm_with_systems_cannot_be_deleted_and_once_they_are_gone_it_leaves_no_events(northwind):
    firm = Workspace.objects.create(name="Fabrikam", slug="fabrikam")
    harvest, erp = (System.objects.create(workspace=firm, slug=s, name=s, kind=k) for s, k in SYSTEMS)
    failed = sync_event(
        event_id="f-1",
        record_type="time_entry",
        external_id="TE-1",
        source_system=harvest.pk,
        target_system=erp.pk,
        outcome="failed",
        error_message="Period closed",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    store_events(firm, [failed])
    northwind_events = SyncEvent.objects.for_workspace(northwind.workspace).count()

    with pytest.raises(ProtectedError):
        firm.delete()
    assert SyncEvent.objects.filter(workspace_id=firm.pk).count() == 1

    harvest.delete()
    erp.delete()
    firm.delete()
    assert not SyncEvent.objects.filter(workspace_id=firm.pk).exists()
    assert SyncEvent.objects.for_workspace(northwind.workspace).count() == northwind_events > 0
