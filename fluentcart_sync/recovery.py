"""An outage that is over costs no more time: once FluentCart answers again, every row waiting on a
transient failure is due at once, whatever its backoff had grown to.

"FluentCart answers" is a push that succeeded (``outcome_log`` writes the time) or a probe that the
sweep sends when rows are waiting and nothing has told it yet that FluentCart is back. A retrying
row whose last attempt is older than that answer is due: the sweep pushes them at its concurrency
(and ``--rate``), not all at once. A row still in quarantine (a POST of ours may still land) waits
for it to end, as always, and a row FluentCart answered with a ``Retry-After`` waits that long.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

logger = logging.getLogger("fluentcart_sync.recovery")


def note_answered(at: datetime) -> None:
    """FluentCart answered at ``at``: remember the latest such time (one UPDATE)."""
    from .models import SyncCircuit

    rows = SyncCircuit.objects.filter(pk=SyncCircuit.KEY)
    if rows.filter(last_answer_at__isnull=True).update(last_answer_at=at):
        return
    if not rows.update(last_answer_at=Greatest("last_answer_at", Value(at))):
        try:  # migration 0006 creates the row; someone deleted it
            with transaction.atomic():
                SyncCircuit.objects.create(pk=SyncCircuit.KEY, last_answer_at=at)
        except IntegrityError:
            rows.update(last_answer_at=Greatest("last_answer_at", Value(at)))


def answered_at() -> datetime | None:
    from .models import SyncCircuit

    return SyncCircuit.objects.filter(pk=SyncCircuit.KEY).values_list("last_answer_at", flat=True).first()


def recovered(now: datetime, answered: datetime | None) -> Q:
    """Retrying rows that failed before FluentCart last answered (out of quarantine, and past any
    ``Retry-After`` FluentCart gave)."""
    from .models import SyncStatus

    if answered is None:
        return Q(pk__in=[])
    return (
        Q(sync_status=SyncStatus.RETRYING, last_attempt_at__lt=answered)
        & (Q(quarantine_until__isnull=True) | Q(quarantine_until__lte=now))
        & (Q(retry_not_before__isnull=True) | Q(retry_not_before__lte=now))
    )


def waiting_since_last_answer(now: datetime | None = None):
    """Retrying rows that wait for a later attempt and failed after FluentCart last answered: only
    a new answer from FluentCart can make them due sooner."""
    from .models import Customer, SyncStatus

    now = now or timezone.now()
    waiting = Customer.objects.filter(sync_status=SyncStatus.RETRYING, next_attempt_at__gt=now).exclude(
        retry_not_before__gt=now  # FluentCart said when: a probe cannot make these due sooner
    )
    answered = answered_at()
    if answered is not None:
        waiting = waiting.filter(last_attempt_at__gte=answered)
    return waiting


def probe_if_waiting(client) -> bool | None:
    """One request to FluentCart when rows wait on a transient failure and nothing has said yet
    that it is back. True: it answered (those rows are due now); False: still failing; None: no
    row was waiting, so nothing was sent."""
    from .exceptions import FluentCartError

    if not waiting_since_last_answer().exists():
        return None
    try:
        client.list_customers(per_page=1)
    except FluentCartError as err:
        if getattr(err, "configuration", False):
            from . import circuit

            circuit.open_circuit(str(err))
        logger.info("FluentCart still fails: %s", err)
        return False
    note_answered(timezone.now())
    return True
