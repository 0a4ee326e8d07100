"""The audit trail is append-only: not through the app, and on PostgreSQL not even in SQL."""

import pytest
from django.db import connection, transaction

from opsview.audit.models import AuditEntry
from opsview.audit.trail import record


@pytest.fixture
def entry(northwind, ada):
    return record(northwind.workspace, ada, "token.issue", northwind.token, after={"name": "x"})


def test_an_entry_records_who_what_and_when(entry, ada, northwind):
    assert (entry.actor, entry.actor_label, entry.action) == (ada, "ada", "token.issue")
    assert (entry.target_type, entry.target_id) == ("workspaces.apitoken", str(northwind.token.pk))
    assert entry.at is not None


def test_the_app_cannot_change_or_delete_an_entry(entry):
    entry.note = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).note == ""


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_update_and_delete_in_sql(entry):
    from django.db.utils import DatabaseError

    for sql in ("UPDATE audit_auditentry SET note = 'x'", "DELETE FROM audit_auditentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert AuditEntry.objects.filter(pk=entry.pk, note="").exists()
