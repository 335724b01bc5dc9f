#!/usr/bin/env bash
# Run the demo as production runs: the fake FluentCart (unless a real one is configured), a task
# worker (db_worker), the sweep loop that retries what is due, and Django. Ctrl-C (or SIGTERM)
# stops all of them; so does any one of them exiting.
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
PIDS=()
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

if $use_fake; then
  $PY manage.py fluentcart_sandbox --host "$HOST" --port "$SANDBOX_PORT" --db "$SANDBOX_DB" &
  PIDS+=($!)
  echo "Fake FluentCart: http://$HOST:$SANDBOX_PORT (state in $SANDBOX_DB)"
fi

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
  PIDS+=($!)
fi
$PY manage.py fluentcart_sync_due --run --loop 10 --pull-every 30 &
PIDS+=($!)

$PY manage.py runserver "$HOST:$PORT" &
PIDS+=($!)
echo "Sign up:  http://$HOST:$PORT/signup/"
echo "Admin:    http://$HOST:$PORT/admin/"
echo "Task worker and sweep loop running; Ctrl-C stops everything."

# Until any one of them exits (or Ctrl-C / SIGTERM): then the EXIT trap stops the others.
status=0
wait -n "${PIDS[@]}" || status=$?
echo "A demo process exited (status $status); stopping the others." >&2
exit $((status == 0 ? 1 : status))
