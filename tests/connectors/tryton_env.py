"""A real trytond for the tests: its own venv, a template database built once, a server per test.

The Tryton venv (trytond, proteus and the modules, from PyPI) lives apart from the
app's, under ``OPSVIEW_TRYTON_CACHE`` (default ``~/.cache/opsview/tryton``), and so
does the template SQLite database: activated modules plus the scenario data of
``tryton_scenario.py``, keyed by the installed versions and the scenario's text.
Each test gets a copy of the template and a ``trytond`` started on a free port of
127.0.0.1, stopped after it. Nothing is skipped: if Tryton cannot be installed or
started, the tests fail and say why.
"""

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

SERIES = "8.2"
PACKAGES = [
    f"{name}=={SERIES}.*"
    for name in (
        "trytond", "proteus", "trytond_account", "trytond_account_invoice", "trytond_company", "trytond_project",
        "trytond_project_invoice", "trytond_timesheet",
    )
]  # fmt: skip
MODULES = ["project_invoice", "account_invoice", "timesheet"]
ADMIN_PASSWORD = "opsview-tryton-admin"
DATABASE = "opsview"
SCENARIO = Path(__file__).with_name("tryton_scenario.py")


class TrytonUnavailable(RuntimeError):
    """Tryton could not be installed, built or started; the message says where it failed."""


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opsview" / "tryton"
    return Path(os.environ.get("OPSVIEW_TRYTON_CACHE") or default)


@contextmanager
def locked(root: Path):
    """Serialise building between test processes that share the cache."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args, *, env=None, timeout=600, what):
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TrytonUnavailable(f"{what}: {error}") from error
    if done.returncode != 0:
        raise TrytonUnavailable(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def ensure_venv(root: Path, timings: dict) -> Path:
    """The Tryton venv, created and installed on first use."""
    venv = root / f"venv-{SERIES}-py{sys.version_info.major}{sys.version_info.minor}"
    marker = venv / ".opsview-installed"
    if marker.exists() and marker.read_text() == "\n".join(PACKAGES):
        return venv
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)], what="creating the Tryton venv")
    run([str(venv / "bin" / "pip"), "install", "--quiet", *PACKAGES], what="installing Tryton from PyPI")
    marker.write_text("\n".join(PACKAGES))
    timings["install_seconds"] = round(time.monotonic() - started, 1)
    return venv


def write_config(directory: Path, port: int | None = None) -> Path:
    lines = ["[database]", "uri = sqlite://", f"path = {directory}"]
    if port:
        lines += ["[web]", f"listen = 127.0.0.1:{port}"]
    config = directory / "trytond.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def ensure_template(root: Path, venv: Path, timings: dict) -> tuple[Path, dict]:
    """The template database and the ids its scenario made; built once per versions and scenario."""
    freeze = run([str(venv / "bin" / "pip"), "freeze"], what="listing the Tryton venv")
    key = hashlib.sha256((freeze + SCENARIO.read_text() + " ".join(MODULES)).encode()).hexdigest()[:16]
    template = root / f"template-{key}"
    if (template / "scenario.json").exists():
        return template, json.loads((template / "scenario.json").read_text())
    started = time.monotonic()
    building = root / f"building-{key}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    config = write_config(building)
    (building / f"{DATABASE}.sqlite").touch()
    (building / "password").write_text(ADMIN_PASSWORD)
    env = {**os.environ, "TRYTONPASSFILE": str(building / "password")}
    run([str(venv / "bin" / "trytond-admin"), "-c", str(config), "-d", DATABASE, "--all", "--activate-dependencies",
         "--email", "admin@example.com", "-u", *MODULES], env=env, what="creating the Tryton database")  # fmt: skip
    out = run([str(venv / "bin" / "python"), str(SCENARIO), "build", str(config), DATABASE], what="scenario build")
    (building / "scenario.json").write_text(out.strip().splitlines()[-1])
    for leftover in ("trytond.conf", "password"):
        (building / leftover).unlink()
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TrytonServer:
    """``trytond -d opsview`` on a copy of the template, on a free port of 127.0.0.1."""

    def __init__(self, venv: Path, template: Path, ids: dict, workdir: Path):
        self.venv, self.ids, self.workdir = venv, ids, workdir
        shutil.copyfile(template / f"{DATABASE}.sqlite", workdir / f"{DATABASE}.sqlite")
        self.port = free_port()
        self.config = write_config(workdir, self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.database, self.username, self.password = DATABASE, "admin", ADMIN_PASSWORD
        self.process = None

    def start(self, timeout=60):
        log = open(self.workdir / "trytond.log", "w")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [str(self.venv / "bin" / "trytond"), "-c", str(self.config), "-d", DATABASE],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TrytonUnavailable(f"trytond exited:\n{(self.workdir / 'trytond.log').read_text()[-3000:]}")
            try:
                answer = httpx.post(f"{self.url}/rpc/", json={"id": 0, "method": "common.server.version", "params": []})
                if answer.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TrytonUnavailable(f"trytond did not answer on {self.url} within {timeout} s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def open_fiscal_year(self, day: str) -> dict:
        """Fix the cause of a failed posting as an accountant would: create the fiscal year, through the server."""
        url = f"{self.url}/{DATABASE}/rpc/"
        out = run([str(self.venv / "bin" / "python"), str(SCENARIO), "open-fiscal-year", url, self.username,
                   self.password, day],
                  what="opening the fiscal year")  # fmt: skip
        return json.loads(out.strip().splitlines()[-1])


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
    "projects": [["NW-0401", "Acme Rollout", "CL-1001"]],
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
