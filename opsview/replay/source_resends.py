"""Waiting for the source: the operator lets the source job resend records instead of replaying them.

The exceptions stay open, with their money at stake, in every count and total; only a later
succeeded sync event for each record (``opsview.queues.sync_failures``) resolves them.
"""

from django.db import transaction

from opsview.audit.trail import record_many
from opsview.queues.models import PENDING, SYNC_KINDS, ExceptionItem
from opsview.queues.services import ActionRefused
from opsview.replay.models import SourceResend
from opsview.workspaces.permissions import ACT, require

NOTE = "Resolves when the source resends the record and the target accepts it."


def wait_for_source(actor, workspace, items, mapping=None, note=""):
    """Mark the visible open sync exceptions of ``items`` as waiting for the source; returns how many."""
    require(actor, workspace, ACT)
    rows = list(
        ExceptionItem.objects.visible_to(actor, workspace)
        .filter(pk__in=items.values("pk"), status__in=PENDING, kind__in=SYNC_KINDS)
        .only("id", "record_type", "external_id", "status")
        .order_by("pk")
    )
    if not rows:
        raise ActionRefused("Nothing to wait for: none of these is an open sync failure.")
    note = (note or "").strip() or NOTE
    with transaction.atomic():
        # A choice made before the record was resolved and failed again is replaced by this one.
        SourceResend.objects.filter(exception__in=rows).delete()
        SourceResend.objects.bulk_create(
            [
                SourceResend(workspace=workspace, exception=r, mapping=mapping, requested_by=actor, note=note)
                for r in rows
            ],
            ignore_conflicts=True,
            batch_size=500,
        )
        record_many(
            workspace,
            actor,
            "exception.wait_for_source",
            [(r, None, {"waiting_for": "source", "status": r.status}) for r in rows],
            note=note,
        )
    return len(rows)
