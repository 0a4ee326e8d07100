"""Browser: every demo role's main pages in Chromium, on the demo served as production serves it.

Run with ``make bench-browser`` (``BENCH_ARGS`` passes the options below). It

1. (re)creates a PostgreSQL database (``opsview_perf_browser_bench`` on 127.0.0.1:5432; ``--sqlite`` uses a
   SQLite file instead) and loads the demo as ``make run`` does: ``seed_demo`` at its default size (two firms,
   six months), without the demo ERP, then ``backfill_queues``, ``reconcile --months 6`` and ``rollup_kpis``
   (what the running task cluster would have done by the time someone looks);
2. collects the static files (``collectstatic``, with whatever storage the settings name) and serves the
   app as production does: gunicorn with ``OPSVIEW_DEBUG=0``, 3 workers x 2 threads, static files by
   whitenoise from the collected directory;
3. signs each demo login in once (admin, operator, manager, executive, partner, partnerops; see
   ``opsview/demo/accounts.py``), then opens each of that role's main pages ``--runs`` times (default 5),
   each time in a new browser context (cold cache, the role's session cookie only). Chromium may reach
   nothing but the app: any other request is refused and fails the bench;
4. for each page, takes the time from navigation start until the page is usable (``usable``): its load event
   and, on a page with charts, every chart drawn (``charts.js`` marks each chart ``data-rendered`` once plotly
   has drawn it). The table shows the median of the runs, and beside it the time to the first byte of the
   page (``ttfb``, the server's part), to the end of DOMContentLoaded (``dom``: the deferred scripts have run,
   plotly.js and the charts with them), the CPU time of the page's main thread (``cpu``, from Chromium's
   ThreadTime: what the browser did, less sensitive than the times to other work on the machine), the
   kilobytes transferred (compressed, headers included), the requests, the charts and the plotly.js loaded.

``--roles executive,manager`` opens only those roles' pages. The last line is
``worst_page_ms=N worst_page=PATH worst_role=ROLE`` (target: every page under 1,000 ms).
A page that answers an error, fetches something that fails, reports a Content-Security-Policy violation or
never draws its charts fails the bench.
"""

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import PG, ROOT, Gunicorn, drop_database, log, manage, recreate_database  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TARGET_MS = 1000

# Each role's main pages: where the brief says each of them comes to, then what they open from there.
# ``{project}``, ``{item}`` and ``{group}`` are found on the role's own pages (the first link of that kind).
PAGES = {
    "executive": [
        "/dashboards/executive/",
        "/",
        "/dashboards/projects/",
        "/records/time-entries/?status=unapproved",
        "/records/sync-events/?outcome=failed",
        "/reconciliation/",
    ],
    "manager": ["/dashboards/projects/", "{project}", "/dashboards/executive/", "/queues/"],
    "operator": ["/queues/", "{item}", "{group}", "/replays/", "/reconciliation/", "/runs/"],
    "admin": ["/", "/settings/systems/", "/onboarding/", "/settings/members/", "/audit/"],
    "partner": ["/dashboards/portfolio/", "/queues/?firm=all", "/partner/staff/"],
    "partnerops": ["/dashboards/portfolio/", "/queues/?firm=all"],
}
FOUND = {
    "{project}": ("/dashboards/projects/", r"^/dashboards/projects/\d+/$"),
    "{item}": ("/queues/", r"^/queues/\d+/$"),
    "{group}": ("/queues/", r"^/queues/groups/\d+/$"),
}

# Runs in every document before its own scripts: when the last chart was drawn, and any CSP violation.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.effectiveDirective + " refused " + (e.blockedURI || "inline"));
});
new MutationObserver(function () { window.__lastChartDrawn = performance.now(); })
  .observe(document, {subtree: true, attributes: true, attributeFilter: ["data-rendered"]});
