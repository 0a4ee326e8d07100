"""What a person may do with pulls. Each action checks the actor's role and is audited."""

from django_q.tasks import async_task

from opsview.audit.trail import record
from opsview.systems.kinds import kinds_for
from opsview.systems.schedules import TASK
from opsview.workspaces.permissions import ADMINISTER, require


class CannotPull(Exception):
    """The system cannot be pulled from; the message says why."""


def request_pull(actor, system):
    """Queue a pull of every kind ``system`` provides, now (admins only); returns the task id."""
    require(actor, system.workspace, ADMINISTER)
    if not kinds_for(system.vendor):
        raise CannotPull(f"System '{system.name}' has no connector that opsview can pull from.")
    if not system.is_active:
        raise CannotPull(f"System '{system.name}' is deactivated; activate it to pull from it.")
    task_id = async_task(TASK, system.pk, task_name=f"pull {system.workspace.slug}/{system.slug}", group="pulls")
    record(system.workspace, actor, "system.pull", system, after={"task": task_id}, note="Pull now")
    return task_id
