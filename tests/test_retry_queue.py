"""A push that must be retried goes back on the queue for its next attempt time, where the backend
can defer tasks; a push that crashed half-way looks the email up before posting again."""

import pytest

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults
from fluentcart_sync.services import Outcome, push_customer
from fluentcart_sync.tasks import push_customer_task, task_backends

from .conftest import sent
from .e2e_support import BACKENDS

pytestmark = pytest.mark.django_db



@pytest.fixture
def deferring_queue(settings, fluentcart_settings):
    """A queue that records tasks (with their run_after) instead of running them."""
    settings.TASKS = {**settings.TASKS, "deferring": {"BACKEND": f"{BACKENDS}.dummy.DummyBackend"}}
    fluentcart_settings["TASK_BACKEND"] = "deferring"
    backend = task_backends["deferring"]
    backend.clear()
    return backend


def test_a_retry_is_queued_for_its_next_attempt_time(fake, deferring_queue):
    fake.faults = Faults(rate_limit_rate=1.0, retry_after=120)
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    assert push_customer_task.call(customer.pk) == Outcome.RETRY.value
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.RETRYING
    [queued] = deferring_queue.results
    assert queued.args == [customer.pk]
    assert queued.task.run_after == customer.next_attempt_at


def test_nothing_is_queued_again_once_synced_or_failed(fake, deferring_queue):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    assert push_customer_task.call(customer.pk) == Outcome.CREATED.value
    invalid = Customer.objects.create(email="bob@example.com", full_name="")
    assert push_customer_task.call(invalid.pk) == Outcome.FAILED.value
    assert deferring_queue.results == []


def test_an_immediate_backend_leaves_the_retry_to_the_sweep(fake):
    # Immediate backends cannot defer: queueing the retry would run it at once, in a loop.
    fake.faults = Faults(rate_limit_rate=1.0)
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    assert push_customer_task.call(customer.pk) == Outcome.RETRY.value
    assert len(sent(fake, "POST")) == 1
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.RETRYING and customer.next_attempt_at is not None


def test_a_push_that_crashed_after_its_post_looks_up_before_posting_again(fake, monkeypatch):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    real_create = FluentCartClient.create_customer

    def create_then_crash(self, payload):
        real_create(self, payload)
        raise RuntimeError("a bug after FluentCart stored the customer")

    monkeypatch.setattr(FluentCartClient, "create_customer", create_then_crash)
    crashed = push_customer(customer.pk)  # the row's failure, recorded on it: never raised
    assert crashed.outcome == Outcome.RETRY and "RuntimeError" in crashed.error
    customer.refresh_from_db()
    assert customer.claimed_until is None and customer.outcome_unknown
    assert "a bug after FluentCart stored the customer" in customer.sync_error

    monkeypatch.undo()
    assert push_customer(customer.pk).outcome == Outcome.LINKED
    assert len(sent(fake, "POST")) == 1
    assert fake.count() == 1
