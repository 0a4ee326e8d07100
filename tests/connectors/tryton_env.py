"""A real trytond for the tests: its own venv, a template database built once, one server per session.

The Tryton venv (trytond, proteus and the modules, from PyPI) lives apart from the
app's, under ``OPSVIEW_TRYTON_CACHE`` (default ``~/.cache/opsview/tryton``), and so
does the template SQLite database: activated modules plus the scenario data of
``tryton_scenario.py``, keyed by the installed versions and the scenario's text.
One ``trytond`` on a free port of 127.0.0.1 serves the session, and each test gets a
database of its own: a fresh copy of the template (or of the firm database). Nothing
is skipped: if Tryton cannot be installed or started, the tests fail and say why.
"""

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import httpx

from opsview.demo.erp import env
from opsview.demo.erp.env import (  # noqa: F401 - the tests' fixtures import them from here
    ADMIN_PASSWORD,
    PACKAGES,
    SERIES,
    TrytonUnavailable,
    free_port,
    locked,
    run,
    write_config,
)

DATABASE = "opsview"
SCENARIO = Path(__file__).with_name("tryton_scenario.py")


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opsview" / "tryton"
    return Path(os.environ.get("OPSVIEW_TRYTON_CACHE") or default)


def ensure_venv(root: Path, timings: dict) -> Path:
    """The Tryton venv of the cache, created and installed on first use."""
    return env.ensure_venv(root / f"venv-{SERIES}-py{sys.version_info.major}{sys.version_info.minor}", timings)


def ensure_template(root: Path, venv: Path, timings: dict) -> tuple[Path, dict]:
    """The template database and the ids its scenario made; built once per base database and scenario."""
    base = env.ensure_base(root, venv, timings)
    key = hashlib.sha256((base.name + SCENARIO.read_text()).encode()).hexdigest()[:16]
    template = root / f"template-{key}"
    if (template / "scenario.json").exists():
        return template, json.loads((template / "scenario.json").read_text())
    started = time.monotonic()
    building = root / f"building-{key}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    config = write_config(building)
    shutil.copyfile(base, building / f"{DATABASE}.sqlite")
    out = run([str(venv / "bin" / "python"), str(SCENARIO), "build", str(config), DATABASE], what="scenario build")
    (building / "scenario.json").write_text(out.strip().splitlines()[-1])
    (building / "trytond.conf").unlink()
    for stale in root.glob("template-*"):  # built by an older scenario or other versions
        shutil.rmtree(stale, ignore_errors=True)
    building.rename(template)
    timings["template_seconds"] = round(time.monotonic() - started, 1)
    return template, json.loads((template / "scenario.json").read_text())


def prepare() -> tuple[Path, Path, dict, dict]:
    """Install and build what is missing; returns (venv, template dir, scenario ids, timings)."""
    root = cache_root()
    timings = {}
    with locked(root):
        venv = ensure_venv(root, timings)
        template, ids = ensure_template(root, venv, timings)
    return venv, template, ids, timings


class TrytonHost(env.TrytonServer):
    """One trytond for the whole test session, serving a fresh copy of a built database to each test.

    trytond lists the databases of its directory at most every five minutes (its session timeout) and
    serves none it has not listed, so the copies are made before it starts: as many of each kind as the
    session's tests will take. A test that finds none left gets a new copy and a restarted server.
    """

    def __init__(self, venv: Path, directory: Path):
        super().__init__(venv, directory, [])
        self.sources, self.unused, self.made = {}, {}, 0

    def provide(self, kind: str, source: Path, count: int):
        """Copies of the SQLite file ``source`` for ``count`` tests, as databases ``KIND-N``."""
        self.sources[kind] = source
        self.unused.setdefault(kind, [])
        for _ in range(count):
            self.made += 1
            name = f"{kind}-{self.made}"
            shutil.copyfile(source, self.directory / f"{name}.sqlite")
            self.unused[kind].append(name)

    def start(self, timeout=60):
        self.databases = [next(name for names in self.unused.values() for name in names)]
        return super().start(timeout)

    def take(self, kind: str) -> str:
        """A database of ``kind`` no test has used, loaded by the server (trytond loads it on a first request)."""
        if not self.unused[kind]:
            self.provide(kind, self.sources[kind], 1)
            self.stop()
            self.start()
        name = self.unused[kind].pop(0)
        # A login does not load a database's modules; this path does (then answers 404).
        httpx.get(f"{self.url}/{name}/r/load", timeout=120)
        return name


class TrytonDatabase:
    """One test's own Tryton database on the session's server: where it is, and its scenario's ids."""

    def __init__(self, host: TrytonHost, database: str, ids: dict | None = None):
        self.host, self.database, self.ids = host, database, ids or {}
        self.venv, self.url, self.port = host.venv, host.url, host.port
        self.username, self.password = host.username, host.password

    def rpc_url(self, database: str) -> str:
        """The XML-RPC address of ``database`` on the server, as proteus takes it."""
        return self.host.rpc_url(database)

    def open_fiscal_year(self, day: str) -> dict:
        """Fix the cause of a failed posting as an accountant would: create the fiscal year, through the server."""
        args = ("open-fiscal-year", self.rpc_url(self.database), self.username, self.password, day)
        out = env.tools(self.venv, *args, what="opening the fiscal year")
        return json.loads(out)


FIRM = "firm"
FIRM_SPEC = {
    "company": "Northwind Consulting",
    "currency": "EUR",
    "fiscal_years": [2026],
    "closed_before": "2026-10-01",  # September and before are closed
    "timesheets_from": "2026-11-01",
    "taxes": [["VAT19", "0.19"]],
    "clients": [["CL-1001", "Acme Logistics"]],
    "people": [["E-101", "Anna Becker", None], ["E-102", "Ben Schmidt", "2026-11-15"]],  # Ben's contract ends
    "product": "Consulting hour",
    "unbooked": ["Travel time"],
    "projects": [["NW-0401", "Acme Rollout", "CL-1001"], ["NW-0402", "Acme Site Visits", "CL-1001", "Travel time"]],
}


def prepare_firm() -> tuple[Path, Path]:
    """The venv and a firm database built by the demo's own tools from ``FIRM_SPEC`` (cached like the template)."""
    from opsview.demo.erp import env

    root = cache_root()
    with locked(root):
        venv = ensure_venv(root, {})
        base = env.ensure_base(root, venv)
        spec = json.dumps(FIRM_SPEC, sort_keys=True)
        key = hashlib.sha256((base.name + spec + env.TOOLS.read_text()).encode()).hexdigest()[:16]
        firm = root / f"firm-{key}.sqlite"
        if not firm.exists():
            building = root / f"building-firm-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir()
            shutil.copyfile(base, building / f"{FIRM}.sqlite")
            (building / "spec.json").write_text(spec)
            config = env.write_config(building)
            env.tools(venv, "firm", str(config), FIRM, str(building / "spec.json"), what="building the firm")
            for stale in root.glob("firm-*.sqlite"):
                stale.unlink()
            (building / f"{FIRM}.sqlite").rename(firm)
            shutil.rmtree(building)
    return venv, firm
