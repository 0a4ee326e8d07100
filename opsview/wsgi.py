import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from opsview.common.longlived import freeze_what_is_loaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsview.settings")
application = get_wsgi_application()

get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view now, to freeze them too)
freeze_what_is_loaded()