"""
CHARTS = ".chart[data-figure]"
ALL_DRAWN = f"""() => {{
  const nav = performance.getEntriesByType("navigation")[0];
  return nav && nav.loadEventEnd > 0 &&
    document.querySelectorAll('{CHARTS}').length === document.querySelectorAll('{CHARTS}[data-rendered="1"]').length;
}}"""
MEASURE = f"""() => {{
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  return {{
    load: nav.loadEventEnd,
    drawn: window.__lastChartDrawn || 0,
    ttfb: nav.responseStart,
    dom: nav.domContentLoadedEventEnd,
    bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    requests: 1 + resources.length,
    charts: document.querySelectorAll('{CHARTS}').length,
    scripts: resources.filter(r => r.initiatorType === "script").map(r => r.name),
    violations: window.__violations,
  }};
}}"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold loads of each page (default 5); the median counts")
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "opsview_perf_browser_bench"), help="database")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file in var/bench-browser/ instead")
    parser.add_argument("--reuse", action="store_true", help="reuse the database a --keep run left loaded")
    parser.add_argument("--keep", action="store_true", help="keep the database and var/bench-browser/")
    parser.add_argument("--roles", default=",".join(PAGES), help="the roles whose pages to open (default all)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as make serve)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (default 2, as make serve)")
    return parser.parse_args()


def app_env(database_url, var_dir):
    key_file = var_dir / "credentials.key"  # the same key across --keep/--reuse runs
    if not key_file.exists():
        key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    env = dict(os.environ)
    env.pop("OPSVIEW_COLLECTED_STATIC", None)  # production's default, whatever the caller's shell says
    env.update(
        DATABASE_URL=database_url,
        OPSVIEW_VAR_DIR=str(var_dir),
        OPSVIEW_DEBUG="0",
        SECRET_KEY="bench-only-not-secret",
        OPSVIEW_CREDENTIALS_KEY=key_file.read_text(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        OPSVIEW_SSL_REDIRECT="0",  # plain HTTP on the loopback
        OPSVIEW_SECURE_COOKIES="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="opsview.settings",
    )
    return env


def load_demo(env):
    manage(env, "migrate", "--no-input")
    manage(env, "seed_demo", "--without-erp")
    manage(env, "backfill_queues")
    manage(env, "reconcile", "--months", "6")
    manage(env, "rollup_kpis")


class Browser:
    """Chromium that reaches only the app; every request elsewhere, error answer or violation is recorded."""

    def __init__(self, playwright, base):
        self.base, self.origin = base, urlsplit(base).netloc
        self.chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.problems = []

    def context(self, storage_state=None):
        context = self.chromium.new_context(
            base_url=self.base, viewport={"width": 1280, "height": 900}, storage_state=storage_state
        )
        context.set_default_timeout(30000)
        context.add_init_script(WATCH)
        context.route("**/*", self._only_ours)
        context.on("response", self._check)
        return context

    def _only_ours(self, route):
        if urlsplit(route.request.url).netloc == self.origin:
            route.continue_()
        else:
            self.problems.append(f"refused a request off the app: {route.request.url}")
            route.abort()

    def _check(self, response):
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def sign_in(self, username, password):
        context = self.context()
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login/)"))
        state = context.storage_state()
        return context, page, state

    def load(self, storage_state, path):
        context = self.context(storage_state)
        try:
            page = context.new_page()
            devtools = context.new_cdp_session(page)
            devtools.send("Performance.enable")
            before = main_thread_seconds(devtools)
            response = page.goto(path, wait_until="load")
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}")
            page.wait_for_function(ALL_DRAWN, polling=50)
            figures = page.evaluate(MEASURE)
            figures["cpu"] = (main_thread_seconds(devtools) - before) * 1000
        finally:
            context.close()
        if figures["violations"]:
            raise SystemExit(f"{path}: Content-Security-Policy violations: {figures['violations']}")
        figures["usable"] = max(figures["load"], figures["drawn"])
        return figures


def main_thread_seconds(devtools):
    """CPU time the page's main thread has used (parsing, scripts, style, layout, paint), load or no load."""
    metrics = devtools.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "ThreadTime")


def table_line(role, path, *cells):
    """One line of the table: role, page, the timings and counts right-aligned, then the plotly.js loaded."""
    return f"{role:<11} {path:<42} " + " ".join(f"{cell:>7}" for cell in cells[:-1]) + f"  {cells[-1]}"


