"""Each action on one item, a selection or a group: its effect, its audit entry, and who may do it."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.queues import mappings, services
from opsview.queues.models import Comment, ExceptionItem, Mapping, Resolution, Status
from tests.queue_support import exceptions, failure, send


@pytest.fixture
def failures(api, northwind):
    """Three posting failures (one on Max's project) and two of an unknown project code."""
    send(
        api,
        failure("TE-PR-1"),
        failure("TE-PR-2"),
        failure("TE-3"),
        failure("TE-4", "Unknown project code 'ACME-01'", code=""),
        failure("TE-5", "Unknown project code 'ACME-01'", code=""),
    )
    return exceptions(northwind)


def entries(action):
    return AuditEntry.objects.filter(action=action).order_by("target_id")


def test_claim_assigns_to_the_actor_and_is_audited(failures, northwind, olivia):
    one = failures.filter(external_id="TE-3")
    assert services.claim(olivia, northwind.workspace, one) == 1

    assert one.get().assignee == olivia
    entry = entries("exception.claim").get()
    assert (entry.actor, entry.before, entry.after) == (olivia, {"assignee": None}, {"assignee": "olivia"})
    assert entry.target_type == "queues.exceptionitem" and entry.target_label == "time_entry TE-3"


def test_assign_to_a_teammate_and_not_to_an_executive(failures, northwind, olivia, ada, erin):
    assert services.assign(olivia, northwind.workspace, failures, ada) == 5
    assert set(failures.values_list("assignee__username", flat=True)) == {"ada"}
    with pytest.raises(services.ActionRefused, match="erin cannot work exceptions"):
        services.assign(olivia, northwind.workspace, failures, erin)
    assert entries("exception.assign").count() == 5


def test_resolve_with_a_code_and_note(failures, northwind, olivia):
    selection = failures.filter(external_id__in=["TE-3", "TE-4"])
    services.resolve(olivia, northwind.workspace, selection, Resolution.WRITTEN_OFF, "below threshold")

    for item in selection:
        assert (item.status, item.resolution, item.resolution_note, item.resolved_by) == (
            Status.RESOLVED,
            Resolution.WRITTEN_OFF,
            "below threshold",
            olivia,
        )
    entry = entries("exception.resolve").first()
    assert entry.before == {"status": "open", "resolution": ""}
    assert entry.after == {"status": "resolved", "resolution": "written_off"} and entry.note == "below threshold"
    with pytest.raises(services.ActionRefused):
        services.resolve(olivia, northwind.workspace, selection, Resolution.AUTOMATIC)


def test_snooze_until_a_date_and_reopen(failures, northwind, olivia):
    until = timezone.now() + timedelta(days=3)
    one = failures.filter(external_id="TE-3")
    services.snooze(olivia, northwind.workspace, one, until, "waiting for the period to reopen")
    assert (one.get().status, one.get().snoozed_until) == (Status.SNOOZED, until)
    with pytest.raises(services.ActionRefused, match="future"):
        services.snooze(olivia, northwind.workspace, one, timezone.now() - timedelta(days=1))

    services.reopen(olivia, northwind.workspace, one, "period reopened early")
    assert (one.get().status, one.get().snoozed_until) == (Status.OPEN, None)
    assert entries("exception.reopen").get().before == {"status": "snoozed", "resolution": ""}


def test_ignore_needs_a_reason(failures, northwind, olivia):
    one = failures.filter(external_id="TE-3")
    with pytest.raises(services.ActionRefused, match="Say why"):
        services.ignore(olivia, northwind.workspace, one, "  ")
    services.ignore(olivia, northwind.workspace, one, "test record")

    assert (one.get().status, one.get().resolution_note) == (Status.IGNORED, "test record")
    assert entries("exception.ignore").get().note == "test record"


def test_comment_on_a_selection(failures, northwind, olivia):
    services.comment(olivia, northwind.workspace, failures.filter(external_id__in=["TE-3", "TE-4"]), "Asked Wendy")

    assert Comment.objects.filter(body="Asked Wendy", author=olivia).count() == 2
    assert entries("exception.comment").first().after == {"comment": "Asked Wendy"}


def test_a_whole_group_is_resolved_in_one_action(failures, northwind, olivia):
    group = failures.get(external_id="TE-4").group
    resolved = services.resolve(
        olivia, northwind.workspace, ExceptionItem.objects.filter(group=group), Resolution.FIXED_AT_SOURCE
    )

    assert resolved == 2
    assert failures.filter(status=Status.OPEN).count() == 3


def test_mapping_an_unknown_value_stores_it_and_leaves_what_waited_on_it_open(failures, northwind, olivia):
    group = failures.get(external_id="TE-4").group
    mapping, waiting = mappings.map_value(olivia, northwind.workspace, group, "4711")

    # The records were never delivered: they stay open until the target accepts them.
    assert waiting == 2
    assert (mapping.kind, mapping.source_value, mapping.target_value) == ("project", "ACME-01", "4711")
    assert mappings.lookup(northwind.workspace, "project", northwind.harvest, northwind.erp, "ACME-01") == "4711"
    assert set(ExceptionItem.objects.filter(group=group).values_list("status", flat=True)) == {"open"}
    assert AuditEntry.objects.get(action="mapping.save").after == {"target_value": "4711"}
    mappings.map_value(olivia, northwind.workspace, group, "4712")
    assert Mapping.objects.get().target_value == "4712"


ACTIONS = {
    "claim": lambda actor, ws, items: services.claim(actor, ws, items),
    "resolve": lambda actor, ws, items: services.resolve(actor, ws, items, Resolution.FIXED_AT_SOURCE),
    "snooze": lambda actor, ws, items: services.snooze(actor, ws, items, timezone.now() + timedelta(days=1)),
    "ignore": lambda actor, ws, items: services.ignore(actor, ws, items, "because"),
    "reopen": lambda actor, ws, items: services.reopen(actor, ws, items),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_executives_and_managers_may_not_act(failures, northwind, erin, max_manager, name):
    for actor in (erin, max_manager):
        with pytest.raises(PermissionDenied):
            ACTIONS[name](actor, northwind.workspace, failures)
    assert not AuditEntry.objects.filter(action__startswith="exception.").exclude(actor=None).exists()


def test_a_manager_comments_only_on_their_own_projects(failures, northwind, max_manager, erin):
    assert services.comment(max_manager, northwind.workspace, failures, "On it") == 1
    assert Comment.objects.get().exception.external_id == "TE-PR-1"
    with pytest.raises(PermissionDenied):
        services.comment(erin, northwind.workspace, failures, "Hm")


def test_an_outsider_changes_nothing_even_with_the_ids(failures, northwind, contoso, oscar):
    # Oscar acts in his own workspace, but passes Northwind's items: they are not his to see.
    assert services.resolve(oscar, contoso.workspace, failures, Resolution.FIXED_AT_SOURCE) == 0
    assert services.resolve(oscar, contoso.workspace, ExceptionItem.objects.all(), Resolution.FIXED_AT_SOURCE) == 0
    assert not failures.filter(status=Status.RESOLVED).exists()
    with pytest.raises(PermissionDenied):
        services.resolve(oscar, northwind.workspace, failures, Resolution.FIXED_AT_SOURCE)


@pytest.mark.parametrize("size", [10, 1000])
def test_bulk_actions_take_a_bounded_number_of_queries(
    api, northwind, olivia, ada, size, django_assert_max_num_queries
):
    for start in range(0, size, 500):
        send(api, *[failure(f"TE-{n}") for n in range(start, min(size, start + 500))])
    group = exceptions(northwind).first().group
    items = ExceptionItem.objects.filter(group=group)
    assert items.count() == size

    # PostgreSQL inserts the audit entries 500 to a statement; SQLite's parameter limit needs more statements.
    # The money at stake kept per record takes a delete and an insert per thousand, with the firm's totals before
    # and after them, and one insert of the change (queues.stakes).
    with django_assert_max_num_queries(24):
        assert services.resolve(olivia, northwind.workspace, items, Resolution.REPLAYED) == size
    with django_assert_max_num_queries(24):
        assert services.reopen(olivia, northwind.workspace, items) == size
    with django_assert_max_num_queries(20):
        services.assign(olivia, northwind.workspace, items, ada)
    assert AuditEntry.objects.filter(action="exception.resolve").count() == size


def test_integration_jobs_read_the_mappings_from_the_api(failures, northwind, olivia, api):
    mappings.map_value(olivia, northwind.workspace, failures.get(external_id="TE-4").group, "4711")

    response = api.get("/api/v1/mappings/?kind=project")
    assert response.status_code == 200
    assert [
        (m["source_value"], m["target_value"], m["source_system"], m["target_system"])
        for m in response.json()["results"]
    ] == [("ACME-01", "4711", "harvest", "tryton")]
    assert api.get("/api/v1/mappings/?kind=tax_code").json()["results"] == []
