"""Coalesced pushes: a worker that takes one customer's task pushes the other owed customers with it.

A signup burst queues one task per save. Taken one at a time, each task pushes one customer and
waits out FluentCart's round trip: on a host answering in 200 ms, one worker pushes five customers a
second. Instead, the task looks for other pushes owed right now and pushes them all together with
the backfill's engine (``batch.push_many``) on the worker's pooled client, as many in flight as the
worker's limit allows. Claims keep workers apart, and the other customers' own tasks then find
their row synced and end without a request.

A quiet system pays one small query per task: with nothing else owed, the task's own customer goes
out at once, alone, as before.
"""

from __future__ import annotations

import random

from django.db.models import Q
from django.utils import timezone

from .batch import BatchSummary, push_many
from .client import FluentCartClient
from .limiter import ConcurrencyLimit
from .models import Customer, SyncStatus
from .outcomes import Outcome, PushResult
from .push import push_customer


def owed_now(*, excluding: int, limit: int) -> list[int]:
    """Up to ``limit`` ids of other customers owed a push now: pending, or retrying and due, and
    not claimed by a worker. In random order, so workers coalescing at once start on different rows."""
    if limit <= 0:
        return []
    now = timezone.now()
    owed = Q(sync_status=SyncStatus.PENDING) | Q(sync_status=SyncStatus.RETRYING, next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ids = list(
        Customer.objects.filter(owed & free).exclude(pk=excluding).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    random.shuffle(ids)
    return ids


def push_coalesced(
    customer_id: int, *, client: FluentCartClient, limit: ConcurrencyLimit, most: int
) -> tuple[Outcome, BatchSummary | None]:
    """Push this customer, and up to ``most`` others owed now with it.

    Returns the outcome of this customer's push (``unchanged`` if it was no longer owed) and the
    summary of the batch when others went with it (None when it went out alone).
    """
    own_owed = Customer.objects.filter(pk=customer_id).exclude(sync_status=SyncStatus.SYNCED).exists()
    others = owed_now(excluding=customer_id, limit=most)
    if not others:
        if not own_owed:
            return Outcome.UNCHANGED, None  # pushed meanwhile by a worker that coalesced it
        return push_customer(customer_id, client=client).outcome, None  # a quiet system: at once
    own = Outcome.UNCHANGED

    def note_own(result: PushResult) -> None:
        nonlocal own
        if result.customer_id == customer_id:
            own = result.outcome

    summary = push_many([customer_id, *others] if own_owed else others, limit=limit, client=client, on_result=note_own)
    return own, summary