def find_link(page, path, pattern):
    page.goto(path)
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
        if re.match(pattern, href):
            return href
    raise SystemExit(f"no link matching {pattern} on {path}")


def measure(base, runs, password, roles):
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = Browser(playwright, base)
        for role in roles:
            paths = PAGES[role]
            context, page, state = browser.sign_in(role, password)
            paths = [find_link(page, *FOUND[p]) if p in FOUND else p for p in paths]
            context.close()
            for path in paths:
                browser.load(state, path)  # the server's first answer (imports, caches) is not the page's
                loads = [browser.load(state, path) for _ in range(runs)]
                if browser.problems:
                    raise SystemExit(f"{role} {path}: " + "; ".join(sorted(set(browser.problems))))
                plotly = sorted({Path(urlsplit(s).path).name for s in loads[0]["scripts"] if "plotly" in s})
                row = {
                    "role": role,
                    "path": path,
                    "ms": statistics.median(f["usable"] for f in loads),
                    "ttfb_ms": statistics.median(f["ttfb"] for f in loads),
                    "dom_ms": statistics.median(f["dom"] for f in loads),
                    "cpu_ms": statistics.median(f["cpu"] for f in loads),
                    "kb": statistics.median(f["bytes"] for f in loads) / 1024,
                    "requests": loads[0]["requests"],
                    "charts": loads[0]["charts"],
                    "plotly": ",".join(plotly) or "-",
                }
                rows.append(row)
                numbers = (
                    row["ms"],
                    row["ttfb_ms"],
                    row["dom_ms"],
                    row["cpu_ms"],
                    row["kb"],
                    row["requests"],
                    row["charts"],
                )
                log(table_line(role, path, *(f"{n:.0f}" for n in numbers), row["plotly"]))
        browser.chromium.close()
    return rows


def main():
    args = parse_args()
    var_dir = ROOT / "var" / "bench-browser"
    if not args.reuse:
        shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{var_dir / 'demo.sqlite3'}" if args.sqlite else f"{PG}/{args.db}"
    env = app_env(database_url, var_dir)
    where = str(var_dir / "demo.sqlite3") if args.sqlite else f"PostgreSQL database {args.db}"
    log(f"bench-browser: the demo on {where}, gunicorn {args.workers} x {args.threads}, {args.runs} cold loads a page")
    try:
        if not args.reuse:
            if not args.sqlite:
                recreate_database(args.db)
            started = time.perf_counter()
            load_demo(env)
            log(f"demo loaded in {time.perf_counter() - started:.0f}s")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        collected = sum(f.stat().st_size for f in (var_dir / "staticfiles").rglob("*") if f.is_file())
        log(f"collected static files: {collected / 1e6:.1f} MB on disk")
        password = json.loads(
            subprocess.run(
                [PY, "-c", "import json; from opsview.demo.catalog import DEMO_PASSWORD as p; print(json.dumps(p))"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        with Gunicorn(env, args.workers, args.threads, var_dir / "gunicorn.log") as server:
            server.wait_healthy()
            log(f"gunicorn on {server.base}")
            log(table_line("role", "page", "usable", "ttfb", "dom", "cpu", "kB", "reqs", "charts", "plotly"))
            rows = measure(server.base, args.runs, password, args.roles.split(","))
    finally:
        if args.keep:
            log(f"kept {where} and {var_dir}")
        else:
            if not args.sqlite:
                drop_database(args.db)
            shutil.rmtree(var_dir, ignore_errors=True)
    worst = max(rows, key=lambda r: r["ms"])
    over = [r for r in rows if r["ms"] >= TARGET_MS]
    named = ", ".join(f"{r['role']} {r['path']}" for r in over)
    log(f"{len(rows)} pages; {len(over)} at or over {TARGET_MS} ms" + (f": {named}" if over else ""))
    log(f"worst_page_ms={worst['ms']:.0f} worst_page={worst['path']} worst_role={worst['role']}")


if __name__ == "__main__":
    main()
