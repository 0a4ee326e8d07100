"""How the suite runs (a pytest plugin, see conftest): the reused SQLite test database, and CI's rule that a
test needed on this leg must not skip.

The reused database (``--reuse-db``, on by default in pyproject.toml): right after the migrations build
the SQLite test database, a copy is kept beside it, named by a hash of every migration and the pinned
requirements. A run with ``--reuse-db`` starts from that copy: no migrations, and the rows the migrations
store (the task schedules) are there even though a transactional test of the last run flushed them. A
changed migration changes the hash, so the next run migrates afresh. ``--create-db`` (``make test``, CI)
always builds from scratch, and PostgreSQL always does: its test database is built once per run.

CI (``CI=true``): a browser or Tryton test that skips fails the run, saying why it skipped; so does a
PostgreSQL test on the PostgreSQL leg (``DATABASE_URL`` set). On the SQLite leg a PostgreSQL test's skip is
expected.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() == "true"
POSTGRESQL_LEG = bool(os.environ.get("DATABASE_URL"))

# Markers of tests that must run on every leg of CI; the ``postgresql`` marker's must run on the PostgreSQL leg.
NEEDED_EVERYWHERE = {"browser": "a browser test", "tryton": "a Tryton test"}


def migrations_key() -> str:
    """A short hash of what the migrated database depends on: our migrations and the pinned packages'."""
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    for migration in sorted(ROOT.glob("opsview/*/migrations/*.py")):
        digest.update(migration.relative_to(ROOT).as_posix().encode() + migration.read_bytes())
    return digest.hexdigest()[:16]


def sqlite_test_database():
    """The SQLite test database's file (this process's, see tests/settings.py), or None on PostgreSQL."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return None
    return Path(database["TEST"]["NAME"])


def _remove(database: Path):
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)


def _remove_left_behind(directory: Path):
    """Databases of runs that were killed before they could remove their own."""
    for database in directory.glob("opsview-*.sqlite3"):
        pid = database.stem.removeprefix("opsview-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove(database)


_run = {}


def pytest_configure(config):
    if POSTGRESQL_LEG and not os.environ["DATABASE_URL"].startswith("sqlite"):
        config.option.create_db = True  # see the module's docstring


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, request):
    """With ``--reuse-db``, start from the copy taken after the migrations (or migrate afresh without one)."""
    database = sqlite_test_database()
    if database is None:
        return
    _remove_left_behind(database.parent)
    _run["migrated"] = database.with_name(f"migrated-{migrations_key()}.sqlite3")
    _run["reuse"] = request.config.getvalue("reuse_db") and not request.config.getvalue("create_db")
    if _run["reuse"]:
        _remove(database)
        if _run["migrated"].exists():
            shutil.copyfile(_run["migrated"], database)
            _run["restored"] = True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """Keep a copy of a freshly migrated SQLite test database for the next ``--reuse-db`` run; remove ours after."""
    database = sqlite_test_database()
    if database is not None and not _run.get("restored"):
        migrated = _run["migrated"]
        for stale in migrated.parent.glob("migrated-*.sqlite3"):  # of other migrations
            if stale != migrated:
                stale.unlink(missing_ok=True)
        building = migrated.with_suffix(f".{os.getpid()}")
        with django_db_blocker.unblock(), sqlite3.connect(database) as source, sqlite3.connect(building) as copy:
            source.backup(copy)
        building.rename(migrated)
    yield
    if database is not None and request.config.getvalue("reuse_db"):  # kept by pytest-django, but this run's
        _remove(database)


@pytest.fixture(scope="session")
def migrated_sqlite(request):
    """``put(path, env)``: a migrated SQLite database at ``path``, as ``manage.py migrate`` with ``env`` leaves it.

    On SQLite, a copy of the database this run migrated (the same migrations, so the same tables and rows);
    on PostgreSQL, where there is none, ``migrate`` runs.
    """
    database = sqlite_test_database()
    if database is not None:
        request.getfixturevalue("django_db_setup")

    def put(path: Path, env: dict):
        migrated = _run.get("migrated")
        if database is not None and migrated is not None and migrated.exists():
            shutil.copyfile(migrated, path)
        else:
            migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v0"]
            subprocess.run(migrate, cwd=ROOT, env={**env, "DATABASE_URL": f"sqlite:///{path}"}, check=True)

    return put


def must_not_skip(item) -> str | None:
    """Why ``item`` must run on this leg of CI, or None when its skip is expected here."""
    for marker, what in NEEDED_EVERYWHERE.items():
        if item.get_closest_marker(marker):
            return what
    if POSTGRESQL_LEG and item.get_closest_marker("postgresql"):
        return "a PostgreSQL test on the PostgreSQL leg"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not CI or not report.skipped or hasattr(report, "wasxfail"):
        return
    what = must_not_skip(item)
    if what:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: {what} skipped, and CI must run it here. It skipped because: {reason}"
