"""The tests run as a development machine does: OPSVIEW_DEBUG=1, set here before the settings are read.

Production's defaults (OPSVIEW_DEBUG unset) refuse to start without secrets; tests of those
defaults start their own process with the environment they mean (tests/test_production_settings.py).
The variable stays in the environment, so processes the tests start (a task cluster) see it too.
"""

import os

os.environ.setdefault("OPSVIEW_DEBUG", "1")

from opsview.settings import *  # noqa: E402, F403
from opsview.settings import DATABASES, VAR_DIR  # noqa: E402

# Production hashes passwords slowly on purpose (PBKDF2, a million rounds); the cast signs in hundreds of
# times, and no test is about the hash itself, so the tests store passwords with a fast one.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's in-memory default, so a run can start from a copy of the migrated database
    # (``--reuse-db``, see tests/run_support.py); one per process, so two runs in one checkout do not collide.
    (VAR_DIR / "test-db").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db" / f"opsview-{os.getpid()}.sqlite3")}

# The tests read a batch's exceptions right after its response, so detection runs in the batch's
# transaction as on SQLite; tests/test_detection_outbox.py runs it behind the response, as production does.
INGEST_DETECTION = "inline"
