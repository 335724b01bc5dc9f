"""The production task backends, run for real: django-tasks-db's `db_worker` on the test database,
and RQ's worker against the machine's Redis. Each save queues its own push; every retry after that
comes back through the queue as a deferred task at the row's next_attempt_at. (The sweep's chunks:
tests/test_queue_e2e.py.)"""

import time

import pytest
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults

from .e2e_support import exactly_once, manage, queue_env, served_fake

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 60
# Some 429s (Retry-After: 1) and 5xx, so pushes end in RETRY and come back as deferred tasks.
FLAKY = Faults(rate_limit_rate=0.15, retry_after=1, error_rate=0.15, seed=11)


@pytest.fixture
def flaky():
    fake, server = served_fake(FLAKY)
    yield fake, server
    server.stop()
    fake.close()


def save_customers(n: int, env: dict[str, str]) -> None:
    """n customers saved the ordinary way in a host-project process: each save queues its push."""
    manage("shell", "-c", "from fluentcart_sync.models import Customer\n"
           f"for i in range({n}): Customer.objects.create(email=f'c{{i}}@example.com', full_name=f'Customer {{i}}')",
           env=env)


#: These tests are about each backend's own deferred retries: a task that coalesces would push the
#: other customers' retries itself (when they come due while it runs), so how many tasks ran would
#: depend on timing. Coalescing has its tests in test_coalesce.py, and its figures in benchmarks/queue.py.
NO_COALESCING = "0"


def work_until_synced(run_worker, deadline_seconds: float = 90) -> int:
    """Run the worker (which exits when nothing is ready) until every customer is synced, waiting
    for the next deferred retry in between. No sweep here: retries must come through the queue."""
    deadline = time.monotonic() + deadline_seconds
    runs = 0
    while Customer.objects.unsynced().exists():
        assert time.monotonic() < deadline, f"{Customer.objects.unsynced().count()} customers never synced"
        run_worker()
        runs += 1
        due = Customer.objects.filter(sync_status=SyncStatus.RETRYING).aggregate(due=Min("next_attempt_at"))["due"]
        if due is not None:
            time.sleep(min(2.0, max(0.0, (due - timezone.now()).total_seconds()) + 0.1))
    return runs


def test_db_worker_pushes_queued_customers_and_their_retries(flaky):
    fake, server = flaky
    env = queue_env(server, "database", FLUENTCART_COALESCE_LIMIT=NO_COALESCING)
    manage("migrate", "django_tasks_database", "--no-input", env=env)  # the queue's table, in the test database
    save_customers(CUSTOMERS + 1, env)
    work_until_synced(lambda: manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0.1",
                                     env=env, timeout=120))

    result = exactly_once(fake)
    assert result.ok, result.summary()
    assert result.synced == CUSTOMERS + 1
    with connection.cursor() as cursor:
        # run_after is a far-future sentinel (year 9999) for tasks that may run at once.
        cursor.execute("SELECT run_after FROM django_tasks_database_dbtaskresult "
                       "WHERE task_path = 'fluentcart_sync.tasks.push_customer_task'")
        run_afters = [row[0] for row in cursor.fetchall()]
        cursor.execute("DELETE FROM django_tasks_database_dbtaskresult")
    tasks = len(run_afters)
    deferred = len([when for when in run_afters if str(when)[:4] != "9999"])
    assert tasks > CUSTOMERS + 1  # every customer, plus its retries
    assert deferred > 0  # the retries waited for next_attempt_at


def test_rq_worker_pushes_queued_customers_and_their_retries(flaky, redis_db):
    fake, server = flaky
    env = queue_env(server, "rq", redis_db.url, FLUENTCART_COALESCE_LIMIT=NO_COALESCING)
    customers = CUSTOMERS // 2
    save_customers(customers, env)
    assert redis_db.llen("rq:queue:default") == customers
    # The host project's RQ settings name django-tasks-rq's job class, so the plain command works.
    work_until_synced(lambda: manage("rqworker", "default", "--burst", "--with-scheduler", env=env, timeout=120))

    result = exactly_once(fake)
    assert result.ok, result.summary()
    assert result.synced == customers
    # Retries went through RQ's scheduler (deferred jobs), not a sweep: more jobs ran than customers.
    assert len(redis_db.keys("rq:results:*")) > customers
