"""Static files as users get them: plotly.js only on pages that draw a chart, from the basic bundle in our own static
files; in production, collected under hashed names with Brotli and gzip copies, which whitenoise serves compressed
to a browser that accepts it and lets it keep for a year.

The production tests collect the static files (``collectstatic``, once per checkout: later runs reuse the copies in
``var/test-static/``) and start gunicorn with production's settings on the test database, then speak real HTTP to
it; the browser tests there sign in with Chromium and watch what it downloads.
"""

import fcntl
import functools
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import override_settings

from opsview.common.staticfiles import CollectedStaticFiles
from opsview.workspaces.roles import Role
from tests.browser import BROWSER, sign_in
from tests.conftest import PASSWORD, make_user, signed_in
from tests.dashboard_support import PERIOD, dashboard_books
from tests.process_support import kill_tree

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = "vendor/plotly/plotly-basic.min.js"
SCRIPT = re.compile(r'<script src="([^"]+)"')
YEAR = 31_536_000


def browser_test(test):
    return functools.reduce(lambda marked, mark: mark(marked), BROWSER, test)


def scripts(response):
    return SCRIPT.findall(response.content.decode())


# --- which pages load plotly.js (the pages as the test server renders them) -------------------------------------


def test_pages_that_draw_no_chart_load_no_plotly(client, northwind, erin, ada):
    signed_in(client, erin)
    for url in ("/dashboards/projects/", "/records/time-entries/", "/records/sync-events/", "/", "/queues/"):
        response = client.get(f"{url}?{PERIOD}")
        assert response.status_code == 200, url
        assert not [s for s in scripts(response) if "plotly" in s], url
        assert "/static/dashboards/charts.js" not in scripts(response), url


def test_chart_pages_load_the_basic_bundle_from_our_static_files(client, northwind, max_manager):
    signed_in(client, max_manager)
    for url in ("/dashboards/executive/", f"/dashboards/projects/{northwind.managed_project.pk}/"):
        response = client.get(f"{url}?{PERIOD}")
        assert 'class="chart" data-figure=' in response.content.decode(), url
        assert [s for s in scripts(response) if "plotly" in s] == [f"/static/{BUNDLE}"], url
        assert "/static/dashboards/charts.js" in scripts(response), url


def test_a_dashboard_whose_charts_are_all_empty_loads_no_plotly(client, northwind, erin):
    response = signed_in(client, erin).get("/dashboards/executive/?start=2001-01-01&end=2001-01-31")
    assert response.status_code == 200
    assert "Nothing to show for this period" in response.content.decode()
    assert not [s for s in scripts(response) if "plotly" in s]


def test_the_bundle_is_plotly_basic_of_the_version_its_note_names(client):
    assert Path(finders.find(BUNDLE)) == ROOT / "static" / BUNDLE
    head = b"".join(client.get(f"/static/{BUNDLE}").streaming_content)[:200].decode()
    version = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", head).group(1)
    note = (ROOT / "static" / "vendor" / "plotly" / "README").read_text()
    assert note.startswith(f"plotly.js {version}, basic bundle") and f"plotly.js-basic-dist-min@{version}" in note
    assert (ROOT / "static" / "vendor" / "plotly" / "LICENSE").read_text().startswith("MIT License")


# --- the collected files, served by gunicorn with production's settings -----------------------------------------


