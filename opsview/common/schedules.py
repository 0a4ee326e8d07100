"""The fixed django-q2 schedules: every background task that runs on a clock, declared once.

``install`` runs after every ``migrate`` (see ``CommonConfig``): a new database gets each schedule,
an existing one has its row brought in line with what is declared here, and there is never more
than one row per name. A pull's own schedule depends on its system's settings and lives with the
systems, not here.
"""

from dataclasses import dataclass

from django.apps import apps as global_apps

MINUTES, HOURLY, DAILY = "I", "H", "D"  # django-q2's Schedule.MINUTES, HOURLY and DAILY


@dataclass(frozen=True)
class FixedSchedule:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None

    def fields(self):
        """The Schedule row's fields besides its name; ``repeats=-1`` is for ever."""
        return {"func": self.func, "schedule_type": self.schedule_type, "minutes": self.minutes, "repeats": -1}


SCHEDULES = (
    # Ingest asks for a drain after each batch; this one catches a request lost with its process.
    FixedSchedule("queues: detect from ingested events", "opsview.queues.outbox.drain_and_prune", MINUTES, 1),
    FixedSchedule("queues: business-state exceptions", "opsview.queues.tasks.scan_business_states", MINUTES, 15),
    FixedSchedule("queues: wake snoozed exceptions", "opsview.queues.tasks.wake_snoozed", MINUTES, 5),
    FixedSchedule("queues: fold the firms' money at stake", "opsview.queues.stakes.fold_stake_changes", MINUTES, 10),
    FixedSchedule("replay: take back replays of lost workers", "opsview.replay.tasks.requeue_stale", MINUTES, 5),
    FixedSchedule(
        "notify: take back alert deliveries of lost workers", "opsview.notify.tasks.requeue_stale", MINUTES, 5
    ),
    FixedSchedule("kpi-daily-rollup", "opsview.kpis.rollups.rollup_missing_days", HOURLY),
    FixedSchedule("alerts: check the rules", "opsview.alerts.tasks.evaluate_all", MINUTES, 10),
    # Hourly, so each workspace's digest goes at its own morning hour (alerts.digests.DIGEST_HOUR, local).
    FixedSchedule("alerts: daily digests", "opsview.alerts.tasks.send_daily_digests", HOURLY),
    FixedSchedule("reconcile: this month, daily", "opsview.reconcile.tasks.reconcile_daily", DAILY),
    FixedSchedule("reconcile: last month, at period close", "opsview.reconcile.tasks.reconcile_period_close", DAILY),
)


def install(Schedule, using="default"):
    """Make ``Schedule`` (the model, or its migration state's) hold exactly one row per declared schedule.

    A row's next run is left as it is, so installing again does not move a schedule's clock.
    """
    rows = Schedule.objects.using(using)
    for schedule in SCHEDULES:
        wanted = schedule.fields()
        existing = list(rows.filter(name=schedule.name).order_by("pk"))
        if not existing:
            rows.create(name=schedule.name, **wanted)
            continue
        first, copies = existing[0], existing[1:]
        if copies:
            rows.filter(pk__in=[row.pk for row in copies]).delete()
        if any(getattr(first, field) != value for field, value in wanted.items()):
            rows.filter(pk=first.pk).update(**wanted)


def install_after_migrate(sender, using="default", apps=global_apps, **kwargs):
    """``post_migrate`` receiver (also sent by ``flush``, without ``apps``): install the schedules."""
    try:
        Schedule = (apps or global_apps).get_model("django_q", "Schedule")
    except LookupError:  # django-q2 is not migrated (e.g. ``migrate django_q zero``): nothing to install into
        return
    install(Schedule, using)
