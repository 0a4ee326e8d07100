"""Whether the queue already knows a record's trouble: then reconciliation counts it and opens nothing."""

from django.db.models import Exists, OuterRef, Q

from opsview.queues.models import PENDING, ExceptionItem, Kind, Resolution, Status


def decided_or_pending():
    """An exception that holds its record: still pending, or closed by a person's decision (ignored, or
    resolved as a duplicate, not an error…). Replayed ones are not: a replay that left a gap did not close it."""
    return (
        Q(status__in=PENDING)
        | Q(status=Status.IGNORED)
        | (Q(status=Status.RESOLVED) & ~Q(resolution__in=[Resolution.AUTOMATIC, Resolution.REPLAYED]))
    )


def known_in_queue(record_type, system_kind, system_ref, id_ref, also=None):
    """Exists: the record (``system_ref``, ``id_ref`` outer columns) already has an exception on the track to
    systems of ``system_kind`` (or matching ``also``): the queue knows it, reconciliation opens nothing."""
    on_track = Q(system__kind=system_kind) | (also or Q())
    return Exists(
        ExceptionItem.objects.filter(
            workspace=OuterRef("workspace"),
            record_type=record_type,
            source_system=OuterRef(system_ref),
            external_id=OuterRef(id_ref),
        )
        .exclude(kind=Kind.RECONCILIATION)
        .filter(on_track)
        .filter(decided_or_pending())
    )


def known_records(workspace, record_type, system_kind, also=None):
    """``known_in_queue`` as a table: the records (``source_system_id``, ``external_id``) of ``record_type``
    the queue holds on the track to systems of ``system_kind``, each once, for a join."""
    on_track = Q(system__kind=system_kind) | (also or Q())
    return (
        ExceptionItem.objects.for_workspace(workspace)
        .filter(record_type=record_type)
        .exclude(kind=Kind.RECONCILIATION)
        .filter(on_track)
        .filter(decided_or_pending())
        .order_by()
        .values("source_system_id", "external_id")
        .distinct()
    )
