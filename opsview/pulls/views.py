"""Pull pages: an admin asks for a pull now."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from opsview.pulls.services import CannotPull, request_pull
from opsview.systems.models import System
from opsview.workspaces.http import require_admin


@login_required
@require_POST
def pull_now(request, pk):
    workspace = require_admin(request)
    system = get_object_or_404(System.objects.visible_to(request.user, workspace), pk=pk)
    try:
        request_pull(request.user, system)
    except CannotPull as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"Pull of '{system.name}' queued; its runs appear under sync runs.")
    return redirect("systems")
