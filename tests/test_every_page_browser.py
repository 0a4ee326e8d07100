"""Every page of every demo role in real Chromium, at 1440 and at 1280 px wide, on the demo's own data.

Each role signs in and walks the app as a person would: from the overview along every link it can follow
(the header's menus included), one page of each kind (a queue item, a group, a project, a sync run...), and
for the operator the dry run of a group's replay. Every page at both widths must show

- no horizontal scroll bar (nothing wider than the window),
- the header on one line (its three parts and the navigation's links side by side),
- no error in the browser's console and no script error,
- no request answered 4xx or 5xx (a missing icon, a stylesheet, the page itself),

and, at 1440 px, no serious or critical violation found by axe-core (vendored from npm in tests/vendor). The
sign-in and password-reset pages are walked signed out. Problems are gathered for the whole walk and listed
together, each with its page, so one run shows everything to mend.
"""

import re
from io import StringIO
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command

from opsview.demo.accounts import DEMO_USERNAMES
from opsview.demo.catalog import DEMO_PASSWORD
from opsview.queues import sync_failures
from opsview.telemetry.models import SyncEvent
from opsview.workspaces.roles import Role
from tests.browser import BROWSER
from tests.conftest import PASSWORD, make_user
from tests.demo_erp_support import SMALL

pytestmark = BROWSER

WIDTHS = (1440, 1280)
AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
MAX_PAGES_PER_ROLE = 60

# Not pages: sign-out, downloads, the API itself (its docs are a page), the Django admin, static files.
NOT_A_PAGE = re.compile(r"^/(logout/|admin/|static/|media/|api/(?!docs/$))|\.(csv|json)$|/(logo|theme\.css)$")

HEADER_ON_ONE_LINE = """() => {
  for (const selector of ['.topbar > *', '.topbar nav > *']) {
    const boxes = Array.from(document.querySelectorAll(selector))
      .map(e => e.getBoundingClientRect()).filter(r => r.height > 0);
    for (const a of boxes) for (const b of boxes) if (a.top >= b.bottom - 1) return false;
  }
  return true;
}"""
SERIOUS_AXE_VIOLATIONS = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.id + ' (' + v.impact + ', ' + v.nodes.length + '): ' + v.nodes.slice(0, 3)
    .map(n => n.target.join(' ') + ' ' + (n.any[0] || n.all[0] || n.none[0] || {}).message).join('; ')))"""


def kind_of(path):
    """A page's kind: its path with the numbers taken out (every queue item is one kind of page)."""
    return re.sub(r"/\d+(?=/|$)", "/<n>", path)


class Walk:
    """One signed-in (or signed-out) browser tab and what it found wrong, page by page."""

    def __init__(self, context):
        self.page = context.new_page()
        self.problems = []
        self.seen = set()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problem(f"script error: {error}"))
        self.page.on("response", self._response)

    def problem(self, text):
        self.problems.append(f"{urlsplit(self.page.url).path}: {text}")

    def _console(self, message):
        if message.type == "error":
            self.problem(f"console error: {message.text}")

    def _response(self, response):
        if response.status >= 400:
            self.problem(f"{response.request.method} {urlsplit(response.url).path} answered {response.status}")

    def check(self, width):
        page = self.page
        page.wait_for_load_state("load")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.chart[data-figure]')).every(c => c.dataset.rendered)"
        )
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            self.problem(f"{overflow} px wider than the window at {width} px")
        if not page.evaluate(HEADER_ON_ONE_LINE):
            self.problem(f"the header wraps at {width} px")
        if width == WIDTHS[0]:
            page.evaluate(AXE)  # through the DevTools protocol: the page's CSP does not apply to it
            for violation in page.evaluate(SERIOUS_AXE_VIOLATIONS):
                self.problem(f"axe: {violation}")

    def visit(self, url):
        """Open ``url`` at each width and check it; return the links it offers to pages of kinds not seen yet."""
        self.seen.add(kind_of(urlsplit(url).path))
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.goto(url)
            self.check(width)
        links = []
        for href in self.page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)"):
            parts = urlsplit(urljoin(self.page.url, href))
            if parts.netloc != urlsplit(self.page.url).netloc or NOT_A_PAGE.search(parts.path):
                continue
            if kind_of(parts.path) not in self.seen:
                links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return links

    def walk_from(self, start):
        queue = [start]
        while queue and len(self.seen) < MAX_PAGES_PER_ROLE:
            url = queue.pop(0)
            if kind_of(urlsplit(url).path) not in self.seen:
                queue.extend(self.visit(url))


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", "--without-erp", *SMALL, stdout=StringIO())
    call_command("backfill_queues", stdout=StringIO())
    call_command("reconcile", "--months", "2", stdout=StringIO())


