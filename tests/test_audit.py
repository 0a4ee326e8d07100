"""Every queue action is on the audit trail; the trail cannot be changed; the audit page lists it with filters."""

import pytest
from django.db import DatabaseError, connection, transaction

from opsview.audit.models import AuditEntry
from opsview.queues import actions
from opsview.queues.models import Resolution
from tests.conftest import signed_in
from tests.queue_support import exceptions, failure, send


@pytest.fixture
def trail(api, northwind, olivia, ada):
    send(api, failure("TE-1"), failure("TE-2", payload={"iban": "NL91ABNA0417164300"}))
    items = exceptions(northwind)
    actions.claim(olivia, northwind.workspace, items)
    actions.resolve(ada, northwind.workspace, items.filter(external_id="TE-1"), Resolution.DUPLICATE, "twice sent")
    return items


def test_each_entry_says_who_what_when_before_and_after(trail, ada):
    entry = AuditEntry.objects.get(action="exception.resolve")
    assert (entry.actor, entry.actor_label, entry.target_label, entry.note) == (ada, "ada", "time_entry TE-1",
                                                                               "twice sent")  # fmt: skip
    assert entry.before == {"status": "open", "resolution": ""}
    assert entry.after == {"status": "resolved", "resolution": "duplicate"}
    assert entry.at is not None


def test_entries_cannot_be_changed_or_deleted_through_the_app(trail):
    entry = AuditEntry.objects.filter(action="exception.claim").first()
    entry.note = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_update_and_delete_of_queue_entries(trail):
    count = AuditEntry.objects.count()
    for sql in ("UPDATE audit_auditentry SET note = 'x' WHERE action = 'exception.resolve'",
                "DELETE FROM audit_auditentry WHERE action LIKE 'exception.%%'"):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert AuditEntry.objects.count() == count


def test_the_audit_page_lists_entries_with_filters(client, trail, olivia):
    page = signed_in(client, olivia).get("/audit/").content.decode()
    assert page.count("exception.claim") >= 2 and "exception.resolve" in page

    by_ada = client.get("/audit/?actor=ada").content.decode()
    assert "exception.resolve" in by_ada and "<code>exception.claim</code>" not in by_ada
    resolves = client.get("/audit/?action=exception.resolve").content.decode()
    assert "twice sent" in resolves and "<code>exception.claim</code>" not in resolves
    assert "status: open → resolved" in resolves and "resolution: — → duplicate" in resolves


def test_the_audit_page_masks_sensitive_fields_in_changes(client, northwind, ada):
    from opsview.audit.trail import record

    record(northwind.workspace, ada, "exception.payload_edit", northwind.token,
           before={"iban": "NL91ABNA0417164300"}, after={"iban": "DE89370400440532"})  # fmt: skip
    page = signed_in(client, ada).get("/audit/").content.decode()

    assert "NL91ABNA0417164300" not in page and "DE89370400440532" not in page


def test_executives_read_the_audit_page_managers_and_outsiders_do_not(client, trail, erin, max_manager, oscar):
    assert signed_in(client, erin).get("/audit/").status_code == 200
    assert signed_in(client, max_manager).get("/audit/").status_code == 403
    page = signed_in(client, oscar).get("/audit/")
    assert page.status_code == 200 and b"TE-1" not in page.content and b"exception.claim" not in page.content
