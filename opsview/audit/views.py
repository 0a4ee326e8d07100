"""The workspace-wide audit page: every entry, newest first, with filters. Read-only by design.

The workspace's masked fields are a queue setting, and the queues sit above the audit trail: the site's
URLs (``opsview/urls.py``) hand the page their lookup, so this app reads the setting without importing
the queues.
"""

from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from opsview.audit.diffs import masked_changes
from opsview.audit.models import AuditEntry
from opsview.workspaces.http import require_workspace
from opsview.workspaces.permissions import AUDIT, require

# The action filter matches by prefix: a family ("exception.") or one action ("exception.resolve").
ACTION_FAMILIES = ("exception.", "mapping.", "group.", "queue_setting.", "saved_view.", "system.", "token.")


def _day(value, end=False):
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


@login_required
def entries(request, masked_fields_for):
    """Every entry of the workspace; ``masked_fields_for(workspace)`` names the fields its changes mask."""
    workspace = require_workspace(request)
    require(request.user, workspace, AUDIT)
    listing = AuditEntry.objects.visible_to(request.user, workspace)
    wanted = {name: (request.GET.get(name) or "").strip() for name in ("actor", "action", "target", "since", "until")}
    if wanted["actor"]:
        listing = listing.filter(actor_label=wanted["actor"])
    if wanted["action"]:
        listing = listing.filter(action__startswith=wanted["action"])
    if wanted["target"]:
        target_type, _, target_id = wanted["target"].partition(":")
        listing = listing.filter(target_type=target_type, **({"target_id": target_id} if target_id else {}))
    if _day(wanted["since"]):
        listing = listing.filter(at__gte=_day(wanted["since"]))
    if _day(wanted["until"]):
        listing = listing.filter(at__lte=_day(wanted["until"], end=True))
    page = Paginator(listing.order_by("-at", "-id"), 100).get_page(request.GET.get("page"))
    masked = masked_fields_for(workspace)  # payload edits must not show what the detail page masks
    for entry in page.object_list:
        entry.changes = masked_changes(entry, masked)
    context = {"page": page, "wanted": wanted, "families": ACTION_FAMILIES}
    return render(request, "audit/entries.html", context)
