"""A signed-in user's workspace colours as a stylesheet, so pages carry no inline style.

The Content-Security-Policy allows styles from the app's own origin only (no 'unsafe-inline'), so the
accent colour that base.html used to write into a <style> element is served here instead: the current
workspace's accent as ``--accent``, and each of the user's workspaces' colour for its portfolio tile.
A colour is written only when it is exactly ``#rrggbb`` and a slug only when it is a plain slug, so a
value that reached the database another way can never break out of the rule. The answer is private and
revalidated by ETag: cacheable, yet a new colour shows on the next page.
"""

import hashlib
import re

from django.http import HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_GET

from opsview.workspaces.models import Workspace

DEFAULT_ACCENT = "#2456a6"
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def safe_colour(value):
    return value if isinstance(value, str) and COLOUR.fullmatch(value) else DEFAULT_ACCENT


def theme_css(user, current):
    """The stylesheet text for ``user`` whose current workspace is ``current`` (or None)."""
    lines = []
    if current is not None and current.accent_color:
        lines.append(f":root {{ --accent: {safe_colour(current.accent_color)}; }}")
    for workspace in Workspace.objects.visible_to(user).order_by("pk"):
        if SLUG.fullmatch(workspace.slug):
            colour = safe_colour(workspace.accent_color)
            lines.append(f'.workspace-tile[data-workspace="{workspace.slug}"] {{ border-top-color: {colour}; }}')
    return "\n".join(lines) + "\n"


@require_GET
def workspace_theme(request):
    body = theme_css(request.user, getattr(request, "workspace", None)).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
