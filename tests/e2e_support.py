"""What the end-to-end reliability tests share: the fake FluentCart served over real HTTP on
127.0.0.1, the exactly-once audit against it, and `manage.py` run as a separate process on the test
database (so a process can be killed, or several can race)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from fluentcart_sync.models import Customer
from fluentcart_sync.sandbox import FakeFluentCart, Faults, SandboxServer
from fluentcart_sync.sandbox.audit import Audit, audit

from .conftest import APP_PASSWORD, USERNAME

try:  # Django 6.0+ ships the Tasks API; on Django 5.2 it is the django-tasks backport
    import django.tasks  # noqa: F401

    BACKENDS = "django.tasks.backends"
except ImportError:
    BACKENDS = "django_tasks.backends"

ROOT = Path(__file__).resolve().parent.parent


def served_fake(faults: Faults | None = None, fake_class: type[FakeFluentCart] = FakeFluentCart,
                ) -> tuple[FakeFluentCart, SandboxServer]:
    """A fake FluentCart on an ephemeral loopback port; stop the server when done."""
    fake = fake_class(username=USERNAME, password=APP_PASSWORD, faults=faults or Faults())
    server = SandboxServer(fake, "127.0.0.1", 0).start()
    return fake, server


def make_customers(n: int, prefix: str = "c") -> None:
    Customer.objects.bulk_create(
        (Customer(email=f"{prefix}{i}@example.com", full_name=f"Customer {i}") for i in range(n)), batch_size=500
    )


def exactly_once(fake: FakeFluentCart) -> Audit:
    rows = Customer.objects.values_list("email", "fluentcart_id", "sync_status")
    return audit(rows, fake.customers())


def database_url() -> str:
    """The test database (pytest-django's, with the rows this test committed) as a DATABASE_URL."""
    conf = connection.settings_dict
    if conf["ENGINE"] == "django.db.backends.sqlite3":
        return "sqlite:///" + str(Path(conf["NAME"]).resolve())
    if conf["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(conf["USER"] or "postgres")
        if conf.get("PASSWORD"):
            auth += ":" + quote(conf["PASSWORD"])
        return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"
    if conf["ENGINE"] == "django.db.backends.mysql":
        auth = quote(conf["USER"] or "root")
        if conf.get("PASSWORD"):
            auth += ":" + quote(conf["PASSWORD"])
        return f"mysql://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 3306}/{conf['NAME']}"
    raise NotImplementedError(conf["ENGINE"])


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def has_concurrent_writers() -> bool:
    """A database where several processes really write at once (SQLite serialises every writer)."""
    return connection.vendor in ("postgresql", "mysql")


def process_env(server: SandboxServer, **extra: str) -> dict[str, str]:
    """The environment of a `manage.py` process talking to `server` on the test database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLUENTCART_")}
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="project.settings",
        DEBUG="true",
        FLUENTCART_URL=server.url,
        FLUENTCART_USERNAME=USERNAME,
        FLUENTCART_APP_PASSWORD=APP_PASSWORD,
        FLUENTCART_LOG_LEVEL="WARNING",
        TASKS_BACKEND="immediate",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def queue_env(server: SandboxServer, backend: str, redis_url: str = "redis://127.0.0.1:6379/0",
              **extra: str) -> dict[str, str]:
    """A worker process's environment on task backend ``backend``: quick retries, a short quarantine
    (the in-process fake may reach a POST seconds late on a busy machine, not a minute)."""
    return process_env(server, TASKS_BACKEND=backend, REDIS_URL=redis_url, FLUENTCART_TIMEOUT="5",
                       FLUENTCART_MAX_ATTEMPTS="50", FLUENTCART_RETRY_BASE_SECONDS="0.2",
                       FLUENTCART_RETRY_MAX_SECONDS="1", FLUENTCART_QUARANTINE_SECONDS="8", **extra)


def manage(*args: str, env: dict[str, str], timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


#: Every process start_manage started; the autouse fixture in conftest stops what is left after each test.
STARTED: list[subprocess.Popen] = []


def _interruptible() -> None:
    """In the child: Ctrl-C works even when the suite runs with SIGINT ignored (nohup, `&`), which a
    child would otherwise inherit, and Python would then never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_manage(*args: str, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_interruptible)
    STARTED.append(process)
    return process


def stop_started() -> None:
    """SIGTERM (then SIGKILL) every process a test started and left running, on whatever path it ended."""
    while STARTED:
        stop(STARTED.pop())


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it does not end within 10 s; close its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
