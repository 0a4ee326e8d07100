#!/usr/bin/env bash
# Starts the django-q2 cluster in the background and the web server in the
# foreground; stopping the server (Ctrl-C) stops the cluster too.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python

$py manage.py qcluster &
cluster=$!
trap 'kill $cluster 2>/dev/null || true; wait $cluster 2>/dev/null || true' EXIT INT TERM

$py manage.py demo_logins || true
echo "opsview on http://$host:$port/  (API docs at /api/docs/, health at /healthz)"
$py manage.py runserver "$host:$port" --noreload
