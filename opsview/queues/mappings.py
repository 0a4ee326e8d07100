"""Missing mappings, fixed in place: the operator maps an unknown value to the target's own.

The mapping is stored for the workspace; integration jobs read it through the
API (``GET /api/v1/mappings/``) and ``lookup`` answers it for replays, so the
same value never fails again. Saving one resolves nothing: the records that
failed on the value were never delivered, so their exceptions stay open, with
their money, until the target accepts them (a replay with the mapping applied,
or the source job resending them).
"""

from django.db import transaction

from opsview.audit.trail import record
from opsview.queues import services
from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Mapping
from opsview.workspaces.permissions import ACT, require


def lookup(workspace, kind, source_system, target_system, value):
    """The target's value for ``value``, or None when nobody mapped it yet."""
    return (
        Mapping.objects.for_workspace(workspace)
        .filter(kind=kind, source_system=source_system, target_system=target_system, source_value=value)
        .values_list("target_value", flat=True)
        .first()
    )


def save_mapping(actor, workspace, group, target_value):
    """Store (or change) the mapping for ``group``'s unknown value, audited. Resolves nothing."""
    require(actor, workspace, ACT)
    target_value = (target_value or "").strip()
    if group.kind != Kind.MISSING_MAPPING or not group.mapping_kind or not group.mapping_value:
        raise services.ActionRefused("This group has no unknown value to map.")
    if not target_value:
        raise services.ActionRefused("Give the target system's value to map to.")
    if len(target_value) > Mapping._meta.get_field("target_value").max_length:
        raise services.ActionRefused("The target system's value is longer than 200 characters.")
    sample = ExceptionItem.objects.visible_to(actor, workspace).filter(group=group).only("source_system_id").first()
    if sample is None:
        raise services.ActionRefused("None of this group's exceptions is yours to fix.")
    with transaction.atomic():
        mapping, created = Mapping.objects.get_or_create(
            workspace=workspace,
            kind=group.mapping_kind,
            source_system_id=sample.source_system_id,
            target_system=group.system,
            source_value=group.mapping_value,
            defaults={"target_value": target_value, "created_by": actor},
        )
        before = None if created else {"target_value": mapping.target_value}
        if not created and mapping.target_value != target_value:
            mapping.target_value = target_value
            mapping.save(update_fields=["target_value"])
        if created or before["target_value"] != target_value:
            record(workspace, actor, "mapping.save", mapping, before=before, after={"target_value": target_value})
    return mapping


def waiting_on(actor, workspace, mapping):
    """The open exceptions the actor may see whose records failed for want of ``mapping``'s value."""
    groups = ExceptionGroup.objects.for_workspace(workspace).filter(
        kind=Kind.MISSING_MAPPING,
        system=mapping.target_system,
        mapping_kind=mapping.kind,
        mapping_value=mapping.source_value,
    )
    return (
        ExceptionItem.objects.visible_to(actor, workspace)
        .pending()
        .filter(group__in=groups, source_system=mapping.source_system)
    )


def map_value(actor, workspace, group, target_value):
    """Store the mapping for ``group``'s unknown value; ``(mapping, number of exceptions still waiting)``.

    Nothing is resolved here: see the module's notes.
    """
    mapping = save_mapping(actor, workspace, group, target_value)
    return mapping, waiting_on(actor, workspace, mapping).count()
