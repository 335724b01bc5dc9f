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
from collections.abc import Iterator

from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone

from .batch import BatchSummary, push_many
from .client import FluentCartClient
from .limiter import ConcurrencyLimit
from .models import Customer, SyncStatus
from .outcomes import Outcome, PushResult
from .push import push_customer

#: Owed ids read at a time while a coalesced batch runs: about what its threads take in a few round trips.
PAGE = 50


def owed_now() -> QuerySet:
    """Customers owed a push now: pending, or retrying and due, and not claimed by a worker."""
    now = timezone.now()
    owed = Q(sync_status=SyncStatus.PENDING) | Q(sync_status=SyncStatus.RETRYING, next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return Customer.objects.filter(owed & free)


def owed_others(customer_id: int, most: int, *, page: int = PAGE) -> Iterator[int]:
    """Up to ``most`` ids of other customers owed a push, read a page at a time while they are pushed.

    Each task walks the owed ids in key order from a random point round to it again, so workers
    coalescing at once start on different customers instead of all claiming the same ones; a row
    another worker has claimed meanwhile is no longer read.
    """
    if most <= 0:
        return
    bounds = owed_now().exclude(pk=customer_id).aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    pivot = random.randint(bounds["low"], bounds["high"])
    given = 0
    for part in (Q(pk__gte=pivot), Q(pk__lt=pivot)):
        after = None
        while given < most:
            rows = owed_now().filter(part).exclude(pk=customer_id)
            if after is not None:
                rows = rows.filter(pk__gt=after)
            ids = list(rows.order_by("pk").values_list("pk", flat=True)[: min(page, most - given)])
            if not ids:
                break
            after = ids[-1]
            given += len(ids)
            yield from ids


def push_coalesced(
    customer_id: int, *, client: FluentCartClient, limit: ConcurrencyLimit, most: int
) -> tuple[Outcome, BatchSummary | None]:
    """Push this customer, and up to ``most`` others owed now with it.

    Returns the outcome of this customer's push (``unchanged`` if it was no longer owed) and the
    summary of the batch when others went with it (None when it went out alone).
    """
    own_owed = Customer.objects.filter(pk=customer_id).exclude(sync_status=SyncStatus.SYNCED).exists()
    others = owed_others(customer_id, most)
    first = next(others, None)
    if first is None:
        if not own_owed:
            return Outcome.UNCHANGED, None  # pushed meanwhile by a worker that coalesced it
        return push_customer(customer_id, client=client).outcome, None  # a quiet system: at once
    own = Outcome.UNCHANGED

    def note_own(result: PushResult) -> None:
        nonlocal own
        if result.customer_id == customer_id:
            own = result.outcome

    def ids() -> Iterator[int]:
        if own_owed:
            yield customer_id
        yield first
        yield from others

    summary = push_many(ids(), limit=limit, client=client, on_result=note_own)
    return own, summary
