#!/usr/bin/env bash
# Run the demo: migrate, start the fake FluentCart (unless a real one is configured), start Django.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

$PY manage.py migrate --no-input

if [ -z "${FLUENTCART_URL:-}" ] && ! grep -qs '^FLUENTCART_URL=.' .env; then
  SANDBOX_PORT=${FLUENTCART_SANDBOX_PORT:-8765}
  $PY manage.py fluentcart_sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" &
  SANDBOX_PID=$!
  trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
  echo "Fake FluentCart: http://127.0.0.1:$SANDBOX_PORT (state in var/fluentcart-sandbox.sqlite3)"
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

echo "Sign up:  http://127.0.0.1:8000/signup/"
echo "Admin:    http://127.0.0.1:8000/admin/"
$PY manage.py runserver 127.0.0.1:8000
