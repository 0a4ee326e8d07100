"""One django-q2 schedule per system that is pulled on a schedule, kept in step with its settings.

A system is pulled every ``connector_settings["poll_minutes"]`` minutes while it is
active and has a connector that can be read from; otherwise it has no schedule.
``sync_schedule`` is called explicitly whenever a system is saved.
"""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from opsview.systems.kinds import kinds_for

TASK = "opsview.pulls.tasks.pull_system"  # a dotted path, so systems need not import pulls
POLL_MINUTES = "poll_minutes"  # the connector setting opsview reads itself
MAX_POLL_MINUTES = 7 * 24 * 60


def schedule_name(system_pk):
    return f"pulls: system {system_pk}"


def poll_minutes_problem(connector_settings):
    """What is wrong with the settings' ``poll_minutes``, or None (absent is fine: no schedule)."""
    if not isinstance(connector_settings, dict) or POLL_MINUTES not in connector_settings:
        return None
    value = connector_settings[POLL_MINUTES]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_POLL_MINUTES:
        return f"poll_minutes must be a whole number of minutes from 1 to {MAX_POLL_MINUTES}, not {value!r}."
    return None


def poll_minutes(system):
    """Minutes between scheduled pulls of ``system``, or None when it is not pulled on a schedule."""
    settings = system.connector_settings
    if not system.is_active or not kinds_for(system.vendor) or not isinstance(settings, dict):
        return None
    if poll_minutes_problem(settings) is not None:
        return None
    return settings.get(POLL_MINUTES)


def sync_schedule(system):
    """Create, change or delete the system's pull schedule to match its settings; returns it, or None."""
    minutes = poll_minutes(system)
    name = schedule_name(system.pk)
    if minutes is None:
        Schedule.objects.filter(name=name).delete()
        return None
    now = timezone.now()
    schedule = Schedule.objects.filter(name=name).first()
    if schedule is None:
        # The first pull runs at once: an admin who sets a schedule wants to see it work.
        return Schedule.objects.create(
            name=name,
            func=TASK,
            args=repr(system.pk),
            schedule_type=Schedule.MINUTES,
            minutes=minutes,
            repeats=-1,
            next_run=now,
        )
    if schedule.minutes != minutes:
        schedule.minutes = minutes
        sooner = now + timedelta(minutes=minutes)
        schedule.next_run = min(schedule.next_run, sooner) if schedule.next_run else sooner
        schedule.save(update_fields=["minutes", "next_run"])
    return schedule


def remove_schedule(system_pk):
    """Delete the pull schedule of a system that no longer exists."""
    Schedule.objects.filter(name=schedule_name(system_pk)).delete()


def describe(system):
    """How the system is pulled, for its settings page: e.g. 'every 15 min', 'on demand', or '' (it is not)."""
    if not kinds_for(system.vendor):
        return ""
    minutes = poll_minutes(system)
    return f"every {minutes} min" if minutes else ("on demand" if system.is_active else "")
