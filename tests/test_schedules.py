"""The fixed django-q2 schedules: after migrate each exists once, as declared, however often migrate runs."""

import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from opsview.common.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def installed():
    return sorted(
        Schedule.objects.filter(name__in=[s.name for s in SCHEDULES]).values_list(
            "name", "func", "schedule_type", "minutes", "repeats"
        )
    )


DECLARED = sorted((s.name, s.func, s.schedule_type, s.minutes, -1) for s in SCHEDULES)


def test_after_migrate_each_schedule_exists_once_with_its_function_and_interval():
    assert installed() == DECLARED
    assert installed() == sorted(
        [
            ("queues: business-state exceptions", "opsview.queues.tasks.scan_business_states", "I", 15, -1),
            ("queues: detect from ingested events", "opsview.queues.outbox.drain_and_prune", "I", 1, -1),
            ("queues: wake snoozed exceptions", "opsview.queues.tasks.wake_snoozed", "I", 5, -1),
            ("queues: fold the firms' money at stake", "opsview.queues.stakes.fold_stake_changes", "I", 10, -1),
            ("replay: take back replays of lost workers", "opsview.replay.tasks.requeue_stale", "I", 5, -1),
            ("notify: take back alert deliveries of lost workers", "opsview.notify.tasks.requeue_stale", "I", 5, -1),
            ("kpi-daily-rollup", "opsview.kpis.rollups.rollup_missing_days", "H", None, -1),
            ("alerts: check the rules", "opsview.alerts.tasks.evaluate_all", "I", 10, -1),
            ("alerts: daily digests", "opsview.alerts.tasks.send_daily_digests", "H", None, -1),
            ("reconcile: this month, daily", "opsview.reconcile.tasks.reconcile_daily", "D", None, -1),
            (
                "reconcile: last month, at period close",
                "opsview.reconcile.tasks.reconcile_period_close",
                "D",
                None,
                -1,
            ),
        ]
    )


def test_migrating_twice_does_not_duplicate_them_nor_move_their_next_run():
    next_runs = dict(Schedule.objects.values_list("name", "next_run"))
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    assert installed() == DECLARED
    assert dict(Schedule.objects.values_list("name", "next_run")) == next_runs


def test_an_existing_database_with_a_copy_and_a_changed_interval_ends_with_one_row_each():
    wake = Schedule.objects.get(name="queues: wake snoozed exceptions")
    Schedule.objects.create(name=wake.name, func=wake.func, schedule_type="I", minutes=5, repeats=-1)
    Schedule.objects.filter(name="replay: take back replays of lost workers").update(minutes=60)
    Schedule.objects.filter(name="kpi-daily-rollup").delete()
    call_command("migrate", verbosity=0)
    assert installed() == DECLARED
    assert Schedule.objects.get(name=wake.name).pk == wake.pk  # the first row stays


def test_every_schedule_runs_a_function_that_exists():
    for schedule in SCHEDULES:
        assert callable(import_string(schedule.func)), schedule.func
