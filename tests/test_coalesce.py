"""Coalesced pushes: a worker taking one customer's task pushes the other owed customers with it;
their own tasks then find nothing to do. A single save on a quiet system still goes out at once."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from fluentcart_sync import tasks
from fluentcart_sync.limiter import AdaptiveLimit, FixedLimit
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.tasks import push_customer_task, task_backends

from .conftest import sent
from .e2e_support import BACKENDS, exactly_once

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture
def worker_queue(settings, fluentcart_settings, monkeypatch):
    """A queue whose tasks a worker runs later (here: the test, with ``.call``), not in the save."""
    settings.TASKS = {**settings.TASKS, "worker": {"BACKEND": f"{BACKENDS}.dummy.DummyBackend"}}
    fluentcart_settings["TASK_BACKEND"] = "worker"
    monkeypatch.setattr(tasks, "_clients", {})
    backend = task_backends["worker"]
    backend.clear()
    yield backend
    backend.clear()


def saved(count: int, prefix: str = "c") -> list[int]:
    """Customers saved one by one, as a signup burst does: each save queues its own task."""
    return [
        Customer.objects.create(email=f"{prefix}{i}@example.com", full_name=f"Customer {i}").pk for i in range(count)
    ]


def queued_ids(queue) -> list[int]:
    return [result.args[0] for result in queue.results if result.task.name == push_customer_task.name]


def test_one_task_pushes_every_customer_owed_with_it(fake, worker_queue):
    ids = saved(6)
    assert queued_ids(worker_queue) == ids, "one task per save"

    assert push_customer_task.call(ids[0]) == "created"

    assert fake.count() == 6
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}


def test_the_others_own_tasks_then_find_nothing_to_do_and_nothing_is_duplicated(fake, worker_queue):
    ids = saved(6)
    push_customer_task.call(ids[0])
    requests_before = len(fake.requests_seen)

    outcomes = [push_customer_task.call(customer_id) for customer_id in ids[1:]]

    assert outcomes == ["unchanged"] * 5
    assert len(fake.requests_seen) == requests_before, "no request for a customer already pushed"
    assert len(sent(fake, "POST")) == 6
    result = exactly_once(fake)
    assert result.ok, result.summary()


def test_a_single_save_on_a_quiet_system_goes_out_at_once_alone(fake, worker_queue, monkeypatch):
    from fluentcart_sync import coalesce

    batches = []
    monkeypatch.setattr(coalesce, "push_many", lambda ids, **kwargs: batches.append(ids))
    [customer_id] = saved(1)

    assert push_customer_task.call(customer_id) == "created"

    assert batches == [], "pushed by itself, not through a batch"
    assert [request.method for request in fake.requests_seen] == ["POST"]


def test_only_pushes_owed_now_go_along(fake, worker_queue, fluentcart_settings):
    ids = saved(5)
    now = timezone.now()
    waiting, failed, claimed, deleted = ids[1:]
    Customer.objects.filter(pk=waiting).update_sync_state(
        sync_status=SyncStatus.RETRYING, next_attempt_at=now + timedelta(hours=1)
    )
    Customer.objects.filter(pk=failed).update_sync_state(sync_status=SyncStatus.FAILED)
    Customer.objects.filter(pk=claimed).update_sync_state(claimed_until=now + timedelta(minutes=5), claim_token="x")
    Customer.objects.filter(pk=deleted).update_sync_state(sync_status=SyncStatus.MISSING_REMOTE)

    push_customer_task.call(ids[0])

    assert [c["email"] for c in fake.customers()] == ["c0@example.com"]


def test_a_retry_that_is_due_goes_along(fake, worker_queue):
    first, due = saved(2)
    Customer.objects.filter(pk=due).update_sync_state(
        sync_status=SyncStatus.RETRYING, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    push_customer_task.call(first)
    assert fake.count() == 2


def test_at_most_coalesce_limit_others_go_along(fake, worker_queue, fluentcart_settings):
    fluentcart_settings["COALESCE_LIMIT"] = 3
    ids = saved(10)
    push_customer_task.call(ids[0])
    assert fake.count() == 4, "its own and three others"
    fluentcart_settings["COALESCE_LIMIT"] = 0
    # The three went along from a random starting point: take a customer still owed.
    still_owed = Customer.objects.filter(pk__in=ids, fluentcart_id__isnull=True).values_list("pk", flat=True)[0]
    push_customer_task.call(still_owed)
    assert fake.count() == 5, "COALESCE_LIMIT 0: each task pushes its own customer only"


def test_two_workers_coalescing_at_once_create_each_customer_once(fake, worker_queue):
    ids = saved(40)
    errors = []
    start = threading.Barrier(2)

    def worker(customer_id):
        try:
            start.wait()
            push_customer_task.call(customer_id)
        except BaseException as err:
            errors.append(err)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=worker, args=(customer_id,)) for customer_id in (ids[0], ids[-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert fake.count() == 40
    assert len(sent(fake, "POST")) == 40
    result = exactly_once(fake)
    assert result.ok, result.summary()


def test_the_immediate_backend_pushes_only_the_saved_customer_inside_the_save(fake, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    saved(3, prefix="owed")
    fluentcart_settings["AUTO_PUSH"] = True
    Customer.objects.create(email="amy@example.com", full_name="Amy Pond")  # the default backend: immediate
    assert [c["email"] for c in fake.customers()] == ["amy@example.com"], "a visitor's request never pushes others"


def test_the_worker_keeps_its_limit_across_tasks(fake, worker_queue, fluentcart_settings):
    _, first_limit = tasks._worker_client()
    _, again = tasks._worker_client()
    assert isinstance(first_limit, AdaptiveLimit) and again is first_limit
    fluentcart_settings["TASK_CONCURRENCY"] = 3
    _, fixed = tasks._worker_client()
    assert isinstance(fixed, FixedLimit) and fixed.current == 3


def test_each_task_walks_the_owed_customers_from_its_own_random_point_round_to_it(fake, worker_queue, monkeypatch):
    """So that workers coalescing at once start on different customers, and every one is reached."""
    from fluentcart_sync import coalesce

    ids = saved(8)
    monkeypatch.setattr(coalesce.random, "randint", lambda low, high: ids[5])
    assert list(coalesce.owed_others(ids[0], most=100, page=2)) == [*ids[5:], *ids[1:5]]
    assert list(coalesce.owed_others(ids[0], most=3, page=2)) == ids[5:8]
