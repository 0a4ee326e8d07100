"""Django settings for opsview.

Everything is read from the environment. Without ``OPSVIEW_DEBUG=1`` the app runs as in production:
it refuses to start without ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``OPSVIEW_CREDENTIALS_KEY``, sends
HSTS, redirects to HTTPS and keeps cookies to HTTPS. ``make run`` and the tests set ``OPSVIEW_DEBUG=1``
(SQLite in ``var/``, the django-q2 ORM broker, tracebacks, mail on the console).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from opsview.env import envbool, envfloat, envint, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("OPSVIEW_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("OPSVIEW_DEBUG", False)


def required_in_production(name, how):
    """The variable's value; without it, production refuses to start and says what to set."""
    value = envstr(name).strip()
    if not value and not DEBUG:
        raise ImproperlyConfigured(
            f"{name} must be set when OPSVIEW_DEBUG=0 or unset (production). {how} "
            "For a development machine, set OPSVIEW_DEBUG=1 instead."
        )
    return value


SECRET_KEY = (
    required_in_production("SECRET_KEY", "Set it to a long random string, e.g. from: openssl rand -base64 48")
    or "dev-only-not-secret-opsview"
)
# Encrypts connector credentials at rest (a Fernet key); required in production.
OPSVIEW_CREDENTIALS_KEY = required_in_production(
    "OPSVIEW_CREDENTIALS_KEY",
    "Generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
)
ALLOWED_HOSTS = (
    required_in_production("ALLOWED_HOSTS", "List the host names the app answers to, comma-separated.")
    or "127.0.0.1,localhost,testserver"
).split(",")
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver leaves /static/ to whitenoise, as gunicorn does: make run serves the collected, hashed files.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "csp",
    "opsview.common",
    "django_filters",
    "django_htmx",
    "django_tables2",
    "opsview.workspaces",
    "opsview.audit",
    "opsview.records",
    "opsview.telemetry",
    "opsview.systems",
    "opsview.ingest",
    "opsview.queues",
    "opsview.demo",
    "opsview.kpis",
    "opsview.dashboards",
    "opsview.front",
    "opsview.pulls",
    "opsview.replay",
    "opsview.reconcile",
    "opsview.notify",
    "opsview.alerts",
    "opsview.firms",
    "opsview.accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "opsview.workspaces.middleware.CurrentWorkspaceMiddleware",
    "opsview.common.outofrange.OutOfRangeMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "opsview.accounts.backends.SignInThrottle",  # first: refuses locked-out accounts and addresses
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "opsview.urls"
WSGI_APPLICATION = "opsview.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opsview.workspaces.context_processors.current_workspace",
            ],
            "builtins": ["opsview.common.templatetags.numbers"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'opsview.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the task cluster writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Covering indexes are a PostgreSQL speed-up; SQLite builds the same indexes without the extra columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    planner = []
    if not envbool("DB_JIT", False):
        # Dashboards run dozens of mid-sized aggregates per page; PostgreSQL's JIT would spend longer
        # compiling each than running it (measured by bench/dashboards.py). DB_JIT=1 turns it back on.
        planner.append("-c jit=off")
    # PostgreSQL's default random_page_cost (4) prices spinning disks: with it the planner reads a whole
    # workspace's time entries rather than the few thousand unapproved ones an index finds (82 ms
    # against 24 ms at 1M entries). 1.1 is the usual value for SSDs and cached data; DB_RANDOM_PAGE_COST
    # sets another, or "" to keep the server's.
    random_page_cost = envstr("DB_RANDOM_PAGE_COST", "1.1")
    if random_page_cost:
        planner.append(f"-c random_page_cost={float(random_page_cost)}")
    if planner:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(planner)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "opsview.common.rediscache.PooledClientRedisCache", "LOCATION": REDIS_URL}}
else:
    # A file cache is shared by the web and task processes, so the web can
    # see the task cluster's heartbeat without a server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

