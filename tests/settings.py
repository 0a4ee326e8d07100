"""The tests run as a development machine does: OPSVIEW_DEBUG=1, set here before the settings are read.

Production's defaults (OPSVIEW_DEBUG unset) refuse to start without secrets; tests of those
defaults start their own process with the environment they mean (tests/test_production_settings.py).
The variable stays in the environment, so processes the tests start (a task cluster) see it too.
"""

import os

os.environ.setdefault("OPSVIEW_DEBUG", "1")

from opsview.settings import *  # noqa: E402, F403
