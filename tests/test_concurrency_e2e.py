"""Several workers pushing the same records at once create each customer once.

FluentCart has no unique index on email: two POSTs of one email that overlap both create a row. The
fake reproduces that with its `race_window` fault, so these tests fail if two workers ever send a
customer's POST at the same time."""

import re
import threading

import pytest

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.sandbox import Faults

from .conftest import APP_PASSWORD, USERNAME
from .e2e_support import exactly_once, has_concurrent_writers, make_customers, process_env, served_fake, start_manage

pytestmark = [pytest.mark.e2e]

WORKERS = 4
CUSTOMERS = 200


@pytest.fixture
def racy():
    """A fake that waits between its duplicate-email check and its insert."""
    fake, server = served_fake(Faults(race_window=0.05, latency=0.002, jitter=0.002, seed=3))
    yield fake, server
    server.stop()
    fake.close()


def test_the_fake_really_duplicates_two_overlapping_posts_of_one_email():
    # The control: without our claims, two overlapping creates make two FluentCart customers. Both
    # start together (a barrier) and the fake waits half a second between its check and its insert,
    # so they overlap however busy the machine is.
    fake, server = served_fake(Faults(race_window=0.5))
    payload = {"email": "twice@example.com", "full_name": "Twice Over", "status": "active"}
    together = threading.Barrier(2)

    def post():
        together.wait(10)
        FluentCartClient(server.url, USERNAME, APP_PASSWORD).create_customer(payload)

    try:
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        count = fake.count()
    finally:
        server.stop()
        fake.close()
    assert count == 2


@pytest.mark.postgres
@pytest.mark.mariadb
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_four_worker_processes_pushing_the_same_records_create_each_once(racy):
    if not has_concurrent_writers():
        pytest.skip("needs PostgreSQL or MariaDB/MySQL (make test-postgres, make test-mariadb): SQLite "
                    "serialises every writer, so worker processes never really race for a claim there")
    fake, server = racy
    make_customers(CUSTOMERS)
    env = process_env(server, FLUENTCART_LEASE_SECONDS="60", FLUENTCART_TIMEOUT="5")

    workers = [start_manage("fluentcart_backfill", "--concurrency", "3", "--no-progress", env=env)
               for _ in range(WORKERS)]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, out + err

    result = exactly_once(fake)
    assert result.ok, result.summary() + f"; duplicated: {list(result.duplicated.items())[:5]}"
    assert result.synced == CUSTOMERS == fake.count()

    # They really did go for the same records: claims turned some away, and between them the
    # workers pushed each customer once.
    created = sum(int(re.search(r"(\d+) pushed", out).group(1)) for out, _ in outputs)
    busy = sum(int(re.search(r"(\d+) busy elsewhere", out).group(1)) for out, _ in outputs)
    assert created == CUSTOMERS
    assert busy > 0
    assert len([r for r in fake.requests_seen if r.method == "POST"]) == CUSTOMERS
