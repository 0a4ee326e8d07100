"""A system's pull schedule follows its settings; the scheduled task and the command pull every kind."""

from pydoc import locate

import django_q.scheduler
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from opsview.pulls.tasks import pull_system
from opsview.records.models import Client
from opsview.systems.models import System
from opsview.systems.schedules import TASK, schedule_name
from opsview.systems.services import save_system
from tests.pull_support import HarvestApi, connect_harvest

FORM = {
    "name": "Tryton",
    "slug": "tryton",
    "kind": "erp",
    "vendor": "tryton",
    "is_active": "on",
    "setting_url": "http://127.0.0.1:9",
    "setting_database": "northwind",
    "setting_username": "admin",
    "setting_password": "secret",
}


def configure(actor, system, **changes):
    for name, value in changes.items():
        setattr(system, name, value)
    return save_system(actor, system)


def schedules():
    return list(Schedule.objects.filter(func=TASK).values_list("name", "args", "schedule_type", "minutes"))


def test_a_schedule_follows_poll_minutes_and_is_active(ada, northwind):
    erp = northwind.erp
    configure(ada, erp, vendor="tryton", connector_settings={"url": "http://127.0.0.1:9", "poll_minutes": 15})
    assert schedules() == [(schedule_name(erp.pk), repr(erp.pk), Schedule.MINUTES, 15)]
    first_run = Schedule.objects.get(func=TASK).next_run

    configure(ada, erp, connector_settings={"url": "http://127.0.0.1:9", "poll_minutes": 60})
    assert schedules() == [(schedule_name(erp.pk), repr(erp.pk), Schedule.MINUTES, 60)]
    assert Schedule.objects.get(func=TASK).next_run == first_run  # a longer interval does not postpone the next pull

    configure(ada, erp, is_active=False)
    assert schedules() == []
    configure(ada, erp, is_active=True)
    assert len(schedules()) == 1
    configure(ada, erp, connector_settings={"url": "http://127.0.0.1:9"})
    assert schedules() == []


def test_no_schedule_for_a_system_without_a_connector_to_pull_from(ada, northwind):
    for vendor in ("", "clockify", "webhook"):
        configure(ada, northwind.harvest, vendor=vendor, connector_settings={"poll_minutes": 5})
        assert schedules() == [], vendor


def test_the_systems_form_refuses_a_poll_interval_that_is_not_whole_minutes(client, ada, northwind):
    client.force_login(ada)
    for wrong in ("fifteen", "0", "1.5", "true", "100000"):
        response = client.post(f"/settings/systems/{northwind.erp.pk}/", FORM | {"poll_minutes": wrong})
        assert "A whole number of minutes from 1 to 10080 (a week)" in response.content.decode(), wrong
    assert schedules() == []

    client.post(f"/settings/systems/{northwind.erp.pk}/", FORM | {"poll_minutes": "30"})
    assert schedules() == [(schedule_name(northwind.erp.pk), repr(northwind.erp.pk), Schedule.MINUTES, 30)]
    page = client.get("/settings/systems/").content.decode()
    assert "every 30 min" in page and f'action="/settings/systems/{northwind.erp.pk}/pull/"' in page


def test_the_scheduled_task_pulls_every_kind_the_connector_provides(harvest_system, server):
    HarvestApi(server)

    result = pull_system(harvest_system.pk)

    flows = ["pull_clients", "pull_people", "pull_projects", "pull_time_entries", "pull_invoices"]
    assert result == [(flow, "succeeded") for flow in flows]
    assert Client.objects.filter(system=harvest_system, external_id="5735776").exists()


def test_the_django_q2_scheduler_turns_the_schedule_into_a_pull_of_the_system(harvest_system, server, monkeypatch):
    HarvestApi(server)
    monkeypatch.setattr(django_q.scheduler, "close_old_django_connections", lambda: None)  # keep the test's transaction

    django_q.scheduler.scheduler()

    (queued,) = [q for q in OrmQ.objects.all() if q.task["func"] == TASK]  # the app has other schedules too
    task = queued.task
    assert (task["func"], task["args"]) == (TASK, (harvest_system.pk,))
    assert Schedule.objects.get(func=TASK).next_run > timezone.now()  # the next poll, 10 minutes on
    assert locate(task["func"])(*task["args"])[0] == ("pull_clients", "succeeded")


def test_the_task_skips_a_deactivated_or_deleted_system_and_drops_its_schedule(ada, harvest_system):
    assert len(schedules()) == 1
    System.objects.filter(pk=harvest_system.pk).update(is_active=False)  # changed outside the settings page
    assert pull_system(harvest_system.pk) == []
    assert schedules() == []

    Schedule.objects.create(name=schedule_name(999999), func=TASK, args="999999", schedule_type="I", minutes=5)
    assert pull_system(999999) == []
    assert schedules() == []


def test_the_pull_command_pulls_the_kinds_asked_for(harvest_system, server, capsys):
    HarvestApi(server)

    call_command("pull", "harvest", workspace="northwind", record_types=["people", "clients"])

    out = capsys.readouterr().out
    assert "pull_clients: succeeded" in out and "pull_people: succeeded" in out and "pull_projects" not in out
    assert "Read 2 clients: 2 new, 0 changed, 0 unchanged, 0 older than stored, 0 rejected." in out


def test_the_pull_command_says_what_is_wrong(harvest_system, northwind, server):
    HarvestApi(server)
    with pytest.raises(CommandError, match="No system 'sap' in workspace 'northwind' \\(it has: harvest, tryton\\)"):
        call_command("pull", "sap", workspace="northwind")
    with pytest.raises(CommandError, match="System 'tryton' \\(vendor none\\) cannot be pulled from"):
        call_command("pull", "tryton", workspace="northwind")
    harvest_system.credentials = {"access_token": "revoked"}
    harvest_system.save()
    with pytest.raises(CommandError, match="pull_clients did not complete"):
        call_command("pull", "harvest", workspace="northwind")


@pytest.fixture
def harvest_system(ada, northwind, server):
    return connect_harvest(ada, northwind.harvest, server, poll_minutes=10)
