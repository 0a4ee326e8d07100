"""Business states are upserted by (system, external id); out-of-order delivery never rolls back."""

from decimal import Decimal

from opsview.records.models import Client, Invoice, Project, TimeEntry


def post(api, kind, items):
    return api.post(f"/api/v1/states/{kind}/", {"items": items}, format="json")


def time_entry(ext="TE-9", **overrides):
    item = {
        "external_id": ext,
        "version": 1,
        "person": "P-W",
        "project": "PR-1",
        "work_date": "2026-11-16",
        "hours": "6.25",
        "billable": True,
        "bill_rate": 140,
        "currency": "EUR",
        "status": "submitted",
        "submitted_at": "2026-11-16T17:00:00+01:00",
    }
    item.update(overrides)
    return item


def test_each_kind_of_state_is_created_with_its_references(api, northwind):
    client = {"external_id": "C-2", "version": 1, "name": "Globex", "currency": "EUR"}
    assert post(api, "clients", [client]).status_code == 200
    assert post(api, "people", [{"external_id": "P-2", "version": 1, "name": "Grace"}]).status_code == 200
    assert (
        post(
            api,
            "projects",
            [
                {
                    "external_id": "PR-9",
                    "version": 1,
                    "name": "ERP rollout",
                    "code": "GX1",
                    "client": "C-2",
                    "manager": "P-2",
                }
            ],
        ).status_code
        == 200
    )
    assert post(api, "time-entries", [time_entry(project="PR-9", person="P-2")]).status_code == 200
    response = post(
        api,
        "invoices",
        [
            {
                "external_id": "INV-1",
                "version": 1,
                "number": "2026-0193",
                "client": "C-2",
                "project": "PR-9",
                "amount": "875.00",
                "currency": "EUR",
                "status": "issued",
                "issue_date": "2026-11-20",
                "due_date": "2026-12-20",
            }
        ],
    )

    assert response.json() == {
        "received": 1,
        "created": 1,
        "updated": 0,
        "duplicates": 0,
        "stale": 0,
        "stale_items": [],
    }
    project = Project.objects.get(external_id="PR-9")
    assert (project.client.name, project.manager.name) == ("Globex", "Grace")
    entry = TimeEntry.objects.get(external_id="TE-9")
    assert (entry.project, entry.person.name, entry.hours, entry.bill_rate) == (project, "Grace", Decimal("6.25"), 140)
    invoice = Invoice.objects.get(external_id="INV-1")
    assert (invoice.number, invoice.amount, invoice.status) == ("2026-0193", Decimal("875.00"), "issued")
    assert invoice.workspace == northwind.workspace and invoice.system == northwind.harvest


def test_a_newer_version_updates_the_record(api):
    post(api, "time-entries", [time_entry()])
    response = post(api, "time-entries", [time_entry(version=2, status="approved", approved_at="2026-11-18T09:00:00Z")])

    assert response.json()["updated"] == 1
    entry = TimeEntry.objects.get(external_id="TE-9")
    assert (entry.status, entry.source_version) == ("approved", 2)
    assert entry.approved_at.isoformat() == "2026-11-18T09:00:00+00:00"


def test_an_older_version_is_not_applied_and_the_response_says_so(api):
    post(api, "time-entries", [time_entry(version=5, status="approved", approved_at="2026-11-18T09:00:00Z")])
    response = post(api, "time-entries", [time_entry(version=3, status="submitted")])

    body = response.json()
    assert (body["stale"], body["updated"]) == (1, 0)
    assert body["stale_items"][0]["external_id"] == "TE-9"
    assert body["stale_items"][0]["stored_version"] == 5
    assert "not applied" in body["stale_items"][0]["message"]
    assert TimeEntry.objects.get(external_id="TE-9").status == "approved"


def test_without_versions_updated_at_decides_what_is_newer(api):
    post(api, "clients", [{"external_id": "C-7", "updated_at": "2026-11-20T10:00:00Z", "name": "New name"}])
    response = post(api, "clients", [{"external_id": "C-7", "updated_at": "2026-11-19T10:00:00Z", "name": "Old"}])

    assert response.json()["stale"] == 1
    assert Client.objects.get(external_id="C-7").name == "New name"


def test_the_same_batch_twice_counts_duplicates_and_changes_nothing(api):
    batch = [time_entry("TE-1"), time_entry("TE-2")]
    post(api, "time-entries", batch)
    before = list(TimeEntry.objects.filter(external_id__in=["TE-1", "TE-2"]).values_list("received_at", flat=True))
    response = post(api, "time-entries", batch)

    assert response.json()["duplicates"] == 2
    after = list(TimeEntry.objects.filter(external_id__in=["TE-1", "TE-2"]).values_list("received_at", flat=True))
    assert before == after


def test_two_versions_of_one_record_in_a_batch_end_on_the_newest(api):
    response = post(api, "time-entries", [time_entry(version=2, hours=8), time_entry(version=1, hours=1)])

    assert response.json() | {"stale_items": None} == {
        "received": 2,
        "created": 1,
        "updated": 0,
        "duplicates": 0,
        "stale": 1,
        "stale_items": None,
    }
    assert TimeEntry.objects.get(external_id="TE-9").hours == 8


def test_an_unknown_reference_rejects_the_batch_and_says_what_to_send_first(api):
    response = post(api, "time-entries", [time_entry("TE-1"), time_entry("TE-2", project="PR-404")])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "project",
            "message": "no project with external id 'PR-404' in system 'harvest'; "
            "send it before the records that refer to it",
        }
    ]
    assert not TimeEntry.objects.filter(external_id="TE-1").exists()


def test_validation_names_index_and_field(api):
    items = [
        time_entry("TE-1", hours=25),
        time_entry("TE-2", currency="eur"),
        time_entry("TE-3", status="approved"),
        time_entry("TE-4", version=None),
        time_entry("TE-5", work_date="16/11/2026"),
        time_entry("TE-6", bill_rate="1.234"),
    ]
    response = post(api, "time-entries", items)

    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (0, "hours"),
        (1, "currency"),
        (2, "approved_at"),
        (3, "version"),
        (4, "work_date"),
        (5, "bill_rate"),
    ]
    assert errors[0]["message"] == "must be at most 24"
    assert errors[2]["message"] == "is required when status is 'approved'"
    assert errors[3]["message"] == "send 'version' or 'updated_at' (or both)"
    assert errors[5]["message"] == "must have at most 2 decimal places"
    assert response.json()["detail"] == "6 of 6 items are invalid; nothing of the batch was written."


def test_references_resolve_within_the_tokens_own_system_only(api, northwind):
    from opsview.records.models import Client as ClientModel

    ClientModel.objects.create(workspace=northwind.workspace, system=northwind.erp, external_id="ERP-C", name="X")
    response = post(api, "projects", [{"external_id": "PR-5", "version": 1, "name": "P", "client": "ERP-C"}])

    assert response.status_code == 400
    assert "no client with external id 'ERP-C' in system 'harvest'" in response.json()["errors"][0]["message"]


def test_the_same_external_id_in_another_system_is_another_record(api, northwind):
    from opsview.records.models import Client as ClientModel

    ClientModel.objects.create(workspace=northwind.workspace, system=northwind.erp, external_id="C-5", name="ERP")
    post(api, "clients", [{"external_id": "C-5", "version": 1, "name": "Harvest's"}])

    assert sorted(ClientModel.objects.filter(external_id="C-5").values_list("name", flat=True)) == ["ERP", "Harvest's"]


def test_an_unknown_state_kind_is_404(api):
    assert api.post("/api/v1/states/expenses/", {"items": [{}]}, format="json").status_code == 404
