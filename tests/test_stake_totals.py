"""A firm's money at stake kept as the changes each write made to it (queues.stakes, StakeChange): what the
portfolio reads, folded by the schedule without changing a figure, and never losing a change appended while a
fold runs. After every test the suite also checks that the totals agree with the records (tests/conftest.py)."""

import threading

import pytest
from django.db import connection, connections, transaction

from opsview.queues import services
from opsview.queues.models import ExceptionItem, Resolution, StakeChange, Status
from opsview.queues.money import money_at_stake
from opsview.queues.stakes import (
    fold_stake_changes,
    kept_money_at_stake_by_workspace,
    rebuild_stakes,
    refresh_stakes,
    stakes_out_of_date,
    totals_out_of_date,
)
from tests.queue_support import exceptions, failure, send


def stake_of(firm):
    return kept_money_at_stake_by_workspace([firm.workspace.pk]).get(firm.workspace.pk)


def test_each_write_appends_its_change_and_the_firms_stake_is_their_sum(northwind, api, olivia):
    send(api, failure("TE-1"), failure("TE-2"), failure("TE-3"))
    first = StakeChange.objects.filter(workspace=northwind.workspace).count()
    services.resolve(
        olivia, northwind.workspace, exceptions(northwind, external_id="TE-2"), Resolution.FIXED_AT_SOURCE, "ok"
    )
    assert StakeChange.objects.filter(workspace=northwind.workspace).count() == first + 1
    live = money_at_stake(exceptions(northwind, status=Status.OPEN))
    assert stake_of(northwind) == live
    assert (live["records"], live["exceptions"]) == (2, 2)


def test_a_write_that_changes_no_money_appends_nothing(northwind, api):
    send(api, failure("TE-1"))
    before = StakeChange.objects.count()
    item = exceptions(northwind).get()
    refresh_stakes(northwind.workspace.pk, [item.record_ref])
    assert StakeChange.objects.count() == before


def test_folding_keeps_every_firms_figures_in_one_row_per_currency(northwind, contoso, api, olivia):
    send(api, failure("TE-1"), failure("TE-2"), failure("TE-3"))
    services.resolve(
        olivia, northwind.workspace, exceptions(northwind, external_id="TE-1"), Resolution.FIXED_AT_SOURCE, "ok"
    )
    services.reopen(olivia, northwind.workspace, exceptions(northwind, external_id="TE-1"))
    before = stake_of(northwind)
    assert StakeChange.objects.filter(workspace=northwind.workspace).count() > 1

    folded = fold_stake_changes()

    assert folded > 0
    assert stake_of(northwind) == before
    assert list(StakeChange.objects.filter(workspace=northwind.workspace).values_list("currency", "records")) == [
        ("EUR", 3)
    ]
    assert stake_of(contoso) is None


def test_a_firm_with_nothing_at_stake_any_more_keeps_no_row_once_folded(northwind, api, olivia):
    send(api, failure("TE-1"))
    services.resolve(olivia, northwind.workspace, exceptions(northwind), Resolution.FIXED_AT_SOURCE, "fixed")
    assert stake_of(northwind) is None
    fold_stake_changes()
    assert not StakeChange.objects.filter(workspace=northwind.workspace).exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers are PostgreSQL's")
def test_a_change_committed_while_a_fold_runs_is_kept(northwind, api, olivia):
    send(api, failure("TE-1"), failure("TE-2"))
    other_fold = []

    def fold():
        try:
            other_fold.append(fold_stake_changes())
        finally:
            connections.close_all()

    with transaction.atomic():
        ExceptionItem.objects.filter(workspace=northwind.workspace, external_id="TE-1").update(
            status=Status.RESOLVED, resolution=Resolution.FIXED_AT_SOURCE
        )
        refresh_stakes(northwind.workspace.pk, [exceptions(northwind, external_id="TE-1").get().record_ref])
        # The fold runs in another transaction while this change is appended but not yet committed.
        folding = threading.Thread(target=fold)
        folding.start()
        folding.join(10)
        assert other_fold, "the fold waited for the uncommitted change"

    live = money_at_stake(exceptions(northwind, status=Status.OPEN))
    assert stake_of(northwind) == live
    assert live["records"] == 1


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers are PostgreSQL's")
def test_rebuilding_a_firms_stakes_waits_for_a_write_under_way_and_counts_it(northwind, api):
    send(api, failure("TE-1"))
    rebuilt, problems = threading.Event(), []

    def rebuild():
        try:
            rebuild_stakes(northwind.workspace.pk)
            rebuilt.set()
        except Exception as problem:  # the test says what went wrong, not the thread
            problems.append(problem)
        finally:
            connections.close_all()

    with transaction.atomic():
        send(api, failure("TE-2"))  # a new record at stake, its row and change not yet committed
        rebuilding = threading.Thread(target=rebuild)
        rebuilding.start()
        assert not rebuilt.wait(1), "the rebuild ran beside a write of the same firm's stakes"
    rebuilding.join(10)

    assert problems == [] and rebuilt.is_set()
    assert stakes_out_of_date([northwind.workspace.pk]) == []
    assert totals_out_of_date([northwind.workspace.pk]) == []
    assert stake_of(northwind)["records"] == 2


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's lock table")
def test_one_write_may_revalue_more_records_than_postgresql_has_locks(northwind):
    # A month-end drain of 20,000 failed records, say: more than max_locks_per_transaction x max_connections.
    records = [(northwind.harvest.pk, "time_entry", f"TE-{n}") for n in range(20_000)]

    with transaction.atomic():
        refresh_stakes(northwind.workspace.pk, records)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            held = cursor.fetchone()[0]

    assert 1 < held <= 257  # the firm and at most every slot of its records
