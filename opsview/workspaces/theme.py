"""A signed-in user's workspace colours as a stylesheet, so pages carry no inline style.

The Content-Security-Policy allows styles from the app's own origin only (no 'unsafe-inline'), so the
accent colour that base.html used to write into a <style> element is served as a stylesheet instead
(``views.workspace_theme``): the current workspace's accent as ``--accent``, and each of the user's
workspaces' colour for its portfolio tile. A colour is written only when it is exactly ``#rrggbb`` and a
slug only when it is a plain slug, so a value that reached the database another way can never break out
of the rule.
"""

import re

# opsview's blue: the accent of a workspace that has not chosen one. static/css/opsview.css starts
# with the same ``--accent`` for pages outside a workspace; tests/test_csp.py checks the two agree.
DEFAULT_ACCENT = "#2456a6"
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def safe_colour(value):
    """``value`` if it is exactly ``#rrggbb``, else the default accent."""
    return value if isinstance(value, str) and COLOUR.fullmatch(value) else DEFAULT_ACCENT


def theme_css(current, workspaces):
    """The stylesheet text for a user whose current workspace is ``current`` (or None) and who sees ``workspaces``."""
    lines = []
    if current is not None and current.accent_color:
        lines.append(f":root {{ --accent: {safe_colour(current.accent_color)}; }}")
    for workspace in workspaces:
        if SLUG.fullmatch(workspace.slug):
            colour = safe_colour(workspace.accent_color)
            lines.append(f'.workspace-tile[data-workspace="{workspace.slug}"] {{ border-top-color: {colour}; }}')
    return "\n".join(lines) + "\n"
