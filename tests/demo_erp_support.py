"""The demo's real Tryton for tests (a pytest plugin, see conftest): firm databases built for a small seed.

``seed_demo`` finds the server through ``OPSVIEW_DEMO_ERP_PORT`` and ``demo_erp fix``
finds the Tryton venv under ``VAR_DIR``, exactly as after ``make run``.
"""

import hashlib
import json
import os
import shutil
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from opsview.demo.erp import env
from opsview.demo.erp.firms import build_firms, demo_plans, spec_for
from opsview.demo.plan import Sizes

SMALL = ("--people", "24", "--time-entries", "3000", "--sync-events", "8000")
SIZES = Sizes.resolve(people=24, time_entries=3000, sync_events=8000)  # what SMALL seeds: the ERP is built for it


@pytest.fixture(scope="session")
def demo_erp_build(tryton_firm_build):
    """The demo firms' databases for today's small seed, built by the demo's own code.

    Kept in the Tryton cache under a hash of what they are built from (the base database, each firm's
    spec, which names today's dates, and the tools that build them), so a day's runs build them once.
    """
    venv, _firm = tryton_firm_build
    root = venv.parent
    (base,) = root.glob("base-*.sqlite")
    today = date.today()
    plans = demo_plans(today, SIZES)
    specs = json.dumps([spec_for(plan, today) for plan in plans], sort_keys=True)
    key = hashlib.sha256((base.name + specs + env.TOOLS.read_text()).encode()).hexdigest()[:16]
    built = root / f"demo-firms-{key}"
    with env.locked(root):
        if not built.exists():
            building = root / f"building-demo-firms-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            build_firms(venv, base, building, plans, today)
            for stale in root.glob("demo-firms-*"):
                shutil.rmtree(stale, ignore_errors=True)
            building.rename(built)
    return venv, built, [plan.slug for plan in plans]


@pytest.fixture
def demo_erp(demo_erp_build, tmp_path, settings, monkeypatch):
    """A trytond serving fresh copies of the demo firms' databases, where ``make run`` would have it."""
    venv, built, names = demo_erp_build
    settings.VAR_DIR = tmp_path
    (tmp_path / "tryton" / "db").mkdir(parents=True)
    (tmp_path / "tryton" / "venv").symlink_to(venv)  # where ``demo_erp fix`` finds it
    for name in names:
        shutil.copyfile(built / f"{name}.sqlite", tmp_path / "tryton" / "db" / f"{name}.sqlite")
    server = env.TrytonServer(venv, tmp_path / "tryton" / "db", names)
    monkeypatch.setenv("OPSVIEW_DEMO_ERP_PORT", str(server.port))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(tmp_path / "tryton", ignore_errors=True)


def fix(*args):
    """``manage.py demo_erp fix ARGS``: a cause fixed in Tryton through its running server; what it printed."""
    out = StringIO()
    call_command("demo_erp", "fix", *args, stdout=out)
    return out.getvalue()
