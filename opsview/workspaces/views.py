"""Switching workspace, and a workspace's logo and colours for the header of every page."""

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from opsview.workspaces.http import safe_next
from opsview.workspaces.logos import logo_response
from opsview.workspaces.middleware import SESSION_KEY
from opsview.workspaces.models import Workspace, WorkspaceLogo
from opsview.workspaces.theme import theme_css


@login_required
@require_POST
def switch_workspace(request):
    wanted = request.POST.get("workspace")
    for membership in request.memberships:
        if str(membership.workspace_id) == wanted:
            request.session[SESSION_KEY] = membership.workspace_id
            messages.info(request, f"Switched to {membership.workspace.name}.")
            break
    else:
        raise Http404("No such workspace among yours.")
    return redirect(safe_next(request, "/"))


@login_required
@require_GET
def logo(request, pk):
    """The logo of a workspace the user belongs to; 404 for any other."""
    workspace = get_object_or_404(Workspace.objects.visible_to(request.user), pk=pk)
    image = get_object_or_404(WorkspaceLogo, workspace=workspace)
    return logo_response(image, "private")


@require_GET
def workspace_theme(request):
    """The user's workspace colours as a stylesheet (see ``theme``); private, and revalidated by ETag so a
    new colour shows on the next page."""
    workspaces = Workspace.objects.visible_to(request.user).order_by("pk")
    body = theme_css(getattr(request, "workspace", None), workspaces).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
