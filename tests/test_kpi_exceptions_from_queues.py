"""The exception KPIs read the real queue: failures reported through the ingest API, worked by hand."""

from datetime import UTC, date, datetime

from opsview.kpis.exceptions import exception_resolution_time, exception_volume, items_past_sla
from opsview.kpis.scope import Scope
from tests.conftest import keep_stakes
from tests.queue_support import exceptions, failure, send


def moment(day, hour):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_exception_kpis_over_the_queues_own_items(api, northwind):
    send(api, failure("TE-A"), failure("TE-B"), failure("TE-C"))
    items = exceptions(northwind)
    # A: seen Nov 1 08:00, resolved 20:00 (12 h). B: seen Nov 1 09:00, still open, due Nov 2.
    # C: seen Nov 3 06:00, resolved 12:00 (6 h).
    items.filter(external_id="TE-A").update(
        first_seen_at=moment(1, 8), resolved_at=moment(1, 20), status="resolved", sla_due_at=moment(2, 8)
    )
    items.filter(external_id="TE-B").update(first_seen_at=moment(1, 9), sla_due_at=moment(2, 9))
    items.filter(external_id="TE-C").update(
        first_seen_at=moment(3, 6), resolved_at=moment(3, 12), status="resolved", sla_due_at=moment(4, 6)
    )
    keep_stakes(northwind)
    scope = Scope(workspace=northwind.workspace, start=date(2026, 11, 1), end=date(2026, 11, 3), now=moment(3, 18))

    volume = exception_volume(scope)
    assert [(d["day"].day, d["new"], d["resolved"], d["open"]) for d in volume["days"]] == [
        (1, 2, 1, 1),
        (2, 0, 0, 1),
        (3, 1, 1, 1),
    ]
    assert (volume["new"], volume["resolved"], volume["open_at_end"]) == (3, 2, 1)
    # 6 and 12 hours: median 9; the 90th percentile lies 90% of the way from 6 to 12.
    assert exception_resolution_time(scope) == {"resolved": 2, "median_hours": 9.0, "p90_hours": 11.4}
    late = items_past_sla(scope)
    assert (late["items"], late["by_kind"]) == (1, [{"kind": "posting_failure", "items": 1}])
