"""The app's extension points for host code: Django signals sent once an outcome is on the row.

Every signal's sender is ``Customer``; connect receivers in your app's ``ready()``
(docs/extending.md). Each is sent after the outcome is recorded and its transaction has
committed (at once outside a transaction), so a receiver that reads the row sees the outcome, and
an outcome that was rolled back is never announced. A receiver that raises is logged
(``fluentcart_sync.signals``) and never breaks the push or the pull.

- ``customer_pushed(customer_id, outcome, fluentcart_id)``: FluentCart now holds the customer:
  ``outcome`` is ``Outcome.CREATED``, ``LINKED`` or ``UPDATED`` (a ``str`` enum).
- ``customer_push_failed(customer_id, error, field_errors)``: the push failed and needs a person
  (the row is ``failed``); ``field_errors`` is ``{field: [message, ...]}``, maybe empty. Transient
  failures that are retried by themselves are not announced.
- ``customer_pulled(customer_id, fields)``: FluentCart's changes were copied into Django,
  ``{field: value}`` as now stored, by a pull or by the merge of a push.
- ``customer_deleted_remotely(customer_id, fluentcart_id, action, deletion_id)``: FluentCart confirmed
  what a deletion owed it: ``action`` is ``"anonymize"`` or ``"delete"``; ``customer_id`` is the
  deleted local customer's (None for a FluentCart customer that ``fluentcart_erase`` found alone),
  ``deletion_id`` the ``CustomerDeletion`` that remembers it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import router, transaction
from django.dispatch import Signal

from .models import Customer
from .outcomes import Outcome, PushResult

logger = logging.getLogger("fluentcart_sync.signals")

customer_pushed = Signal()
customer_push_failed = Signal()
customer_pulled = Signal()
customer_deleted_remotely = Signal()


def announce_push(result: PushResult) -> None:
    """Announce a push whose outcome was recorded: pushed, failed, and FluentCart's changes it copied."""
    if result.outcome.pushed:
        _announce(customer_pushed, result.customer_id, outcome=result.outcome, fluentcart_id=result.fluentcart_id)
    elif result.outcome == Outcome.FAILED:
        _announce(
            customer_push_failed,
            result.customer_id,
            error=result.error,
            field_errors=dict(result.field_errors or {}),
        )
    if result.pulled:
        announce_pull(result.customer_id, result.pulled)


def announce_pull(customer_id: int, fields: dict[str, Any]) -> None:
    """Announce the fields FluentCart changed that were written on the row (nothing if none)."""
    if fields:
        _announce(customer_pulled, customer_id, fields=dict(fields))


def announce_deletion(customer_id: int | None, fluentcart_id: int | None, action: str, deletion_id: int) -> None:
    """Announce that FluentCart anonymized or deleted the customer a deletion was linked to."""
    _announce(
        customer_deleted_remotely, customer_id, fluentcart_id=fluentcart_id, action=action, deletion_id=deletion_id
    )


def _announce(signal: Signal, customer_id: int | None, **kwargs: Any) -> None:
    transaction.on_commit(partial(_send, signal, customer_id, kwargs), using=router.db_for_write(Customer))


def _send(signal: Signal, customer_id: int | None, kwargs: dict[str, Any]) -> None:
    for receiver, response in signal.send_robust(sender=Customer, customer_id=customer_id, **kwargs):
        if isinstance(response, Exception):
            logger.error(
                "A receiver of %s failed for customer %s: %s",
                _NAMES.get(id(signal), "a fluentcart_sync signal"),
                customer_id,
                getattr(receiver, "__qualname__", receiver),
                exc_info=response,
            )


_NAMES = {
    id(customer_pushed): "customer_pushed",
    id(customer_push_failed): "customer_push_failed",
    id(customer_pulled): "customer_pulled",
    id(customer_deleted_remotely): "customer_deleted_remotely",
}
