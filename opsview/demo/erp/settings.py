"""Where the demo ERP lives and listens: ``var/tryton`` of the app's var directory, port 8010 by default."""

import os
from pathlib import Path

from django.conf import settings

DEFAULT_PORT = 8010
DATABASES_FILE = "databases"


def erp_root() -> Path:
    """The demo ERP's directory: its venv, base database and the firms' databases."""
    return Path(settings.VAR_DIR) / "tryton"


def erp_port() -> int:
    """The port the demo's trytond listens on (``OPSVIEW_DEMO_ERP_PORT``, default 8010)."""
    return int(os.environ.get("OPSVIEW_DEMO_ERP_PORT") or DEFAULT_PORT)


def erp_url() -> str:
    """The demo ERP's address."""
    return f"http://127.0.0.1:{erp_port()}"
