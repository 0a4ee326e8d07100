"""The reconciliation page: three-way totals per project with mismatches first, the invoice and run gaps,
the CSV, "Run now" for those who may act, a manager's own projects, the empty state and a bad period."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem, Kind
from opsview.reconcile.models import LOST_AFTER, ReconciliationRun, RunState, Trigger
from opsview.reconcile.services import TASK, run_reconciliation
from tests.conftest import signed_in
from tests.reconcile_support import NOVEMBER, NOW, three_systems


@pytest.fixture
def reconciled(northwind):
    planted = three_systems(northwind)
    planted["run_row"] = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)
    return planted


def page(client, user, period="2026-11"):
    return signed_in(client, user).get(f"/reconciliation/?period={period}")


def test_totals_and_mismatches_first(client, olivia, reconciled):
    response = page(client, olivia)
    html = response.content.decode()

    assert response.status_code == 200
    assert 'data-total="approved">30.00<' in html and 'data-total="gaps">6<' in html
    assert 'data-total="money">EUR 2,962.51<' in html  # 600 + 37.50 + 1,125 + 1,200 + 0.01; the run holds none
    order = [html.index(f'data-project="{code}"') for code in ("NW2", "NW1", "NW3")]
    assert order == sorted(order)  # two gaps, one, none
    assert "Approved time missing in the ERP" in html and "Invoice INV-1 · posted twice" in html
    item = ExceptionItem.objects.get(kind=Kind.RECONCILIATION, error_code="MISSING_IN_ERP")
    assert f'href="/queues/{item.pk}/"' in html
    assert "Sync run lost records" in html


def test_the_csv_holds_the_same_table(client, olivia, reconciled):
    response = signed_in(client, olivia).get("/reconciliation/export.csv?period=2026-11")
    rows = list(csv.reader(io.StringIO(response.content.decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:3] == ["period", "section", "project or record"]
    assert [r[2] for r in rows[1:4]] == ["NW2 Northwind Audit", "NW1 Northwind Rollout", "NW3 Northwind Support"]
    nw1 = rows[2]
    assert nw1[4:10] == ["17.00", "17.00", "8.00", "8.00", "0.00", "5.00"]
    assert nw1[10] == "Approved time missing in the ERP" and nw1[14] == "600.00"
    sections = [r[1] for r in rows[4:]]
    assert sections == ["invoice", "invoice", "sync run"]
    assert any(r[10] == "Invoice amount differs" and r[14] == "0.01" for r in rows)


def test_an_operator_runs_it_now_queued_and_audited(client, olivia, reconciled):
    response = signed_in(client, olivia).post("/reconciliation/run/", {"period": "2026-11"}, follow=True)

    run = ReconciliationRun.objects.get(trigger=Trigger.MANUAL)
    assert (run.status, run.requested_by, run.period) == (RunState.QUEUED, olivia, "2026-11")
    assert [(q.task["func"], q.task["args"]) for q in OrmQ.objects.all()] == [(TASK, (run.pk,))]
    assert AuditEntry.objects.get(action="reconciliation.request").actor == olivia
    html = response.content.decode()
    assert "Reconciliation of 2026-11 queued" in html and "data-running" in html

    from opsview.reconcile.tasks import run_requested

    run_requested(run.pk)
    run.refresh_from_db()
    assert run.status == RunState.SUCCEEDED
    assert AuditEntry.objects.get(action="reconciliation.run").actor == olivia


@pytest.mark.parametrize("who", ["max_manager", "erin"])
def test_managers_and_executives_may_not_run_it(client, reconciled, who, request):
    user = request.getfixturevalue(who)

    response = signed_in(client, user).post("/reconciliation/run/", {"period": "2026-11"})

    assert response.status_code == 403
    assert not ReconciliationRun.objects.filter(trigger=Trigger.MANUAL).exists()
    assert "Run now" not in page(client, user).content.decode()


def test_a_manager_sees_only_their_projects(client, max_manager, reconciled):
    html = page(client, max_manager).content.decode()

    assert 'data-project="NW1"' in html and 'data-project="NW2"' not in html
    assert "INV-1" not in html and "Your projects" in html
    assert 'data-total="approved">17.00<' in html and "EUR 600.00" in html


def test_a_period_never_reconciled_says_so(client, olivia, northwind):
    html = page(client, olivia, "2026-10").content.decode()

    assert "2026-10 has not been reconciled yet." in html and "Run now" in html


def test_a_period_with_nothing_to_compare_says_so(client, olivia, northwind):
    run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)

    html = page(client, olivia).content.decode()

    assert "nothing to compare" in html
    assert "Tryton has reported no time postings yet" in html


@pytest.mark.parametrize(
    "bad, words",
    [("2026-13", "month 13 does not exist"), ("november", "not a month written YYYY-MM"), ("2026-1", "YYYY-MM")],
)
def test_a_bad_period_is_a_400_naming_it(client, olivia, northwind, bad, words):
    response = page(client, olivia, bad)

    body = response.content.decode()
    assert response.status_code == 400
    assert words in body and "of the reconciliation page" in body


def test_the_exception_shows_both_sides(client, olivia, reconciled):
    item = ExceptionItem.objects.get(kind=Kind.RECONCILIATION, error_code="HOURS_DIFFER_ERP")

    html = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()

    assert "Both sides" in html and "<code>B1</code>" in html
    assert "6.00" in html and "5.75" in html and "37.50" in html


def test_the_navigation_leads_there(client, erin, reconciled):
    html = signed_in(client, erin).get("/").content.decode()

    assert 'href="/reconciliation/"' in html


def test_a_second_run_now_waits_for_the_first_unless_it_was_lost(client, olivia, reconciled):
    signed_in(client, olivia).post("/reconciliation/run/", {"period": "2026-11"})

    again = client.post("/reconciliation/run/", {"period": "2026-11"}, follow=True).content.decode()

    assert "already queued or running" in again
    assert ReconciliationRun.objects.filter(trigger=Trigger.MANUAL).count() == 1
    lost = timezone.now() - LOST_AFTER - timedelta(minutes=1)
    ReconciliationRun.objects.filter(trigger=Trigger.MANUAL).update(requested_at=lost)
    assert "data-running" not in page(client, olivia).content.decode()
    client.post("/reconciliation/run/", {"period": "2026-11"})
    assert ReconciliationRun.objects.filter(trigger=Trigger.MANUAL).count() == 2


def test_the_pages_reconciled_share_is_the_kpis(client, olivia, reconciled, northwind):
    """One rule of "reconciled" (records.sides.holds): the page's share is the executive tile's for the month."""
    from opsview.kpis.reconciled import reconciled_share
    from opsview.kpis.scope import Scope

    html = page(client, olivia).content.decode()
    kpi = reconciled_share(Scope(northwind.workspace, NOVEMBER.start, NOVEMBER.end, now=NOW))

    assert kpi["share"] is not None
    assert f'data-total="share">{kpi["share"] * 100:.1f} %' in html


def test_earlier_months_show_their_open_gaps(client, olivia, reconciled, northwind):
    """The way to a month with gaps is in view: each earlier month says how many its last run left open."""
    from opsview.reconcile.periods import Period

    december = Period.parse("2026-12")
    html = page(client, olivia, period="2026-12").content.decode()

    assert december.previous() == NOVEMBER
    assert 'data-period="2026-11">2026-11</a> (6 gaps)' in html
    assert 'data-period="2026-10">2026-10</a> (not run)' in html


def test_the_reconcile_command_runs_this_month_and_the_months_before(northwind, capsys):
    from django.core.management import call_command

    call_command("reconcile", "--workspace", northwind.workspace.slug, "--period", "2026-11", "--months", "3")
    runs = ReconciliationRun.objects.for_workspace(northwind.workspace)

    assert sorted(runs.values_list("period", flat=True)) == ["2026-09", "2026-10", "2026-11"]
    assert set(runs.values_list("trigger", flat=True)) == {Trigger.PERIOD_CLOSE}
    call_command("reconcile", "--workspace", northwind.workspace.slug, "--if-never-run")
    assert runs.count() == 3  # reconciled before: left alone
    assert "2026-11: 0 gap(s) found" in capsys.readouterr().out
