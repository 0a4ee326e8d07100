"""Writing the audit trail. Services call ``record`` for every user action."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

from opsview.audit.models import AuditEntry

# How the person acted, when not in the browser: the API says so around the services it calls, which then
# audit exactly as for the browser, with "olivia via API token opp_AbC123…" as who.
_CHANNEL = ContextVar("opsview_audit_channel", default=None)
VIA = " via "


@contextmanager
def acting_through(channel):
    """Entries written inside name ``channel`` (e.g. "API token opp_AbC123…") after the acting person."""
    reset = _CHANNEL.set(channel)
    try:
        yield
    finally:
        _CHANNEL.reset(reset)


def record(workspace, actor, action, target, before=None, after=None, note="", actor_label=None):
    """Append one audit entry for ``actor`` doing ``action`` on ``target`` (a model instance)."""
    [entry] = record_many(workspace, actor, action, [(target, before, after)], note=note, actor_label=actor_label)
    return entry


def record_many(workspace, actor, action, changes, note="", actor_label=None):
    """Append one entry per ``(target, before, after)`` in ``changes``, in a bounded number of queries.

    Bulk actions (a group of 1,000 exceptions resolved at once) use this, so each
    item keeps its own entry without one INSERT per item.
    """
    if actor_label is None:
        actor_label = actor.get_username() if actor is not None else "system"
        if actor is not None and _CHANNEL.get():
            actor_label = f"{actor_label}{VIA}{_CHANNEL.get()}"[:150]
    now = timezone.now()
    entries = [
        AuditEntry(
            workspace=workspace,
            at=now,
            actor=actor,
            actor_label=actor_label,
            action=action,
            target_type=getattr(target, "AUDIT_TYPE", target._meta.label_lower),
            target_id=str(target.pk),
            target_label=str(target)[:255],
            before=before,
            after=after,
            note=note,
        )
        for target, before, after in changes
    ]
    return AuditEntry.objects.bulk_create(entries, batch_size=500)
