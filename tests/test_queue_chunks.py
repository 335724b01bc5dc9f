"""Scale-out through the queue: the sweep queues chunks of ids, a worker pushes a chunk with the
backfill's engine on a client it keeps, and claims keep any number of workers apart."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from fluentcart_sync import tasks
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults
from fluentcart_sync.tasks import push_customer_task, push_customers_task, task_backends

from .conftest import sent
from .e2e_support import BACKENDS, exactly_once

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture
def recording_queue(settings, fluentcart_settings):
    """A queue that records tasks instead of running them."""
    settings.TASKS = {**settings.TASKS, "recording": {"BACKEND": f"{BACKENDS}.dummy.DummyBackend"}}
    fluentcart_settings["TASK_BACKEND"] = "recording"
    backend = task_backends["recording"]
    backend.clear()
    yield backend
    backend.clear()


def owed_customers(fluentcart_settings, n: int, prefix: str = "c") -> list[int]:
    """n customers pending for five minutes, saved without their own push."""
    fluentcart_settings["AUTO_PUSH"] = False
    ids = [Customer.objects.create(email=f"{prefix}{i}@example.com", full_name=f"Customer {i}").pk for i in range(n)]
    Customer.objects.filter(pk__in=ids).update(updated_at=timezone.now() - timedelta(minutes=5))
    fluentcart_settings["AUTO_PUSH"] = True
    return ids


def test_the_sweep_queues_chunks_not_one_task_per_customer(fake, fluentcart_settings, recording_queue):
    fluentcart_settings["TASK_CHUNK_SIZE"] = 4
    ids = owed_customers(fluentcart_settings, 10)
    out = io.StringIO()
    call_command("fluentcart_sync_due", stdout=out)
    assert "Queued 10 customers for a push in 3 tasks." in out.getvalue()
    queued = recording_queue.results
    assert {result.task.name for result in queued} == {push_customers_task.name}
    assert [result.args[0] for result in queued] == [ids[0:4], ids[4:8], ids[8:10]]
    assert fake.count() == 0, "queued, not pushed"


def test_a_single_save_still_queues_one_small_task(fake, recording_queue):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    [queued] = recording_queue.results
    assert (queued.task.name, queued.args) == (push_customer_task.name, [customer.pk])


def test_a_chunk_task_pushes_every_id_and_records_failures_per_row(fake, fluentcart_settings):
    ids = owed_customers(fluentcart_settings, 12)
    invalid = Customer.objects.create(email="nameless@example.com", full_name="")  # FluentCart refuses it
    fake.faults = Faults(rate_limit_rate=0.3, retry_after=60, seed=3)

    counts = push_customers_task.call([*ids, invalid.pk])

    rows = {row.pk: row for row in Customer.objects.all()}
    assert rows[invalid.pk].sync_status == SyncStatus.FAILED and rows[invalid.pk].sync_error
    retrying = [pk for pk in ids if rows[pk].sync_status == SyncStatus.RETRYING]
    synced = [pk for pk in ids if rows[pk].sync_status == SyncStatus.SYNCED]
    assert len(retrying) + len(synced) == len(ids), "every id was pushed"
    assert retrying and synced, "the seed gives both outcomes"
    assert all(rows[pk].next_attempt_at is not None for pk in retrying), "the sweep re-queues them when due"
    assert counts == {"created": len(synced), "retry": len(retrying), "failed": 1}
    assert fake.count() == len(synced)


def test_the_sweep_requeues_a_chunks_transient_failures_when_they_are_due(fake, fluentcart_settings, recording_queue):
    ids = owed_customers(fluentcart_settings, 6)
    fake.faults = Faults(rate_limit_rate=1.0, retry_after=60)
    push_customers_task.call(ids)
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.RETRYING}
    assert recording_queue.results == [], "no per-row retry task for a chunk"

    call_command("fluentcart_sync_due", stdout=io.StringIO())
    assert recording_queue.results == [], "not due yet"
    Customer.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    call_command("fluentcart_sync_due", stdout=io.StringIO())
    [queued] = recording_queue.results
    assert queued.args == [ids]


def test_two_workers_draining_the_same_chunks_push_each_customer_once(fake, fluentcart_settings):
    # Overlapping POSTs of one email would both be stored (FluentCart has no unique email): only the
    # claims keep the two workers from creating a customer twice.
    fake.faults = Faults(race_window=0.02)
    ids = owed_customers(fluentcart_settings, 30)
    chunks = [ids[:15], ids[15:]]
    errors = []

    def worker(order):
        try:
            for chunk in order:
                push_customers_task.call(chunk)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(order,)) for order in (chunks, chunks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # Both took the same chunks at the same time: a customer one worker found claimed by the other
    # was left to it, or found already synced. Each was created once.
    result = exactly_once(fake)
    assert result.ok, result.summary()
    assert len(sent(fake, "POST")) == len(ids)


def test_the_worker_client_is_built_once_per_process(fake, fluentcart_settings, monkeypatch):
    import fluentcart_sync.client

    real = fluentcart_sync.client.get_client
    built = []

    def counting_get_client(**kwargs):
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(fluentcart_sync.client, "get_client", counting_get_client)
    monkeypatch.setattr(tasks, "_clients", {})
    fluentcart_settings["TASK_CONCURRENCY"] = 3
    ids = owed_customers(fluentcart_settings, 6)
    push_customers_task.call(ids[:3])
    push_customers_task.call(ids[3:])
    push_customer_task.call(Customer.objects.create(email="single@example.com", full_name="Single One").pk)
    assert built == [{"pool_size": 3}], "one client, its pool sized to a chunk's requests in flight"
    assert fake.count() == 7
