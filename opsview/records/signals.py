"""Keeping ``TimeEntry.sides_held`` when records are saved one at a time.

The writers of many rows at once (the ingest API, the demo) call ``records.sides`` themselves; these
receivers cover a posting or entry saved on its own (a verified replay's posting, the admin, the tests),
and a system whose kind changes or that is deleted with its postings.

Postings themselves have no delete receiver: Django would then load every row a workspace's deletion
cascades to, one by one, to send it. They are deleted with their system or their workspace only.
"""

from django.db.models.signals import post_delete, post_save

from opsview.records.models import Posting, TimeEntry
from opsview.records.sides import carried_by, refresh_entries_carried, refresh_sides_held
from opsview.systems.models import System


def _posting_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_entries_carried(instance.workspace_id, carried_by([instance]))


def _entry_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_sides_held(TimeEntry.objects.filter(pk=instance.pk))


def _system_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    # A new system holds no postings yet; a save naming its fields without the kind leaves the sides as they are.
    if created or raw or (update_fields is not None and "kind" not in update_fields):
        return
    refresh_sides_held(TimeEntry.objects.filter(workspace_id=instance.workspace_id))


def _system_deleted(sender, instance, **kwargs):
    refresh_sides_held(TimeEntry.objects.filter(workspace_id=instance.workspace_id))


def connect():
    post_save.connect(_posting_saved, sender=Posting, dispatch_uid="records.posting_saved")
    post_save.connect(_entry_saved, sender=TimeEntry, dispatch_uid="records.entry_saved")
    post_save.connect(_system_saved, sender=System, dispatch_uid="records.system_saved")
    post_delete.connect(_system_deleted, sender=System, dispatch_uid="records.system_deleted")
