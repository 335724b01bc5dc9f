"""The push as a Django task (``django.tasks`` on Django 6, the ``django-tasks`` backport before).

Tasks only make a push happen sooner: the customer's row is the record of what is owed, so a lost
or failed enqueue delays a push (the sweep finds it) but never drops it.

Two tasks. A save queues ``push_customer_task`` for its one customer; a worker that takes it while
other pushes are owed pushes those too (``coalesce.py``). The sweep and large admin selections queue
``push_customers_task`` with a chunk of ``TASK_CHUNK_SIZE`` ids. Both push many customers with the
backfill's engine (``batch.push_many``): one task per customer would spend more on the queue and
on FluentCart's round trip than on the push. Claims keep workers apart, so any number of workers
can drain the same backlog. Both tasks use one client and one concurrency limit per worker process
(``TASK_CONCURRENCY``, or adaptive: ``limiter.py``), so its connection pool and what it learnt of
FluentCart's capacity outlive the task (with a worker that forks per job, such as RQ's default, they
cannot: see docs/deployment.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

try:  # Django 6.0+
    from django.tasks import task, task_backends
except ImportError:  # Django 5.2 with the backport
    from django_tasks import task, task_backends  # type: ignore[no-redef,assignment]

from .conf import app_settings

if TYPE_CHECKING:
    from .client import FluentCartClient
    from .limiter import ConcurrencyLimit

logger = logging.getLogger("fluentcart_sync.tasks")


@task()
def push_customer_task(customer_id: int) -> str:
    """Push one customer, and the other pushes owed now with it (``coalesce.py``); returns the
    outcome's name of this customer's push. Failures are recorded on the rows, not raised.

    A transient failure is queued again for the row's ``next_attempt_at`` when the backend can defer
    tasks; otherwise (or if that enqueue is lost) the sweep retries it at that time. So are the
    others' failures, when their time comes.
    """
    from . import outcome_log
    from .batch import close_stale_connections
    from .coalesce import push_coalesced
    from .outcomes import Outcome
    from .push import push_customer  # imports models: keep this module importable before apps are ready

    close_stale_connections()  # a worker lives for days: not on a connection the database dropped
    client, limit = _worker_client()
    if _runs_in_the_caller():
        # The immediate backend pushes inside the save's request: that request pushes its own customer only.
        outcome = push_customer(customer_id, client=client).outcome
    else:
        outcome, _ = push_coalesced(customer_id, client=client, limit=limit, most=app_settings.COALESCE_LIMIT)
    outcome_log.flush()
    if outcome == Outcome.RETRY:
        enqueue_retry(customer_id)
    return outcome.value


@task()
def push_customers_task(customer_ids: list[int]) -> dict[str, int]:
    """Push a chunk of customers; returns how many ended in each outcome.

    Every failure is recorded on its row. Transient ones are not queued again one by one: their rows
    carry ``next_attempt_at`` and the sweep queues them, in chunks, when that time has come.
    """
    from .batch import close_stale_connections, push_many

    close_stale_connections()
    client, limit = _worker_client()
    summary = push_many(customer_ids, limit=limit, client=client)
    return dict(summary.counts)


def _worker_client() -> tuple[FluentCartClient, ConcurrencyLimit]:
    """One client and one concurrency limit per worker process (and per settings): the connection
    pool, the resolved environment and what the limit learnt of FluentCart's capacity are reused by
    every task the process runs."""
    from .client import get_client
    from .limiter import limit_for

    fixed = app_settings.TASK_CONCURRENCY
    key = (
        app_settings.URL,
        app_settings.USERNAME,
        app_settings.APP_PASSWORD,
        app_settings.timeout,
        fixed,
        app_settings.MAX_CONCURRENCY,
    )
    cached = _clients.get(key)
    if cached is None:
        _clients.clear()
        limit = limit_for(fixed)
        cached = _clients[key] = (get_client(pool_size=limit.maximum), limit)
    return cached


_clients: dict[tuple, tuple[FluentCartClient, ConcurrencyLimit]] = {}


def _runs_in_the_caller() -> bool:
    """Whether the configured backend runs tasks at once, in the process that queued them."""
    try:
        backend = task_backends[app_settings.TASK_BACKEND]
    except Exception:
        return True  # the push is already running: without a known backend, keep it to its customer
    return type(backend).__name__ == "ImmediateBackend"


def enqueue_retry(customer_id: int) -> bool:
    """Queue the next attempt of a customer waiting to retry, at its ``next_attempt_at``.

    Only on backends that support ``run_after``: an immediate backend would run it now, in a loop.
    """
    from .models import Customer, SyncStatus

    if not _backend_defers(f"customer {customer_id}"):
        return False
    row = Customer.objects.filter(pk=customer_id, sync_status=SyncStatus.RETRYING).values("next_attempt_at").first()
    if row is None or row["next_attempt_at"] is None:
        return False  # synced, failed for good, or taken over by another worker meanwhile
    return enqueue_push(customer_id, run_after=row["next_attempt_at"])


def enqueue_push(customer_id: int, *, run_after: datetime | None = None) -> bool:
    """Queue a push on the configured backend; False (logged) if the queue refused it.

    Never raises: a broken queue must not break the save that asked for the push.
    """
    return _enqueue(push_customer_task, customer_id, run_after, "the FluentCart push of customer")


def chunked(customer_ids: Iterable[int], size: int | None = None) -> Iterator[list[int]]:
    """The ids in lists of ``size`` (default ``TASK_CHUNK_SIZE``), in the order given."""
    size = max(1, size or app_settings.TASK_CHUNK_SIZE)
    chunk: list[int] = []
    for customer_id in customer_ids:
        chunk.append(customer_id)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def enqueue_push_chunk(customer_ids: list[int]) -> bool:
    """Queue one task pushing these customers; False (logged) if the queue refused it. Never raises."""
    try:
        push_customers_task.using(backend=app_settings.TASK_BACKEND).enqueue(list(customer_ids))
    except Exception:
        logger.exception(
            "Could not enqueue the FluentCart push of %s customers; the sweep will pick them up", len(customer_ids)
        )
        return False
    return True


@task()
def apply_deletion_task(deletion_id: int) -> str:
    """Carry out what a customer's deletion owes FluentCart (``ON_DELETE``); returns the outcome.
    Failures are recorded on the ``CustomerDeletion``; a retry is queued for its time when the
    backend can defer tasks, and the sweep finds it otherwise."""
    from .batch import close_stale_connections
    from .deletions import RETRY, apply_deletion

    close_stale_connections()
    client, _ = _worker_client()
    result = apply_deletion(deletion_id, client=client)
    if result.outcome == RETRY:
        _enqueue_deletion_retry(deletion_id)
    return result.outcome


def _enqueue_deletion_retry(deletion_id: int) -> bool:
    from .models import CustomerDeletion, DeletionState

    if not _backend_defers(f"deletion {deletion_id}"):
        return False
    row = (
        CustomerDeletion.objects.filter(pk=deletion_id, state=DeletionState.RETRYING).values("next_attempt_at").first()
    )
    if row is None or row["next_attempt_at"] is None:
        return False
    return enqueue_deletion(deletion_id, run_after=row["next_attempt_at"])


def enqueue_deletion(deletion_id: int, *, run_after: datetime | None = None) -> bool:
    """Queue a deletion's work in FluentCart; False (logged) if the queue refused it. Never raises."""
    return _enqueue(apply_deletion_task, deletion_id, run_after, "the FluentCart work of deletion")


def _enqueue(the_task, argument: int, run_after: datetime | None, what: str) -> bool:
    """Queue ``the_task(argument)`` on the configured backend, deferred to ``run_after`` where the
    backend can defer; False (logged) if the queue refused it, never an exception."""
    try:
        backend_alias = app_settings.TASK_BACKEND
        queued = the_task.using(backend=backend_alias)
        if run_after is not None and task_backends[backend_alias].supports_defer:
            queued = queued.using(run_after=run_after)
        queued.enqueue(argument)
    except Exception:
        logger.exception("Could not enqueue %s %s; the sweep will pick it up", what, argument)
        return False
    return True


def _backend_defers(what: str) -> bool:
    """Whether the configured backend can run a task later (``run_after``); an immediate backend
    would run a retry now, in a loop. False (logged) for an unknown backend."""
    try:
        return bool(task_backends[app_settings.TASK_BACKEND].supports_defer)
    except Exception:
        logger.exception("Unknown task backend %r; the sweep will retry %s", app_settings.TASK_BACKEND, what)
        return False
