"""A real trytond beside the app: its own venv from PyPI, SQLite databases, one server on a port.

No Django here: ``scripts/demo_erp.py`` (run by ``make run``) and the tests use it
before any settings exist. Layout under a root directory (``var/tryton`` for the demo):

- ``venv/``: trytond, proteus and the modules, installed once;
- ``base-<key>.sqlite``: a database with the modules activated and nothing else,
  built once per installed versions (``trytond-admin --all`` takes a minute);
- ``db/<name>.sqlite``: the databases the server serves (the demo's: one per firm),
  each a copy of the base that ``tools.py`` filled in.

Scripts that run *inside* the Tryton venv (``tools.py``) sit beside this file.
"""

import fcntl
import hashlib
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
        "trytond",
        "proteus",
        "trytond_account",
        "trytond_account_invoice",
        "trytond_company",
        "trytond_project",
        "trytond_project_invoice",
        "trytond_timesheet",
    )
]
MODULES = ["project_invoice", "account_invoice", "timesheet"]
ADMIN_USER = "admin"
ADMIN_PASSWORD = "opsview-tryton-admin"
TOOLS = Path(__file__).with_name("tools.py")


class TrytonUnavailable(RuntimeError):
    """Tryton could not be installed, built or started; the message says where it failed."""


@contextmanager
def locked(root: Path):
    """Serialise installing and building between processes that share ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args, *, env=None, timeout=900, what):
    """Run a command to its end; its output, or TrytonUnavailable saying ``what`` failed and why."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TrytonUnavailable(f"{what}: {error}") from error
    if done.returncode != 0:
        raise TrytonUnavailable(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def ensure_venv(venv: Path, timings: dict | None = None) -> Path:
    """The Tryton venv at ``venv``, created and installed from PyPI when missing or of other versions."""
    marker = venv / ".opsview-installed"
    if marker.exists() and marker.read_text() == "\n".join(PACKAGES):
        return venv
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)], what="creating the Tryton venv")
    run([str(venv / "bin" / "pip"), "install", "--quiet", *PACKAGES], what="installing Tryton from PyPI")
    marker.write_text("\n".join(PACKAGES))
    if timings is not None:
        timings["install_seconds"] = round(time.monotonic() - started, 1)
    return venv


def write_config(directory: Path, port: int | None = None, name: str = "trytond.conf") -> Path:
    """A trytond configuration serving the SQLite databases in ``directory`` (on ``port`` if given)."""
    lines = ["[database]", "uri = sqlite://", f"path = {directory}"]
    if port:
        lines += ["[web]", f"listen = 127.0.0.1:{port}"]
    config = directory / name
    config.write_text("\n".join(lines) + "\n")
    return config


def versions_key(venv: Path, *extra: str) -> str:
    """A short hash of the installed packages (and ``extra`` texts): what a built database depends on."""
    freeze = run([str(venv / "bin" / "pip"), "freeze"], what="listing the Tryton venv")
    return hashlib.sha256((freeze + " ".join(MODULES) + "".join(extra)).encode()).hexdigest()[:16]


def ensure_base(root: Path, venv: Path, timings: dict | None = None) -> Path:
    """The SQLite file of a database with the modules activated and an admin user; built once per versions."""
    key = versions_key(venv)
    base = root / f"base-{key}.sqlite"
    if base.exists():
        return base
    started = time.monotonic()
    building = root / f"building-{key}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    config = write_config(building)
    (building / "base.sqlite").touch()
    (building / "password").write_text(ADMIN_PASSWORD)
    env = {**os.environ, "TRYTONPASSFILE": str(building / "password")}
    run(
        [
            str(venv / "bin" / "trytond-admin"),
            "-c",
            str(config),
            "-d",
            "base",
            "--all",
            "--activate-dependencies",
            "--email",
            "admin@example.com",
            "-u",
            *MODULES,
        ],
        env=env,
        what="creating the Tryton database",
    )
    for stale in root.glob("base-*.sqlite"):  # built with other versions
        stale.unlink()
    (building / "base.sqlite").rename(base)
    shutil.rmtree(building)
    if timings is not None:
        timings["base_seconds"] = round(time.monotonic() - started, 1)
    return base


def tools(venv: Path, *args: str, what: str, timeout=900) -> str:
    """Run ``tools.py`` with ``args`` in the Tryton venv; its last output line (JSON)."""
    out = run([str(venv / "bin" / "python"), str(TOOLS), *args], what=what, timeout=timeout)
    lines = out.strip().splitlines()
    return lines[-1] if lines else ""


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    """Whether a trytond answers at ``url``."""
    try:
        return httpx.post(f"{url}/rpc/", json={"id": 0, "method": "common.server.version", "params": []}).is_success
    except httpx.TransportError:
        return False


class TrytonServer:
    """``trytond`` serving ``databases`` (SQLite files in ``directory``) on ``port`` of 127.0.0.1.

    The databases are named when the server starts: trytond loads a database's modules
    then, and serves no database added later until it is restarted.
    """

    def __init__(self, venv: Path, directory: Path, databases: list[str], port: int | None = None):
        self.venv, self.directory, self.databases = venv, directory, list(databases)
        self.port = port or free_port()
        self.config = write_config(directory, self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.username, self.password = ADMIN_USER, ADMIN_PASSWORD
        self.process = None
        self.log = directory / "trytond.log"

    def start(self, timeout=60):
        """Start the server and wait until it answers; TrytonUnavailable when it does not."""
        if answers(self.url):
            raise TrytonUnavailable(f"another server answers on {self.url} already")
        log = open(self.log, "w")  # noqa: SIM115 - kept open for the server's lifetime
        command = [str(self.venv / "bin" / "trytond"), "-c", str(self.config), "-d", *self.databases]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TrytonUnavailable(f"trytond exited:\n{self.log.read_text()[-3000:]}")
            if answers(self.url):
                return self
            time.sleep(0.1)
        self.stop()
        raise TrytonUnavailable(f"trytond did not answer on {self.url} within {timeout} s")

    def stop(self):
        """Stop the server (terminate, then kill after 10 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rpc_url(self, database: str) -> str:
        """The XML-RPC address of ``database`` on this server, as proteus takes it."""
        return f"{self.url}/{database}/rpc/"
