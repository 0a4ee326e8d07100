"""Where clicks lead: the lists for time and sync events, the exception queue where it is installed."""

import pytest
from django.apps import apps
from django.test import override_settings

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


@pytest.mark.skipif(apps.is_installed("opsview.queues"), reason="the exception queues are installed")
def test_no_queue_links_without_the_queues():
    assert drilldown.queue(status="open") is None


@override_settings(ROOT_URLCONF="tests.queue_urlconf")
def test_queue_links_once_the_queue_page_exists():
    assert drilldown.queue(kind="posting_failure", status="open", project=3, past_sla=True) == (
        "/queues/?kind=posting_failure&status=open&project=3&past_sla=1"
    )