_q_workers = envint("Q_WORKERS", 2)
Q_CLUSTER = {
    "name": "opsview",
    "workers": _q_workers,
    # Tasks a cluster takes from the broker ahead of its workers (django-q2's default: workers squared). The
    # Redis broker forgets a task once taken, so a cluster that dies loses these until requeue_stale finds
    # their replays; one waiting task a worker keeps them all busy (a replay task holds up to 50).
    "queue_limit": _q_workers,
    "timeout": 300,
    "retry": 360,
    "max_attempts": 1,
    "catch_up": False,
    "orm": "default",
    "poll": 1,
    # Successful tasks are not saved: what each did is in the app's own tables (replays and their attempts,
    # sync runs, deliveries) and nothing reads django-q2's; saving pruned the 250 last in a locked scan on
    # every task. Failed tasks are still saved.
    "save_limit": -1,
}
if REDIS_URL and envbool("Q_USE_REDIS", False):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = REDIS_URL
    # Deployments sharing one Redis keep their queues apart by name (the web and its cluster must agree).
    Q_CLUSTER["name"] = envstr("Q_NAME", "opsview")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Production (and make run) serve what `collectstatic` wrote to STATIC_ROOT: hashed names, Brotli and gzip
# copies, cached by browsers for a year (opsview/common/staticfiles.py); a page naming a file that was not
# collected fails loudly. OPSVIEW_COLLECTED_STATIC=0, the development default, serves the source files
# as they are edited, uncompressed.
COLLECTED_STATIC = envbool("OPSVIEW_COLLECTED_STATIC", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "opsview.common.staticfiles.CollectedStaticFiles"
        if COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not COLLECTED_STATIC
if COLLECTED_STATIC:
    WHITENOISE_AUTOREFRESH = False  # the collected files do not change under a running server, DEBUG or not
# Pages name only hashed files; the plain copies would double the disk and the compression time.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
# Source maps are fetched by a browser's developer tools alone, not by pages: not worth compressing.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]

# Content-Security-Policy: the browser runs and styles only what the app serves from its own origin,
# so markup that slips into a page (a payload, a name) can neither run script nor restyle it. No
# 'unsafe-inline' and no 'unsafe-eval': templates carry no inline script, handler or style; a
# workspace's colours come from a stylesheet view (workspace-theme), htmx is told not to inject its
# indicator style, and plotly finds its global rules already linked (templates/dashboards/_plotly.html).
# Browser tests fail on any violation (tests/browser.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("OPSVIEW_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS. Behind a proxy that ends TLS, OPSVIEW_PROXY_SSL_HEADER names the header it sets
# (e.g. X-Forwarded-Proto): a request carrying "https" there is taken as secure, so the redirect
# does not loop. Only set it when the proxy always sets or strips that header.
SECURE_SSL_REDIRECT = envbool("OPSVIEW_SSL_REDIRECT", not DEBUG)
# Load balancers and supervisors ask for health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
_proxy_header = envstr("OPSVIEW_PROXY_SSL_HEADER").strip()
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = envint("OPSVIEW_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("OPSVIEW_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("OPSVIEW_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading enrols the whole domain in browsers' HTTPS-only lists for months; the domain's
    # owner opts in with OPSVIEW_HSTS_PRELOAD=1, the app does not decide it for them.
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W021"]

# Mail (password resets): the console in development, SMTP from the environment in production.
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "opsview <opsview@localhost>")
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_TIMEOUT", 3 * 3600)

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT failed sign-ins an account, and
# separately an address, is locked for OPSVIEW_LOCKOUT_HOURS; `manage.py axes_reset_username NAME`
# (or axes_reset_ip, axes_reset) unlocks it sooner.
AXES_FAILURE_LIMIT = envint("OPSVIEW_LOGIN_FAILURE_LIMIT", 10)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = envint("OPSVIEW_LOCKOUT_HOURS", 1)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind a proxy every request comes from the proxy's address: the client's is the one it appended.
AXES_CLIENT_IP_CALLABLE = "opsview.accounts.lockouts.client_address"
OPSVIEW_BEHIND_PROXY = bool(_proxy_header)

# Replays: attempts per replay, the wait after each failed one (seconds, the last repeats), and how long a
# replay may stay running before it is taken for a lost worker's.
REPLAY_MAX_ATTEMPTS = envint("REPLAY_MAX_ATTEMPTS", 5)
REPLAY_BACKOFF_SECONDS = [int(s) for s in envstr("REPLAY_BACKOFF_SECONDS", "60,300,900,3600").split(",") if s.strip()]
REPLAY_LEASE_SECONDS = envint("REPLAY_LEASE_SECONDS", 900)
# Seconds a replay's target has to answer each request (connecting: at most 5 of them); a timeout is retried
# like a 5xx, with the same idempotency key.
REPLAY_TIMEOUT_SECONDS = envfloat("REPLAY_TIMEOUT_SECONDS", 30.0)
# Replays queued together go to the workers in tasks of at most this many (one target system each), and a
# task keeps at most REPLAY_CONCURRENCY of its sends in flight: a target's waits (a slow answer, a retry's
# backoff, a timeout) then hold one send, not the worker. Per worker; the target sees workers x this at most.
REPLAY_BATCH_SIZE = envint("REPLAY_BATCH_SIZE", 50)
REPLAY_CONCURRENCY = envint("REPLAY_CONCURRENCY", 4)

# Alerts (opsview.notify): links in messages are absolute, from this address; a failed delivery is tried
# again after each of these waits, NOTIFY_MAX_ATTEMPTS tries in all, then raised as an exception.
OPSVIEW_BASE_URL = envstr("OPSVIEW_BASE_URL", "http://localhost:8000")
# Days an invitation link works (opsview.firms.invitations); resending starts them again.
OPSVIEW_INVITATION_DAYS = envint("OPSVIEW_INVITATION_DAYS", 7)
# Xero's OAuth 2.0 endpoints (connectors.xero_oauth); changed only to point at a test double.
XERO_AUTHORIZE_URL = envstr("XERO_AUTHORIZE_URL", "https://login.xero.com/identity/connect/authorize")
XERO_TOKEN_URL = envstr("XERO_TOKEN_URL", "https://identity.xero.com/connect/token")
XERO_CONNECTIONS_URL = envstr("XERO_CONNECTIONS_URL", "https://api.xero.com/connections")
NOTIFY_MAX_ATTEMPTS = envint("NOTIFY_MAX_ATTEMPTS", 4)
NOTIFY_BACKOFF_SECONDS = [int(s) for s in envstr("NOTIFY_BACKOFF_SECONDS", "60,300,1800").split(",") if s.strip()]
NOTIFY_TIMEOUT_SECONDS = envint("NOTIFY_TIMEOUT_SECONDS", 10)
# Webhook URLs must be https:// in production: their path is a credential.
NOTIFY_ALLOW_HTTP = envbool("NOTIFY_ALLOW_HTTP", DEBUG)

# Ingest limits: a batch holds at most this many items, and a body at most
# this many bytes. Both are part of the API contract and stated in 413s.
INGEST_MAX_BATCH_ITEMS = envint("INGEST_MAX_BATCH_ITEMS", 1000)
INGEST_MAX_BODY_BYTES = envint("INGEST_MAX_BODY_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES
# Where the ingest API opens exceptions from a batch's events: "inline", in the batch's own transaction,
# or "outbox", behind the response, by the task cluster within about a second (opsview.queues.outbox).
# The outbox needs the cluster running and takes about half the CPU per event at month-end volume.
_POSTGRESQL = DATABASES["default"]["ENGINE"].endswith("postgresql")
INGEST_DETECTION = envstr("INGEST_DETECTION", "outbox" if _POSTGRESQL else "inline")
if INGEST_DETECTION not in ("inline", "outbox"):
    raise ImproperlyConfigured(f"INGEST_DETECTION must be 'inline' or 'outbox', not {INGEST_DETECTION!r}")
# Ingest requests per token and period (s, min, hour, day), answered 429 beyond; empty turns the limit off.
INGEST_RATE = envstr("INGEST_RATE", "600/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "opsview.api.authentication.SystemTokenAuthentication",
        # A person's token on an integration endpoint: known, then refused with a 403 that says so.
        "opsview.api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["opsview.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "opsview.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "opsview.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "opsview API",
    "DESCRIPTION": (
        "Integration jobs report sync runs, sync events and business states here, with an integration "
        "token (`opv_…`) that belongs to one system of one workspace. People and their tools (scripts, BI) "
        "work the exception queues, replay and read the KPIs with a personal token (`opp_…`, under Personal "
        "tokens), which acts as its user: their firms, their role in each. Both are sent as "
        "`Authorization: Bearer <token>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # A deep link inside each operation's summary button nests a link in a button, which screen readers and
    # the keyboard cannot reach apart (axe-core's nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    # httpx logs each request's full URL at INFO; a chat webhook's URL is its credential (opsview.notify).
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
