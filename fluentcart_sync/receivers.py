"""Signal receivers: new and changed customers are pushed after their transaction commits, and
new users get a linked customer. Nothing here talks to FluentCart inside a save."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.db import transaction

from .conf import app_settings
from .models import Customer

logger = logging.getLogger("fluentcart_sync.receivers")

_auto_push_suppressed: ContextVar[bool] = ContextVar("fluentcart_auto_push_suppressed", default=False)


@contextmanager
def auto_push_suppressed() -> Iterator[None]:
    """Save customers without queueing their push: for batch jobs that push them themselves."""
    token = _auto_push_suppressed.set(True)
    try:
        yield
    finally:
        _auto_push_suppressed.reset(token)


def customer_saved(sender, instance: Customer, created: bool, raw: bool = False, **kwargs) -> None:
    """Queue a push for a new customer, or for one whose pushed fields this save changed.

    The save itself has already marked the row owed, in its own UPDATE (``Customer.save``), so a
    lost task only delays the push: the sweep finds the row. A save that changed no pushed field
    queues nothing.
    """
    if raw or not app_settings.AUTO_PUSH or _auto_push_suppressed.get():
        return  # fixtures being loaded, or pushing switched off
    from .tasks import enqueue_push

    if not created and not getattr(instance, "_pushed_data_changed", False):
        return
    instance._pushed_data_changed = False
    # After commit: a rollback must not reach FluentCart, and the worker must see the row.
    transaction.on_commit(partial(enqueue_push, instance.pk), robust=True)


def user_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Give every new user a linked Customer (which is then pushed like any other)."""
    if raw or not created or not app_settings.CREATE_CUSTOMER_FOR_NEW_USERS:
        return
    from .users import customer_for_user

    try:
        with transaction.atomic():
            customer_for_user(instance)
    except Exception:
        # The user's account matters more than its customer row; the backfill's
        # --include-users creates what is missing here.
        logger.exception("Could not create the FluentCart customer for user %s", instance.pk)
