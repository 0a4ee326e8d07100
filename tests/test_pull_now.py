"""An admin asks for a pull now from the systems page: it is queued for the task cluster and audited."""

from django_q.models import OrmQ

from opsview.audit.models import AuditEntry
from opsview.systems.schedules import TASK


def queued():
    return [(q.task["func"], q.task["args"]) for q in OrmQ.objects.all()]


def make_pullable(system, vendor="tryton", **changes):
    system.vendor = vendor
    for name, value in changes.items():
        setattr(system, name, value)
    system.save()
    return system


def test_an_admin_queues_a_pull_and_it_is_audited(client, ada, northwind):
    erp = make_pullable(northwind.erp)
    client.force_login(ada)

    response = client.post(f"/settings/systems/{erp.pk}/pull/", follow=True)

    assert "Pull of &#x27;Tryton&#x27; queued; its runs appear under sync runs." in response.content.decode()
    assert queued() == [(TASK, (erp.pk,))]
    entry = AuditEntry.objects.get(action="system.pull")
    assert (entry.actor, entry.target_type, entry.target_id) == (ada, "workspaces.system", str(erp.pk))
    assert entry.after["task"] == OrmQ.objects.get().task["id"]


def test_the_systems_page_offers_a_pull_only_where_there_is_a_connector(client, ada, northwind):
    erp = make_pullable(northwind.erp)
    client.force_login(ada)

    page = client.get("/settings/systems/").content.decode()

    assert f'action="/settings/systems/{erp.pk}/pull/"' in page and "on demand" in page
    assert f'action="/settings/systems/{northwind.harvest.pk}/pull/"' not in page  # no vendor, nothing to pull


def test_a_system_that_cannot_be_pulled_is_refused_with_the_reason(client, ada, northwind):
    client.force_login(ada)
    response = client.post(f"/settings/systems/{northwind.harvest.pk}/pull/", follow=True)
    assert "System &#x27;Harvest&#x27; has no connector that opsview can pull from." in response.content.decode()

    erp = make_pullable(northwind.erp, is_active=False)
    response = client.post(f"/settings/systems/{erp.pk}/pull/", follow=True)
    assert "is deactivated; activate it to pull from it." in response.content.decode()
    assert queued() == [] and not AuditEntry.objects.filter(action="system.pull").exists()


def test_only_admins_may_pull_now(client, olivia, erin, max_manager, northwind):
    erp = make_pullable(northwind.erp)
    for user in (olivia, erin, max_manager):
        client.force_login(user)
        assert client.post(f"/settings/systems/{erp.pk}/pull/").status_code == 403
    assert queued() == [] and not AuditEntry.objects.exists()


def test_an_outsider_cannot_pull_another_firms_system(client, oscar, northwind):
    erp = make_pullable(northwind.erp)
    client.force_login(oscar)  # an admin, but of Contoso

    assert client.post(f"/settings/systems/{erp.pk}/pull/").status_code == 404
    assert client.get(f"/settings/systems/{erp.pk}/pull/").status_code == 405
    assert queued() == [] and not AuditEntry.objects.exists()
