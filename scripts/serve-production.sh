#!/usr/bin/env bash
# The production profile: gunicorn and the django-q2 task cluster against PostgreSQL (DATABASE_URL)
# and Redis (REDIS_URL, the task broker and the shared cache). Both run in the foreground of this
# script; INT or TERM stops both, and if either dies the other is stopped and the script exits non-zero,
# so a supervisor (systemd, a container runtime) restarts the pair.
#
# More machines: run this same script with the same environment against the same PostgreSQL and Redis.
# Migrations take a PostgreSQL advisory lock, so machines starting together migrate once.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
bin=$(dirname "$py")

export OPSVIEW_DEBUG=${OPSVIEW_DEBUG:-0}
export Q_USE_REDIS=${Q_USE_REDIS:-1}
missing=()
for name in DATABASE_URL REDIS_URL SECRET_KEY ALLOWED_HOSTS OPSVIEW_CREDENTIALS_KEY; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
done
if ((${#missing[@]})); then
    echo "serve-production: set ${missing[*]} (see README, 'Production')" >&2
    exit 2
fi
case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) echo "serve-production: DATABASE_URL must be a PostgreSQL URL; SQLite is for one machine (make run)" >&2; exit 2 ;;
esac

bind=${BIND:-127.0.0.1:8000}
web_workers=${WEB_WORKERS:-3}
web_threads=${WEB_THREADS:-2}

if [[ "${OPSVIEW_MIGRATE:-1}" == 1 ]]; then
    "$py" - <<'PY'
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsview.settings")
django.setup()
from django.core.management import call_command
from django.db import connection

with connection.cursor() as cursor:  # held until this process exits: one machine migrates at a time
    cursor.execute("SELECT pg_advisory_lock(hashtext('opsview migrate'))")
call_command("migrate", interactive=False, verbosity=1)
PY
fi

# The static files whitenoise serves: hashed names with Brotli and gzip copies, in $OPSVIEW_VAR_DIR/staticfiles.
# Unchanged files keep the copies an earlier start made; machines that share nothing each collect their own.
"$py" manage.py collectstatic --no-input -v 0

# Each in a process group of its own, so that what a process leaves behind when it dies can be found.
setsid "$bin/gunicorn" opsview.wsgi:application --bind "$bind" --workers "$web_workers" --threads "$web_threads" \
    --timeout "${WEB_TIMEOUT:-60}" --graceful-timeout 30 --access-logfile - --error-logfile - &
web=$!
setsid "$py" manage.py qcluster &
cluster=$!

stop() {
    trap - INT TERM
    # The leaders stop their workers gracefully (a replay in flight finishes or is taken back later)...
    kill -TERM "$web" "$cluster" 2>/dev/null || true
    wait "$web" 2>/dev/null || true
    wait "$cluster" 2>/dev/null || true
    # ...and whatever a leader killed outright left behind goes with it.
    kill -KILL -- "-$web" "-$cluster" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
echo "opsview (production) on http://$bind/ with $web_workers x $web_threads web handlers and ${Q_WORKERS:-2} task workers"

# Whichever ends first, unasked, takes the other down with it.
set +e
wait -n "$web" "$cluster"
status=$?
set -e
echo "serve-production: a process exited ($status); stopping the other" >&2
stop
exit $((status == 0 ? 1 : status))