@pytest.fixture
def new_context(browser, live_server):
    contexts = []

    def new():
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(20000)
        contexts.append(context)
        return context

    yield new
    for context in contexts:
        context.close()


def sign_in(walk, username, password=DEMO_PASSWORD):
    page = walk.page
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def open_a_dry_run(walk):
    """The operator's replay of a group shows its dry run first: a page reached by a form, not a link."""
    page = walk.page
    page.goto("/queues/?kind=posting_failure")
    page.locator("table.items tbody tr").first.locator("details.more summary").click()
    page.locator("table.items tbody tr").first.locator("a", has_text="its group").click()
    page.wait_for_url(re.compile(r"/queues/groups/\d+/"))
    with page.expect_navigation():
        page.get_by_role("button", name="Replay the whole group…").click()
    assert "Dry run" in page.locator("h1").inner_text()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        walk.check(width)


def test_every_page_of_every_role_is_usable_and_accessible(demo, new_context):
    problems, walked = [], {}

    signed_out = Walk(new_context())
    for url in ["/login/", "/password-reset/"]:
        signed_out.visit(url)
    problems += signed_out.problems

    for username in DEMO_USERNAMES:
        walk = Walk(new_context())
        sign_in(walk, username)
        walk.walk_from("/")
        if username == "operator":
            open_a_dry_run(walk)
        walked[username] = walk.seen
        problems += [f"{username}: {problem}" for problem in walk.problems]

    assert problems == [], "\n".join(problems)
    # The walk reached each role's work, not only its overview.
    for username in DEMO_USERNAMES:
        assert {"/", "/queues/", "/queues/<n>/", "/dashboards/executive/", "/api/docs/"} <= walked[username]
    assert {"/settings/systems/", "/settings/members/", "/audit/"} <= walked["admin"]
    assert {"/dashboards/portfolio/", "/partner/staff/", "/firms/new/"} <= walked["partner"]
    assert "/dashboards/projects/<n>/" in walked["manager"]


def test_the_walk_sees_what_it_looks_for(transactional_db, northwind, new_context):
    make_user("olga", northwind.workspace, Role.OPERATOR)
    walk = Walk(new_context())
    sign_in(walk, "olga", PASSWORD)
    walk.visit("/")
    assert walk.problems == []

    walk.page.evaluate("""() => {
      const main = document.querySelector('main');
      const wide = document.createElement('div');
      wide.style.width = '3000px';  // through the CSSOM, which the CSP allows, unlike a style attribute
      wide.style.height = '1em';
      main.append(wide);
      document.querySelector('.topbar nav').style.maxWidth = '120px';
      const image = document.createElement('img');
      image.src = '/static/img/no-such-picture.png';
      main.append(image);
      console.error('something broke');
    }""")
    walk.page.wait_for_function("() => document.querySelector('main img').complete")
    walk.check(1440)
    found = "\n".join(walk.problems)
    assert "wider than the window at 1440 px" in found
    assert "the header wraps at 1440 px" in found
    assert "GET /static/img/no-such-picture.png answered 404" in found
    assert "console error: something broke" in found
    assert "axe: image-alt (critical" in found  # an image with no text for a screen reader


FOCUS_SHOWS = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
  const text = (el.textContent || el.name || '').trim().slice(0, 40);
  return [el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + text, ring];
}"""


def test_every_control_is_reached_by_the_keyboard_and_shows_its_focus(transactional_db, northwind, new_context):
    sync_failures.on_sync_events(northwind.workspace, list(SyncEvent.objects.for_workspace(northwind.workspace)))
    make_user("olga", northwind.workspace, Role.OPERATOR)
    walk = Walk(new_context())
    sign_in(walk, "olga", PASSWORD)
    for url in ["/queues/", "/dashboards/executive/"]:
        walk.page.goto(url)
        walk.page.wait_for_load_state("load")
        walk.page.keyboard.press("Tab")
        assert walk.page.evaluate(FOCUS_SHOWS) == ["a Skip to the page's content", True]
        walk.page.keyboard.press("Enter")  # past the header's links
        reached, unseen = [], []
        for _ in range(80):  # the page's first controls, the queue's filters among them
            walk.page.keyboard.press("Tab")
            name, ring = walk.page.evaluate(FOCUS_SHOWS)
            if name.startswith("body"):  # past the page's last control
                break
            reached.append(name)
            if not ring:
                unseen.append(name)
        assert unseen == [], f"{url}: focus not visible on {unseen}"
        assert any(name.startswith("button") for name in reached), f"{url}: no button reached by Tab: {reached}"
    assert walk.problems == []
