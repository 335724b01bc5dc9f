#!/usr/bin/env bash
# Run the demo as production runs: the fake FluentCart (unless a real one is configured), a task
# worker (db_worker), the sweep loop that retries what is due, and Django. Ctrl-C (or SIGTERM)
# stops all of them; so does any one of them exiting, except the fake: stopping it is how to
# simulate FluentCart going away, and the demo keeps running until it is back.
#
#   PORT=8001 make run                   Django on another port (default 8000)
#   FLUENTCART_SANDBOX_PORT=8766 make run   the fake on another port (default 8765)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=127.0.0.1
PORT=${PORT:-8000}
SANDBOX_PORT=${FLUENTCART_SANDBOX_PORT:-8765}
SANDBOX_DB=${FLUENTCART_SANDBOX_DB:-var/fluentcart-sandbox.sqlite3}
export FLUENTCART_SANDBOX_PORT=$SANDBOX_PORT  # the settings point the app at the fake on this port
export DJANGO_SETTINGS_MODULE=project.settings

# Job control: each background process gets its own process group, so stopping one stops its
# children too (runserver's autoreloader), and SIGINT is not silently ignored by them.
set -m
PIDS=()     # every process the demo started (stopped at the end)
WATCHED=()  # those whose exit ends the demo (not the fake)
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "Demo stopped."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_taken() {
  $PY - "$1" <<'EOF'
import socket, sys
with socket.socket() as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(0)
sys.exit(1)
EOF
}

refuse_if_taken() {  # port, what, variable
  if port_taken "$1"; then
    echo "Port $1 on $HOST is already in use, so $2 cannot start there." >&2
    echo "Stop whatever holds it (another 'make run'?), or choose another port: $3=<port> make run" >&2
    exit 1
  fi
}

use_fake=false
if [ -z "${FLUENTCART_URL:-}" ] && ! grep -qs '^FLUENTCART_URL=.' .env; then
  use_fake=true
  refuse_if_taken "$SANDBOX_PORT" "the fake FluentCart" FLUENTCART_SANDBOX_PORT
fi
refuse_if_taken "$PORT" "Django" PORT

$PY manage.py migrate --no-input

FAKE_COMMAND="$PY manage.py fluentcart_sandbox --host $HOST --port $SANDBOX_PORT --db $SANDBOX_DB"
if $use_fake; then
  (
    $FAKE_COMMAND || true
    echo "The fake FluentCart stopped; the demo keeps running and pushes wait to retry." \
      "Start it again in another terminal: $FAKE_COMMAND" >&2
  ) &
  PIDS+=($!)
  echo "Fake FluentCart: http://$HOST:$SANDBOX_PORT (state in $SANDBOX_DB)"
fi

# The ports, for the commands a person runs in a second terminal: `source var/demo.env` first.
mkdir -p var
printf 'export PORT=%s FLUENTCART_SANDBOX_PORT=%s\n' "$PORT" "$SANDBOX_PORT" > var/demo.env

# A staff account for the admin, created once with a random password shown only here.
$PY manage.py shell --no-imports -c "
from django.contrib.auth import get_user_model
import secrets
User = get_user_model()
if not User.objects.filter(username='admin').exists():
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser('admin', 'admin@example.com', password)
    print(f'Admin login: admin / {password}  (shown once; change it with: manage.py changepassword admin)')
"

# What production runs beside the web server: the task worker pushes each save and its retries,
# and the sweep (every 10 s) pushes anything due that the queue lost.
if [ "${TASKS_BACKEND:-database}" = "database" ]; then
  $PY manage.py db_worker &
  PIDS+=($!) WATCHED+=($!)
fi
$PY manage.py fluentcart_sync_due --run --loop 10 --pull-every 30 &
PIDS+=($!) WATCHED+=($!)

$PY manage.py runserver "$HOST:$PORT" &
PIDS+=($!) WATCHED+=($!)
cat <<EOF
Sign up:      http://$HOST:$PORT/signup/
Admin:        http://$HOST:$PORT/admin/
Sync health:  http://$HOST:$PORT/admin/fluentcart_sync/customer/health/
Metrics:      http://$HOST:$PORT/fluentcart/metrics (logged in as staff, or with FLUENTCART_METRICS_TOKEN)
Task worker and sweep loop running; Ctrl-C stops everything.

In a second terminal, first:  source var/demo.env   (export PORT=$PORT FLUENTCART_SANDBOX_PORT=$SANDBOX_PORT)
  $PY manage.py fluentcart_sync_due --status
EOF
if $use_fake; then
  cat <<EOF
Simulate an outage with the fake's fault switches (docs/testing.md#the-fakes-fault-switches):
  curl -s -X POST http://$HOST:$SANDBOX_PORT/__sandbox__/faults -d '{"error_rate": 1}'   # every request 500/502/503
  curl -s -X POST http://$HOST:$SANDBOX_PORT/__sandbox__/faults -d '{"error_rate": 0}'   # FluentCart is back
  curl -s -X POST http://$HOST:$SANDBOX_PORT/__sandbox__/mode -d '{"mode": "unauthorized"}'   # 401: pushes pause ("ok" ends it)
  Or stop the fake alone (the demo keeps running) and start it again: $FAKE_COMMAND
EOF
fi

# Until any one of them exits (or Ctrl-C / SIGTERM): then the EXIT trap stops the others.
status=0
wait -n "${WATCHED[@]}" || status=$?
echo "A demo process exited (status $status); stopping the others." >&2
exit $((status == 0 ? 1 : status))