@pytest.fixture(scope="module")
def collected():
    """STATIC_ROOT after ``collectstatic`` with production's storage; held locked while this module runs."""
    var_dir = ROOT / "var" / "test-static"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = production_env(var_dir, "sqlite:///:memory:")
    with open(var_dir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run of the tests in this checkout collects after this one
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        yield var_dir


def production_env(var_dir, database_url):
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSVIEW_", "DJANGO_"))}
    return env | {
        "DJANGO_SETTINGS_MODULE": "opsview.settings",
        "DATABASE_URL": database_url,
        "OPSVIEW_VAR_DIR": str(var_dir),
        "SECRET_KEY": "test-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "OPSVIEW_CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "OPSVIEW_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "OPSVIEW_SECURE_COOKIES": "0",
    }


def database_url():
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def server(collected, django_db_setup, tmp_path_factory):
    """gunicorn as make serve runs it, on the test database and the collected files; its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    log = open(log_path, "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "opsview.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=production_env(collected, database_url()),
        stdout=log,
        stderr=log,
    )
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz"
            time.sleep(0.2)
        yield base
    finally:
        kill_tree(process)
        log.close()


def manifest(collected):
    return json.loads((collected / "staticfiles" / "staticfiles.json").read_text())["paths"]


def test_collectstatic_writes_hashed_names_their_compressed_copies_and_the_manifest(collected):
    hashed = manifest(collected)[BUNDLE]
    assert re.fullmatch(r"vendor/plotly/plotly-basic\.min\.[0-9a-f]{12}\.js", hashed)
    root = collected / "staticfiles"
    original = (ROOT / "static" / BUNDLE).read_bytes()
    assert (root / hashed).read_bytes() == original
    assert brotli.decompress((root / f"{hashed}.br").read_bytes()) == original
    assert gzip.decompress((root / f"{hashed}.gz").read_bytes()) == original
    assert not (root / BUNDLE).exists()  # pages name hashed files only


def test_whitenoise_serves_the_encoding_the_browser_accepts_cached_for_a_year(server, collected):
    url = f"{server}/static/{manifest(collected)[BUNDLE]}"
    original = (ROOT / "static" / BUNDLE).read_bytes()
    with httpx.Client() as http:
        for accepted, encoding in (("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)):
            response = http.get(url, headers={"Accept-Encoding": accepted})  # httpx decodes br and gzip
            assert response.status_code == 200
            assert response.headers.get("content-encoding") == encoding, accepted
            assert response.content == original
            assert f"max-age={YEAR}" in response.headers["cache-control"]
            assert "immutable" in response.headers["cache-control"]
            assert "accept-encoding" in response.headers["vary"].lower()
        compressed = http.get(url, headers={"Accept-Encoding": "br"})
    assert int(compressed.headers["content-length"]) < len(original) / 3


def test_production_pages_name_the_hashed_files(server, collected):
    page = httpx.get(f"{server}/login/").text
    assert f'href="/static/{manifest(collected)["css/opsview.css"]}"' in page
    assert "/static/css/opsview.css" not in page


def test_make_run_names_hashed_files_though_it_runs_with_debug(collected):
    storage = CollectedStaticFiles(location=str(collected / "staticfiles"))
    with override_settings(DEBUG=True):
        assert storage.url(BUNDLE) == f"/static/{manifest(collected)[BUNDLE]}"


@pytest.fixture
def production_user(transactional_db):
    """An executive of the dashboard books whose password production's hasher reads (the tests' MD5 it does not)."""
    books = dashboard_books()
    user = make_user("exec", books.workspace, Role.EXECUTIVE)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "static-files-test", iterations=1000)
    user.save()
    return user


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    ours = urlsplit(server).netloc
    context.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).netloc == ours else r.abort())
    page = context.new_page()
    page.fetched = {}
    page.on("response", lambda r: page.fetched.__setitem__(urlsplit(r.url).path, (r.status, r.all_headers())))
    yield page
    context.close()


@browser_test
def test_in_chromium_the_dashboard_draws_its_charts_with_the_compressed_basic_bundle(page, production_user, collected):
    sign_in(page, "exec")
    page.goto(f"/dashboards/executive/?{PERIOD}")
    charts = page.locator(".chart[data-figure]")
    assert charts.count() >= 6
    page.wait_for_function(
        "document.querySelectorAll('.chart[data-rendered=\"1\"]').length === "
        "document.querySelectorAll('.chart[data-figure]').length"
    )
    for n in range(charts.count()):
        assert charts.nth(n).locator("svg.main-svg").count() >= 1, f"chart {n} drew nothing"
    status, headers = page.fetched[f"/static/{manifest(collected)[BUNDLE]}"]
    assert status == 200 and headers["content-encoding"] == "br"
    assert not [path for path in page.fetched if "plotly.min" in path]  # not the full library

    page.fetched.clear()
    page.goto(f"/dashboards/projects/?{PERIOD}")
    page.wait_for_load_state("load")
    assert page.fetched  # the page and its own files were fetched and watched...
    assert not [path for path in page.fetched if "plotly" in path or "charts." in path]  # ...but no plotly.js
