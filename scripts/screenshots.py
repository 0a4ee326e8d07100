"""Screenshots of each demo role's main page at 1440 px, for a person to review: ``make screenshots``.

By default it loads a demo of its own (SQLite under var/screenshots-app, without the demo ERP, as
``make run`` would load it otherwise), serves it on a free port with the development server and writes
var/screenshots/<role>.png (the whole page, charts drawn) and var/screenshots/index.html listing them.
``--url http://127.0.0.1:8000`` photographs a demo that is already running (``make run``) instead.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opsview.demo.catalog import DEMO_PASSWORD  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "var" / "screenshots"
APP_VAR = ROOT / "var" / "screenshots-app"

# Each role's main page: where their day starts.
MAIN_PAGES = {
    "operator": ("/queues/", "The exception queue, most money at stake first"),
    "manager": ("/dashboards/projects/", "My projects: billing status"),
    "executive": ("/dashboards/executive/", "The executive dashboard"),
    "admin": ("/settings/systems/", "Systems and their connections"),
    "partner": ("/dashboards/portfolio/", "The partner's portfolio of firms"),
    "partnerops": ("/queues/?firm=all", "The queue across every firm the partner runs"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_demo(env):
    """A fresh demo in its own SQLite file: seeded, its queues filled, two months reconciled, days rolled up."""
    shutil.rmtree(APP_VAR, ignore_errors=True)
    APP_VAR.mkdir(parents=True)
    for command in (
        ["migrate", "--no-input", "-v", "0"],
        ["seed_demo", "--without-erp"],
        ["backfill_queues"],
        ["reconcile", "--months", "2"],
        ["rollup_kpis"],  # what the task cluster of make run does within its first minutes
    ):
        print("manage.py", " ".join(command), flush=True)
        subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def serve(env):
    port = free_port()
    server = subprocess.Popen(
        [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/login/", timeout=2)
            return server, url
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    sys.exit(f"The development server did not answer on {url} within 60 s.")


def photograph(url):
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for role, (path, _caption) in MAIN_PAGES.items():
            context = browser.new_context(base_url=url, viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto("/login/")
            page.fill("input[name=username]", role)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            page.goto(path)
            page.wait_for_load_state("load")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.chart[data-figure]')).every(c => c.dataset.rendered)"
            )
            target = OUT / f"{role}.png"
            page.screenshot(path=str(target), full_page=True)
            print(f"{role:<11} {path:<24} {target.relative_to(ROOT)}", flush=True)
            context.close()
        browser.close()
    rows = "\n".join(
        f'<h2>{role}: {caption} <code>{path}</code></h2>\n<img src="{role}.png" alt="{caption}" width="1440">'
        for role, (path, caption) in MAIN_PAGES.items()
    )
    (OUT / "index.html").write_text(
        f'<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>opsview screenshots</title>\n{rows}\n</html>\n'
    )
    print(f"{len(MAIN_PAGES)} screenshots in {OUT.relative_to(ROOT)}/ (index.html shows them together)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="photograph the demo running there instead of loading one")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is not installed: apt-get install chromium (make screenshots does it)")
    if args.url:
        photograph(args.url.rstrip("/"))
        return
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(OPSVIEW_VAR_DIR=str(APP_VAR), OPSVIEW_DEBUG="1", OPSVIEW_COLLECTED_STATIC="0")
    load_demo(env)
    server, url = serve(env)
    try:
        photograph(url)
    finally:
        os.killpg(server.pid, 15)
        server.wait()


if __name__ == "__main__":
    main()
