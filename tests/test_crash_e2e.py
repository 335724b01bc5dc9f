"""A backfill killed with SIGKILL mid-run, at the worst moment (FluentCart stored a customer, its
answer is still on the way): after the lease expires a new run loses nothing and duplicates nothing."""

import os
import signal
import threading
import time

import pytest

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import FakeFluentCart, Faults

from .e2e_support import exactly_once, make_customers, manage, process_env, served_fake, start_manage

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 2


class WatchedFake(FakeFluentCart):
    """Tells the test when it has stored a POSTed customer whose answer it is holding back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.armed = threading.Event()
        self.slow_post_stored = threading.Event()

    def respond(self, method, url, headers, body, **kwargs):
        reply = super().respond(method, url, headers, body, **kwargs)
        if method == "POST" and reply.fault == "slow" and self.armed.is_set():
            self.slow_post_stored.set()
        return reply


@pytest.fixture
def watched():
    fake, server = served_fake(Faults(slow_rate=0.3, slow_seconds=1.0, seed=7), fake_class=WatchedFake)
    yield fake, server
    server.stop()
    fake.close()


def test_backfill_killed_mid_run_resumes_without_loss_or_duplicate(watched):
    fake, server = watched
    make_customers(300)
    # The dead worker's requests were all cut off at its lease's end, before the re-run starts, and
    # the fake applies a request in full before answering: no quarantine needed on top.
    env = process_env(server, FLUENTCART_LEASE_SECONDS=str(LEASE_SECONDS), FLUENTCART_TIMEOUT="5",
                      FLUENTCART_QUARANTINE_SECONDS="0")

    backfill = start_manage("fluentcart_backfill", "--concurrency", "4", "--no-progress", env=env)
    try:
        deadline = time.monotonic() + 60
        while Customer.objects.filter(sync_status=SyncStatus.SYNCED).count() < 40:
            assert backfill.poll() is None, backfill.communicate()
            assert time.monotonic() < deadline, "the backfill made no progress"
            time.sleep(0.05)
        fake.armed.set()
        assert fake.slow_post_stored.wait(30), "no create was in flight"
        os.kill(backfill.pid, signal.SIGKILL)
    finally:
        if backfill.poll() is None:
            backfill.kill()
        backfill.communicate()
    assert backfill.returncode == -signal.SIGKILL

    # The crash left claimed rows behind, and at least one customer FluentCart holds but this side
    # never heard about.
    assert Customer.objects.filter(claimed_until__isnull=False).exists()
    known = set(Customer.objects.filter(fluentcart_id__isnull=False).values_list("email", flat=True))
    orphans = {c["email"] for c in fake.customers()} - known
    assert orphans
    assert Customer.objects.unsynced().exists()

    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's claims expire
    fake.faults = Faults()
    fake.requests_seen.clear()
    done = manage("fluentcart_backfill", "--concurrency", "4", "--no-progress", env=env)
    assert "busy elsewhere" in done.stdout and " 0 busy elsewhere" in done.stdout

    result = exactly_once(fake)
    assert result.ok, result.summary()
    assert result.synced == 300 == fake.count()
    # The orphans were found by looking their email up and linked: no POST was replayed blindly.
    reposted = {r.body["email"] for r in fake.requests_seen if r.method == "POST"} & orphans
    assert not reposted
