"""How pushes ended, minute by minute: a small aggregate table (``PushOutcomeMinute``) that the
health page charts and the metrics count, and the time FluentCart last answered a push.

A push must not pay a query for its statistics (a push is two or three statements), so each process
counts in memory and writes its counts in one go: when a batch ends, when a task ends, when a web
request ends, and on a push's path only once the counts are a minute old. Minutes older than a day
are folded into one total row per outcome (``TOTALS_MINUTE``), so the table stays small and the
counters never go down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import Error as DbError  # DatabaseError, and InterfaceError for a closed connection
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from .outcomes import Outcome, PushResult

#: The minute of the row per outcome that holds every pruned minute's count.
TOTALS_MINUTE = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
#: How long per-minute rows are kept (the chart shows the last 24 hours).
KEEP = timedelta(hours=25)
#: A push's path writes the counts only once they are this old (seconds).
FLUSH_AFTER_SECONDS = 60.0
PRUNE_EVERY_SECONDS = 600.0

logger = logging.getLogger("fluentcart_sync.outcome_log")

_lock = threading.Lock()
_counts: Counter = Counter()
_answered_at: datetime | None = None
_oldest_count = 0.0  # monotonic time of the first count not written yet
_last_prune = 0.0


def count(result: PushResult) -> None:
    """Note a push's outcome (not a row another worker held); written later, in one go."""
    global _answered_at, _oldest_count
    if result.outcome == Outcome.BUSY:
        return
    now = timezone.now()
    with _lock:
        if not _counts:
            _oldest_count = time.monotonic()
        _counts[(now.replace(second=0, microsecond=0), result.outcome.value)] += 1
        if result.outcome.succeeded and result.requested:
            _answered_at = now if _answered_at is None else max(_answered_at, now)
        due = time.monotonic() - _oldest_count >= FLUSH_AFTER_SECONDS
    if due:
        flush()


def flush(**kwargs) -> None:
    """Write the counts of this process (a no-op when there are none). Accepts a signal's arguments."""
    from .recovery import note_answered

    global _answered_at
    with _lock:
        counts = dict(_counts)
        answered_at = _answered_at
        _counts.clear()
        _answered_at = None
    wrote = bool(counts)
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction: a failure here is ours
            for (minute, outcome), n in counts.items():
                _add(minute, outcome, n)
            if answered_at is not None:
                note_answered(answered_at)
        counts, answered_at = {}, None
        if wrote:
            prune_now_and_then()
    except DbError as err:
        # Statistics must never break a push or hide a batch's own error: keep them for next time.
        logger.warning("Could not write the push counts: %s", err)
        with _lock:
            _counts.update(counts)
            if answered_at is not None:
                _answered_at = answered_at if _answered_at is None else max(_answered_at, answered_at)


def discard() -> None:
    """Forget the counts not written yet (tests: a rolled-back database must not receive them)."""
    global _answered_at
    with _lock:
        _counts.clear()
        _answered_at = None


def _add(minute: datetime, outcome: str, n: int) -> None:
    from .models import PushOutcomeMinute

    rows = PushOutcomeMinute.objects.filter(minute=minute, outcome=outcome)
    if rows.update(count=F("count") + n):
        return
    try:
        with transaction.atomic():
            PushOutcomeMinute.objects.create(minute=minute, outcome=outcome, count=n)
    except IntegrityError:  # another process created the minute's row meanwhile
        rows.update(count=F("count") + n)


def prune_now_and_then() -> None:
    global _last_prune
    if time.monotonic() - _last_prune < PRUNE_EVERY_SECONDS and _last_prune:
        return
    _last_prune = time.monotonic()
    prune()


def prune(now: datetime | None = None) -> int:
    """Fold the minutes older than ``KEEP`` into the totals rows; returns how many rows went."""
    from .models import PushOutcomeMinute

    cutoff = (now or timezone.now()) - KEEP
    with transaction.atomic():
        old = list(
            PushOutcomeMinute.objects.select_for_update()
            .filter(minute__lt=cutoff, minute__gt=TOTALS_MINUTE)
            .values_list("pk", "outcome", "count")
        )
        if not old:
            return 0
        folded: Counter = Counter()
        for _pk, outcome, n in old:
            folded[outcome] += n
        PushOutcomeMinute.objects.filter(pk__in=[pk for pk, _outcome, _n in old]).delete()
        for outcome, n in folded.items():
            _add(TOTALS_MINUTE, outcome, n)
    return len(old)


def totals() -> dict[str, int]:
    """Pushes by outcome since the table began (the metrics' counters)."""
    from .models import PushOutcomeMinute

    rows = PushOutcomeMinute.objects.values_list("outcome").annotate(n=Sum("count")).order_by()
    return {outcome: int(n or 0) for outcome, n in rows}


def since(start: datetime) -> list[tuple[datetime, str, int]]:
    """(minute, outcome, count) of every minute from ``start``, oldest first."""
    from .models import PushOutcomeMinute

    rows = PushOutcomeMinute.objects.filter(minute__gte=start).order_by("minute")
    return list(rows.values_list("minute", "outcome", "count"))
