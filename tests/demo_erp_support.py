"""The demo's real Tryton for tests (a pytest plugin, see conftest): firm databases built for a small seed.

``seed_demo`` finds the server through ``OPSVIEW_DEMO_ERP_PORT`` and ``demo_erp fix``
finds the Tryton venv under ``VAR_DIR``, exactly as after ``make run``.
"""

import shutil
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from opsview.demo.erp import env
from opsview.demo.erp.firms import build_firms, demo_plans
from opsview.demo.plan import Sizes

SMALL = ("--people", "24", "--time-entries", "3000", "--sync-events", "8000")
SIZES = Sizes.resolve(people=24, time_entries=3000, sync_events=8000)  # what SMALL seeds: the ERP is built for it


@pytest.fixture
def demo_erp(tryton_firm_build, tmp_path, settings, monkeypatch):
    venv, _firm = tryton_firm_build
    (base,) = venv.parent.glob("base-*.sqlite")
    settings.VAR_DIR = tmp_path
    (tmp_path / "tryton").mkdir()
    (tmp_path / "tryton" / "venv").symlink_to(venv)  # where ``demo_erp fix`` finds it
    names = build_firms(venv, base, tmp_path / "tryton" / "db", demo_plans(date.today(), SIZES), date.today())
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
