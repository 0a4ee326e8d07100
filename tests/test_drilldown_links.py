"""Where clicks lead: the lists for time and sync events, and the exception queue."""

from opsview.dashboards import drilldown
from tests.kpi_books import Books, day

NOW = "2026-11-20 12:00"


def test_time_entry_links_keep_the_period_and_filters(db):
    books = Books()
    scope = books.scope("2026-11-01", "2026-11-20", NOW, client=books.acme.pk)
    link = drilldown.time_entries(scope, status="unapproved", age="8-14", state=None)
    period = "start=2026-11-01&end=2026-11-20"
    assert link == f"/records/time-entries/?{period}&client={books.acme.pk}&status=unapproved&age=8-14"


def test_sync_event_links_name_the_target_and_day(db):
    books = Books()
    link = drilldown.sync_events(books.scope("2026-11-01", "2026-11-20", NOW), books.tryton.pk, day("2026-11-03"))
    assert link == f"/records/sync-events/?start=2026-11-01&end=2026-11-20&target={books.tryton.pk}&day=2026-11-03"


def test_queue_links_filter_the_queue():
    assert drilldown.queue(kind="posting_failure", status="open", project=3, past_sla=True) == (
        "/queues/?kind=posting_failure&status=open&project=3&past_sla=1"
    )
