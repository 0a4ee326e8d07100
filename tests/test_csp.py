"""Every answer carries the strict Content-Security-Policy, and a workspace's colours reach pages through a
stylesheet that writes only a #rrggbb colour, whatever the database holds."""

import re

from django.conf import settings

from opsview.workspaces.models import Membership, Workspace
from opsview.workspaces.roles import Role
from opsview.workspaces.theme import DEFAULT_ACCENT
from tests.conftest import signed_in


def directives(response):
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


def test_pages_carry_a_policy_without_unsafe_inline(client, northwind, ada):
    for url in ("/login/", "/"):
        policy = directives(signed_in(client, ada).get(url) if url == "/" else client.get(url))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
        assert policy["img-src"] == "'self' data:" and policy["form-action"] == "'self'"


def test_the_theme_holds_the_current_accent_and_each_tile_colour(client, northwind, contoso, ada):
    Workspace.objects.filter(pk=northwind.workspace.pk).update(accent_color="#aa3366")
    css = signed_in(client, ada).get("/workspace/theme.css")
    assert ":root { --accent: #aa3366; }" in css.text

    Membership.objects.create(user=ada, workspace=contoso.workspace, role=Role.EXECUTIVE)
    css = client.get("/workspace/theme.css")
    assert css["Content-Type"] == "text/css; charset=utf-8" and css["Cache-Control"] == "private, no-cache"
    assert '.workspace-tile[data-workspace="northwind"] { border-top-color: #aa3366; }' in css.text
    assert '.workspace-tile[data-workspace="contoso"] { border-top-color: #2456a6; }' in css.text
    again = client.get("/workspace/theme.css", HTTP_IF_NONE_MATCH=css["ETag"])
    assert again.status_code == 304


def test_a_colour_that_is_not_rrggbb_never_reaches_the_stylesheet(client, northwind, ada):
    hostile = "red;}</style><script>alert(1)</script>"
    Workspace.objects.filter(pk=northwind.workspace.pk).update(accent_color=hostile[:7])
    css = signed_in(client, ada).get("/workspace/theme.css").text

    assert "red;" not in css and ":root { --accent: #2456a6; }" in css


def test_the_theme_shows_an_outsider_nothing_of_another_firm(client, northwind, contoso, oscar):
    Workspace.objects.filter(pk=northwind.workspace.pk).update(accent_color="#aa3366")
    css = signed_in(client, oscar).get("/workspace/theme.css").text

    assert "northwind" not in css and "#aa3366" not in css
    client.logout()  # signed out: an empty sheet, not a redirect to the sign-in page
    assert client.get("/workspace/theme.css").text.strip() == ""


def test_the_stylesheet_starts_from_the_same_default_accent_as_the_theme():
    # Pages outside a workspace (signing in) get their accent from the static stylesheet alone.
    stylesheet = (settings.BASE_DIR / "static" / "css" / "opsview.css").read_text()
    assert re.search(r"--accent: (#[0-9a-fA-F]{6});", stylesheet).group(1) == DEFAULT_ACCENT
