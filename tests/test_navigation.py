"""Every page a role may use is reachable from the navigation it sees, and no link it is shown is a dead end."""

import html
import re
from collections import deque
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import signed_in

HREF = re.compile(r'<a\b[^>]*\bhref="([^"#]+)"')
TOPBAR_NAV = re.compile(r'<header class="topbar">.*?<nav>(.*?)</nav>', re.S)
SKIPPED = ("/logout/", "/static/", "/api/v1/", "/api/schema/", "/workspace/")

EVERYONE = ["home", "executive-dashboard", "queue", "my-projects", "sync-runs", "api-docs", "alerts", "my-alerts"]
PAGES = {
    "ada": EVERYONE + ["audit", "replays", "systems", "queue-settings", "tokens", "branding", "alert-rules"],
    "olivia": EVERYONE + ["audit", "replays"],
    "erin": EVERYONE + ["audit"],
    "max": EVERYONE,
}
NOT_SHOWN = {
    "ada": [],
    "olivia": ["systems", "queue-settings", "tokens", "branding", "alert-rules"],
    "erin": ["replays", "systems", "queue-settings", "tokens", "branding", "alert-rules"],
    "max": ["audit", "replays", "systems", "queue-settings", "tokens", "branding", "alert-rules"],
}


def links(content):
    for href in HREF.findall(content.decode()):
        href = html.unescape(href)
        local = href.startswith("/") and not href.startswith("//") and not href.startswith(SKIPPED)
        if local and not urlsplit(href).path.endswith((".csv", "/logo")):
            yield href


def nav_links(content):
    return list(links(TOPBAR_NAV.search(content.decode()).group(1).encode()))


def crawl(client, depth=2):
    """Pages reached by following links from the home page, by path: ``{path: status}``."""
    seen, queue = {}, deque([("/", 0)])
    while queue:
        url, level = queue.popleft()
        path = urlsplit(url).path
        if path in seen:
            continue
        response = client.get(url)
        seen[path] = (url, response.status_code)
        if response.status_code == 200 and level < depth and "html" in response.get("Content-Type", ""):
            queue.extend((href, level + 1) for href in links(response.content) if urlsplit(href).path not in seen)
    return seen


@pytest.fixture
def cast(northwind, ada, olivia, erin, max_manager):
    call_command("backfill_queues", stdout=StringIO())  # the queue has an exception to open
    return {"ada": ada, "olivia": olivia, "erin": erin, "max": max_manager}


@pytest.mark.parametrize("who", list(PAGES))
def test_every_page_of_a_role_is_reachable_from_its_home_page(client, cast, who):
    signed_in(client, cast[who])
    reached = crawl(client)
    for name in PAGES[who]:
        path = reverse(name)
        assert path in reached, f"{who} cannot reach {name} ({path}) by following links"
        assert reached[path][1] == 200, (name, reached[path])
    shown = {urlsplit(href).path for href in nav_links(client.get("/").content)}
    for name in NOT_SHOWN[who]:
        assert reverse(name) not in shown, f"{who}'s navigation links to {name}, which their role may not use"
    dead = {path: found for path, found in reached.items() if found[1] in (403, 404, 500)}
    assert not dead, f"links shown to {who} that fail: {dead}"


@pytest.mark.parametrize("who", list(PAGES))
def test_no_navigation_link_is_refused(client, cast, who):
    signed_in(client, cast[who])
    for page in ("/", reverse("queue"), reverse("executive-dashboard")):
        for href in nav_links(client.get(page).content):
            assert client.get(href).status_code == 200, f"{who}: the navigation link {href} on {page} fails"
