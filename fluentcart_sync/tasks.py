"""The push as a Django task (``django.tasks`` on Django 6, the ``django-tasks`` backport before).

Tasks only make a push happen sooner: the customer's row is the record of what is owed, so a lost
or failed enqueue delays a push (the sweep finds it) but never drops it.
"""

from __future__ import annotations

import logging
from datetime import datetime

try:  # Django 6.0+
    from django.tasks import task, task_backends
except ImportError:  # Django 5.2 with the backport
    from django_tasks import task, task_backends  # type: ignore[no-redef,assignment]

from .conf import app_settings

logger = logging.getLogger("fluentcart_sync.tasks")


@task()
def push_customer_task(customer_id: int) -> str:
    """Push one customer; returns the outcome's name. Failures are recorded on the row, not raised.

    A transient failure is queued again for the row's ``next_attempt_at`` when the backend can defer
    tasks; otherwise (or if that enqueue is lost) the sweep retries it at that time.
    """
    from .outcomes import Outcome
    from .push import push_customer  # imports models: keep this module importable before apps are ready

    result = push_customer(customer_id, client=_worker_client())
    if result.outcome == Outcome.RETRY:
        enqueue_retry(customer_id)
    return result.outcome.value


def _worker_client():
    """One client per worker process (and per settings): its connection pool and resolved
    environment are reused by every task the process runs, instead of built per task."""
    from .client import get_client

    key = (app_settings.URL, app_settings.USERNAME, app_settings.APP_PASSWORD, app_settings.timeout)
    cached = _clients.get(key)
    if cached is None:
        _clients.clear()
        cached = _clients[key] = get_client()
    return cached


_clients: dict = {}


def enqueue_retry(customer_id: int) -> bool:
    """Queue the next attempt of a customer waiting to retry, at its ``next_attempt_at``.

    Only on backends that support ``run_after``: an immediate backend would run it now, in a loop.
    """
    from .models import Customer, SyncStatus

    try:
        if not task_backends[app_settings.TASK_BACKEND].supports_defer:
            return False
    except Exception:
        logger.exception(
            "Unknown task backend %r; the sweep will retry customer %s", app_settings.TASK_BACKEND, customer_id
        )
        return False
    row = Customer.objects.filter(pk=customer_id, sync_status=SyncStatus.RETRYING).values("next_attempt_at").first()
    if row is None or row["next_attempt_at"] is None:
        return False  # synced, failed for good, or taken over by another worker meanwhile
    return enqueue_push(customer_id, run_after=row["next_attempt_at"])


def enqueue_push(customer_id: int, *, run_after: datetime | None = None) -> bool:
    """Queue a push on the configured backend; False (logged) if the queue refused it.

    Never raises: a broken queue must not break the save that asked for the push.
    """
    try:
        backend_alias = app_settings.TASK_BACKEND
        the_task = push_customer_task.using(backend=backend_alias)
        if run_after is not None and task_backends[backend_alias].supports_defer:
            the_task = the_task.using(run_after=run_after)
        the_task.enqueue(customer_id)
    except Exception:
        logger.exception("Could not enqueue the FluentCart push of customer %s; the sweep will pick it up", customer_id)
        return False
    return True
