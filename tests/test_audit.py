"""Every queue action is on the audit trail; the trail cannot be changed; the audit page lists it with filters."""

import pytest
from django.db import DatabaseError, connection, transaction

from opsview.audit.models import AuditEntry
from opsview.queues import services
from opsview.queues.models import Resolution
from tests.conftest import signed_in
from tests.queue_support import exceptions, failure, send


@pytest.fixture
def trail(api, northwind, olivia, ada):
    send(api, failure("TE-1"), failure("TE-2", payload={"iban": "NL91ABNA0417164300"}))
    items = exceptions(northwind)
    services.claim(olivia, northwind.workspace, items)
    services.resolve(ada, northwind.workspace, items.filter(external_id="TE-1"), Resolution.DUPLICATE, "twice sent")
    return items


def test_each_entry_says_who_what_when_before_and_after(trail, ada):
    entry = AuditEntry.objects.get(action="exception.resolve")
    assert (entry.actor, entry.actor_label, entry.target_label, entry.note) == (
        ada,
        "ada",
        "time_entry TE-1",
        "twice sent",
    )
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
    for sql in (
        "UPDATE audit_auditentry SET note = 'x' WHERE action = 'exception.resolve'",
        "DELETE FROM audit_auditentry WHERE action LIKE 'exception.%%'",
    ):
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

    record(
        northwind.workspace,
        ada,
        "exception.payload_edit",
        northwind.token,
        before={"iban": "NL91ABNA0417164300"},
        after={"iban": "DE89370400440532"},
    )
    page = signed_in(client, ada).get("/audit/").content.decode()

    assert "NL91ABNA0417164300" not in page and "DE89370400440532" not in page


def test_executives_read_the_audit_page_managers_and_outsiders_do_not(client, trail, erin, max_manager, oscar):
    assert signed_in(client, erin).get("/audit/").status_code == 200
    assert signed_in(client, max_manager).get("/audit/").status_code == 403
    page = signed_in(client, oscar).get("/audit/")
    assert page.status_code == 200 and b"TE-1" not in page.content and b"exception.claim" not in page.content


def _entry(northwind, ada, at, action="token.create", target_id="7"):
    return AuditEntry.objects.create(
        workspace=northwind.workspace,
        at=at,
        actor=ada,
        actor_label="ada",
        action=action,
        target_type="systems.apitoken",
        target_id=target_id,
        target_label=f"token {target_id}",
    )


def test_the_audit_page_filters_by_target_and_by_whole_local_days(client, northwind, ada):
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    day = timezone.localdate() - timedelta(days=10)
    _entry(northwind, ada, timezone.make_aware(datetime.combine(day, time(0, 0))), target_id="7")
    _entry(northwind, ada, timezone.make_aware(datetime.combine(day, time(23, 59, 59))), target_id="8")
    signed_in(client, ada)

    def shown(**query):
        page = client.get("/audit/", query).content.decode()
        return {t for t in ("token 7", "token 8") if t in page}

    assert shown(target="systems.apitoken") == {"token 7", "token 8"}
    assert shown(target="systems.apitoken:8") == {"token 8"}
    assert shown(target="queues.exceptionitem") == set()
    assert shown(since=str(day), until=str(day)) == {"token 7", "token 8"}  # until takes its whole day
    assert shown(since=str(day + timedelta(days=1))) == set()
    assert shown(until=str(day - timedelta(days=1))) == set()
    assert shown(action="token.") == {"token 7", "token 8"} and shown(action="token.revoke") == set()
    # A date that is not a day is ignored, not an error.
    for bad in ("not-a-date", "2026-02-30", "10/25/2026", "0000-00-00", "\x00"):
        response = client.get("/audit/", {"since": bad, "until": bad})
        assert response.status_code == 200 and b"token 7" in response.content, bad


def test_the_audit_page_shows_the_filters_it_was_given(client, trail, olivia):
    page = (
        signed_in(client, olivia)
        .get(
            "/audit/",
            {
                "actor": " ada ",
                "action": "exception.",
                "target": "queues.exceptionitem:1",
                "since": "2026-10-01",
                "until": "2026-10-31",
            },
        )
        .content.decode()
    )
    assert 'name="actor" value="ada"' in page
    assert '<option value="exception." selected>' in page
    assert 'name="target" value="queues.exceptionitem:1"' in page
    assert 'name="since" value="2026-10-01"' in page and 'name="until" value="2026-10-31"' in page
