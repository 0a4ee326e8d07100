"""A real trytond for the tests: its own venv, a template database built once, a server per test.

The Tryton venv (trytond, proteus and the modules, from PyPI) lives apart from the
app's, under ``OPSVIEW_TRYTON_CACHE`` (default ``~/.cache/opsview/tryton``), and so
does the template SQLite database: activated modules plus the scenario data of
``tryton_scenario.py``, keyed by the installed versions and the scenario's text.
Each test gets a copy of the template and a ``trytond`` started on a free port of
127.0.0.1, stopped after it. Nothing is skipped: if Tryton cannot be installed or
started, the tests fail and say why.
"""

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

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


class TrytonServer(env.TrytonServer):
    """``trytond -d opsview`` on a copy of the template, on a free port of 127.0.0.1."""

    def __init__(self, venv: Path, template: Path, ids: dict, workdir: Path):
        shutil.copyfile(template / f"{DATABASE}.sqlite", workdir / f"{DATABASE}.sqlite")
        super().__init__(venv, workdir, [DATABASE])
        self.ids, self.workdir, self.database = ids, workdir, DATABASE

    def open_fiscal_year(self, day: str) -> dict:
        """Fix the cause of a failed posting as an accountant would: create the fiscal year, through the server."""
        out = env.tools(self.venv, "open-fiscal-year", self.rpc_url(DATABASE), self.username, self.password, day,
                        what="opening the fiscal year")  # fmt: skip
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
