"""A backfill is not a day of new exceptions: what it opens is first seen when the data first showed it."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from opsview.kpis.exceptions import exception_volume
from opsview.kpis.scope import Scope
from opsview.queues import tasks
from opsview.queues.models import Kind
from tests.conftest import signed_in
from tests.queue_support import exceptions


def test_a_backfilled_exception_is_new_on_the_day_its_record_passed_the_limit_not_on_the_backfill_day(
    client, northwind, erin
):
    # Northwind's two entries were worked on 2 Nov 2026 and are still submitted: past the 7-day cut-off
    # from 9 Nov. Its failed sync event happened on 3 Nov. The backfill runs today.
    call_command("backfill_queues", stdout=StringIO())

    unapproved = exceptions(northwind, kind=Kind.UNAPPROVED_TIME)
    assert {x.first_seen_at for x in unapproved} == {datetime(2026, 11, 9, tzinfo=UTC)}
    assert {x.group.first_seen_at for x in unapproved} == {datetime(2026, 11, 9, tzinfo=UTC)}
    (failed,) = exceptions(northwind).exclude(kind=Kind.UNAPPROVED_TIME)
    assert failed.first_seen_at == datetime(2026, 11, 3, tzinfo=UTC)

    today = timezone.localdate()
    this_week = Scope(workspace=northwind.workspace, start=today - timedelta(days=6), end=today)
    volume = exception_volume(this_week)
    assert volume["new"] == 0
    assert [d["open"] for d in volume["days"]] == [3] * 7  # open all week, none of them new

    november = Scope(workspace=northwind.workspace, start=date(2026, 11, 1), end=date(2026, 11, 30))
    new_by_day = {d["day"].day: d["new"] for d in exception_volume(november)["days"] if d["new"]}
    assert new_by_day == {3: 1, 9: 2}

    # The KPI API gives the same figures.
    signed_in(client, erin)
    week = client.get(
        "/api/v1/kpis/exception-volume/", {"start": this_week.start.isoformat(), "end": today.isoformat()}
    ).json()
    assert (week["new"], week["open_at_end"]) == (0, 3)
    month = client.get("/api/v1/kpis/exception-volume/", {"start": "2026-11-01", "end": "2026-11-30"}).json()
    assert {int(d["day"][-2:]): d["new"] for d in month["days"] if d["new"]} == {3: 1, 9: 2}


def test_the_schedule_still_sees_a_state_exception_when_it_runs(northwind):
    before = timezone.now()
    tasks.scan_business_states()
    assert all(x.first_seen_at >= before for x in exceptions(northwind, kind=Kind.UNAPPROVED_TIME))
