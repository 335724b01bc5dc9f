"""A backlog drained through the queue for real: the sweep queues chunks, two workers at once
(`rqworker --burst` with the host project's SimpleWorker on the machine's Redis, or `db_worker
--batch` on the test database) push them against a flaky fake FluentCart over HTTP; the sweep
re-queues the chunks' transient failures when they are due. Each customer is created once."""

import pytest

from fluentcart_sync.models import Customer
from fluentcart_sync.sandbox import Faults

from .e2e_support import exactly_once, make_customers, manage, served_fake, start_manage
from .e2e_support import queue_env as e2e_queue_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 240
CHUNK = 40
FLAKY = Faults(rate_limit_rate=0.1, retry_after=1, error_rate=0.1, seed=5)


@pytest.fixture
def flaky():
    fake, server = served_fake(FLAKY)
    yield fake, server
    server.stop()
    fake.close()


def queue_env(server, backend: str, redis_url: str = "redis://127.0.0.1:6379/0") -> dict[str, str]:
    return e2e_queue_env(server, backend, redis_url, FLUENTCART_TASK_CHUNK_SIZE=str(CHUNK),
                         FLUENTCART_TASK_CONCURRENCY="4")


def drain(env: dict[str, str], worker: tuple[str, ...], rounds: int = 30) -> list[str]:
    """Sweep, then two burst workers side by side, until nothing is owed; the sweep's lines."""
    said = []
    for _ in range(rounds):
        if not Customer.objects.unsynced().exists():
            return said
        said.append(manage("fluentcart_sync_due", "--grace", "0", env=env).stdout.strip())
        workers = [start_manage(*worker, env=env) for _ in range(2)]
        for process in workers:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, f"{' '.join(worker)} exited {process.returncode}:\n{out}\n{err}"
        # Retries wait for their next_attempt_at (at most a second here) before the next sweep.
        manage("shell", "-c", "import time; time.sleep(1)", env=env)
    raise AssertionError(f"{Customer.objects.unsynced().count()} customers still owed: {said}")


def test_two_db_workers_drain_the_sweeps_chunks_exactly_once(flaky):
    fake, server = flaky
    env = queue_env(server, "database")
    manage("migrate", "django_tasks_database", "--no-input", env=env)
    make_customers(CUSTOMERS)

    said = drain(env, ("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0.1"))

    assert said[0] == f"Queued {CUSTOMERS} customers for a push in {CUSTOMERS // CHUNK} tasks."
    result = exactly_once(fake)
    assert result.ok, result.summary()
    assert result.synced == CUSTOMERS
    status = manage("fluentcart_sync_due", "--status", env=env).stdout
    assert "Owed: 0 pending, 0 retrying (0 due now); oldest owed push waiting none" in status
    assert "task queue: 0 tasks waiting" in status


def test_two_rq_workers_drain_the_sweeps_chunks_exactly_once(flaky, redis_db):
    fake, server = flaky
    env = queue_env(server, "rq", redis_db.url)
    make_customers(CUSTOMERS)
    manage("fluentcart_sync_due", "--grace", "0", env=env)
    assert redis_db.llen("rq:queue:default") == CUSTOMERS // CHUNK, "one task per chunk"
    assert "task queue: 6 tasks waiting" in manage("fluentcart_sync_due", "--status", env=env).stdout

    drain(env, ("rqworker", "default", "--burst"))  # the host project's settings pick SimpleWorker

    result = exactly_once(fake)
    assert result.ok, result.summary()
    assert result.synced == CUSTOMERS
