#!/usr/bin/env bash
# Starts the demo ERP (Tryton, when it can be prepared), loads the demo on first run, then the
# django-q2 cluster and the web server. Each child runs in its own process group; Ctrl-C or
# SIGTERM stops every group (TERM, then KILL after 5 s), so nothing outlives this script.
set -uo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python
var=${OPSVIEW_VAR_DIR:-var}
export OPSVIEW_DEMO_ERP_PORT=${OPSVIEW_DEMO_ERP_PORT:-8010}
export OPSVIEW_BASE_URL=${OPSVIEW_BASE_URL:-http://$host:$port}  # alerts link back to this server
# Static files as production serves them: collected, hashed, compressed (README, "Static files").
export OPSVIEW_COLLECTED_STATIC=${OPSVIEW_COLLECTED_STATIC:-1}
groups=()

stop() {
    trap - EXIT INT TERM
    kill "$watcher" 2>/dev/null
    local pid
    for pid in "${groups[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${groups[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && return
        sleep 0.1
    done
    for pid in "${groups[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# When make (our parent) is killed outright it passes nothing on: once this script has another parent
# (make gone, even as a zombie nobody reaped yet), stop as if signalled.
parent=$PPID
(while [ "$(cut -d' ' -f4 /proc/$$/stat 2>/dev/null || echo "$parent")" = "$parent" ]; do sleep 1; done
 kill -TERM $$ 2>/dev/null) &
watcher=$!

start() {  # start "$@" in a new process group and remember it
    setsid "$@" &
    groups+=($!)
}

erp=""
erp_url="http://127.0.0.1:$OPSVIEW_DEMO_ERP_PORT"
answers() {  # answers URL SECONDS: whether a trytond answers at URL within SECONDS
    $py -c "import sys, time; from opsview.demo.erp.env import answers
end = time.monotonic() + float(sys.argv[2])
while not answers(sys.argv[1]):
    if time.monotonic() > end: sys.exit(1)
    time.sleep(0.1)" "$1" "$2"
}
if answers "$erp_url" 0; then
    echo "The demo ERP (Tryton) cannot start: port $OPSVIEW_DEMO_ERP_PORT is taken; going on without it" \
        "(set OPSVIEW_DEMO_ERP_PORT)."
elif $py manage.py demo_erp prepare; then
    start "$var/tryton/venv/bin/trytond" -c "$var/tryton/db/trytond.conf" -d $(cat "$var/tryton/db/databases") \
        >"$var/tryton/trytond.log" 2>&1
    if answers "$erp_url" 60; then
        erp=$erp_url
    else
        echo "The demo ERP (Tryton) did not start; going on without it (see $var/tryton/trytond.log)."
    fi
fi

seed_options=(--if-empty)
[ -z "$erp" ] && seed_options+=(--without-erp)  # it was said once already
$py manage.py seed_demo "${seed_options[@]}" || exit 1
$py manage.py backfill_queues --if-empty || exit 1
$py manage.py reconcile --months 6 --if-never-run >/dev/null || exit 1  # the reconciliation page starts with its months
if [ "$OPSVIEW_COLLECTED_STATIC" = 1 ]; then
    $py manage.py collectstatic --no-input -v 0 || exit 1  # compresses only what changed since the last start
fi
start $py manage.py qcluster
$py manage.py demo_logins || true
[ -n "$erp" ] && echo "demo ERP (Tryton) on $erp/  (databases $(cat "$var/tryton/db/databases"), user admin)"
start $py manage.py runserver "$host:$port" --noreload
echo "opsview on http://$host:$port/  (API docs at /api/docs/, health at /healthz)"
wait -n
