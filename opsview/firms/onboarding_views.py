"""The onboarding checklist page: what this firm still needs, each step with where to do it."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from opsview.firms.checklist import onboarding
from opsview.workspaces.http import require_workspace
from opsview.workspaces.permissions import ADMINISTER, can


@login_required
def onboarding_page(request):
    workspace = require_workspace(request)
    if not can(request.user, workspace, ADMINISTER):
        raise PermissionDenied("Only workspace admins set up the firm.")
    return render(request, "firms/onboarding.html", {"checklist": onboarding(workspace)})
