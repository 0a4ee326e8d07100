"""The workspace-wide audit page: every entry, newest first, with filters. Read-only by design.

The workspace's masked fields are a queue setting, and the queues sit above the audit trail: the site's
URLs (``opsview/urls.py``) hand the page their lookup, so this app reads the setting without importing
the queues.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from opsview.audit.diffs import masked_changes
from opsview.audit.filtersets import ACTION_FAMILIES, AuditFilterSet
from opsview.audit.models import AuditEntry
from opsview.workspaces.http import require_workspace
from opsview.workspaces.permissions import AUDIT, require


@login_required
def entries(request, masked_fields_for):
    """Every entry of the workspace; ``masked_fields_for(workspace)`` names the fields its changes mask."""
    workspace = require_workspace(request)
    require(request.user, workspace, AUDIT)
    filterset = AuditFilterSet(request.GET, AuditEntry.objects.visible_to(request.user, workspace))
    page = Paginator(filterset.qs.order_by("-at", "-id"), 100).get_page(request.GET.get("page"))
    masked = masked_fields_for(workspace)  # payload edits must not show what the detail page masks
    for entry in page.object_list:
        entry.changes = masked_changes(entry, masked)
    context = {"page": page, "wanted": filterset.wanted, "families": ACTION_FAMILIES}
    return render(request, "audit/entries.html", context)
