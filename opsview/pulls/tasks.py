"""Background work for pulls, run by django-q2: the per-system schedules and "Pull now"."""

from opsview.pulls.runs import pull_all
from opsview.systems.models import System
from opsview.systems.schedules import remove_schedule, sync_schedule


def pull_system(system_id):
    """Pull every kind of record the system's connector provides; returns ``[(flow, status), ...]``.

    A system deleted or deactivated since its schedule was made is not pulled, and
    its schedule is brought in step.
    """
    system = System.objects.select_related("workspace").filter(pk=system_id).first()
    if system is None:
        remove_schedule(system_id)
        return []
    if not system.is_active:
        sync_schedule(system)
        return []
    return [(run.flow, run.status) for run in pull_all(system)]
