"""Pushing many customers: a bounded pool of worker threads sharing one keep-alive connection pool.

Used by the backfill, the sweep, chunk tasks and coalesced pushes. A limit (``limiter.py``: fixed,
or adaptive, found from FluentCart's answers) bounds the requests in flight (a gate around every
request, which also applies the rate ceiling), not the threads: a few more threads than requests
let one worker claim or record its row while the others keep every request slot busy, so the
database round trips hide behind the remote's latency instead of adding to it. Threads are started
as the limit grows, so a limit that stays low opens few database connections.

Each worker thread has its own database connection (Django's connections are per thread) and closes
it when the batch ends. The caller streams ids in; at most ``2 × threads`` are queued, so memory
stays flat whatever the number of records.

A batch never hangs and never strands a claim: a row's failure is recorded on that row; a worker
that dies (a lost database) stops the batch with ``BatchAborted``; the first Ctrl-C stops taking
new rows and lets the requests in flight finish; a second releases every claim still held at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connections

from . import outcome_log
from .claims import release_all
from .client import FluentCartClient, get_client
from .limiter import ConcurrencyGate, ConcurrencyLimit, FixedLimit, RateLimiter
from .outcomes import Outcome, PushResult
from .push import push_customer

__all__ = ["BatchAborted", "BatchSummary", "RateLimiter", "close_stale_connections", "push_many", "worker_count"]

_DONE = object()
#: How often a blocked feeder or joiner wakes to see whether the workers are still there.
_POLL_SECONDS = 0.2


class BatchAborted(Exception):
    """The batch stopped before its end: its workers died (``cause`` says why) or it was interrupted
    twice. ``summary`` holds what was done until then."""

    def __init__(self, message: str, summary: BatchSummary):
        super().__init__(message)
        self.summary = summary


@dataclass
class BatchSummary:
    counts: Counter = field(default_factory=Counter)
    configuration_error: str = ""
    elapsed: float = 0.0
    #: Stopped by Ctrl-C (the rows not reached stay owed).
    interrupted: bool = False

    @property
    def pushed(self) -> int:
        return sum(n for outcome, n in self.counts.items() if Outcome(outcome).pushed)

    @property
    def failed(self) -> int:
        return self.counts["failed"] + self.counts["missing_remote"]

    @property
    def owed(self) -> int:
        """Still to be pushed later, automatically: retries and paused rows."""
        return self.counts["retry"] + self.counts["paused"]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def worker_count(concurrency: int) -> int:
    """Threads for ``concurrency`` requests in flight: one push spends roughly a tenth of its time
    on the database, so a quarter more threads (and at least one) keep the requests coming."""
    return concurrency + max(1, concurrency // 4)


def push_many(
    customer_ids: Iterable[int],
    *,
    concurrency: int = 4,
    rate: float | None = None,
    on_result: Callable[[PushResult], None] | None = None,
    client: FluentCartClient | None = None,
    recreate_missing: bool = False,
    limit: ConcurrencyLimit | None = None,
) -> BatchSummary:
    """Push each id with ``concurrency`` requests in flight, or as many as ``limit`` allows at each
    moment (an ``AdaptiveLimit`` finds FluentCart's capacity, and keeps what it learnt for the next batch).

    Stops early on a configuration error (bad credentials, wrong URL: every record would fail the
    same way). Raises ``BatchAborted`` if the workers die or on a second KeyboardInterrupt; the
    first KeyboardInterrupt returns the summary with ``interrupted`` set.
    """
    limit = limit or FixedLimit(concurrency)
    client = client or get_client(pool_size=limit.maximum)
    previous_gate, client.gate = client.gate, ConcurrencyGate(limit, rate)
    # Threads for the highest limit reached so far, started as it grows: a limit that stays low
    # opens few database connections.
    work: queue.Queue = queue.Queue(maxsize=worker_count(limit.maximum) * 2)
    summary = BatchSummary()
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []
    claims: set[str] = set()  # tokens of claims held right now, released if the batch is aborted

    def worker() -> None:
        try:
            while True:
                customer_id = work.get()
                if customer_id is _DONE:
                    return
                if stop.is_set():
                    continue  # drain the queue without pushing
                result = push_customer(customer_id, client=client, recreate_missing=recreate_missing, claims=claims)
                with lock:
                    summary.counts[result.outcome.value] += 1
                    if result.configuration_error and not summary.configuration_error:
                        summary.configuration_error = result.error
                        stop.set()
                    if on_result is not None:
                        on_result(result)
        except BaseException as err:  # a lost database, or a bug outside any row: stop the batch
            errors.append(err)
            stop.set()
        finally:
            connections.close_all()

    started = time.monotonic()
    threads: list[threading.Thread] = []

    def enough_threads() -> None:
        while len(threads) < worker_count(limit.current):
            thread = threading.Thread(target=worker, name=f"fluentcart-push-{len(threads)}", daemon=True)
            threads.append(thread)
            thread.start()

    enough_threads()
    try:
        try:
            _feed(customer_ids, work, stop, threads, enough_threads)
        except KeyboardInterrupt:
            summary.interrupted = True  # first Ctrl-C: take no new rows, let the requests in flight end
            stop.set()
        _finish(work, threads)
    except KeyboardInterrupt:
        # Second Ctrl-C: do not wait. Release what is still claimed, so a re-run can take it at once
        # (it looks up first: a POST of ours may be in flight).
        stop.set()
        release_all(list(claims))
        summary.interrupted = True
        summary.elapsed = time.monotonic() - started
        raise BatchAborted("Interrupted twice: stopped without waiting for the requests in flight", summary) from None
    finally:
        client.gate = previous_gate
        outcome_log.flush()
        close_stale_connections()
    summary.elapsed = time.monotonic() - started
    if errors:
        raise BatchAborted(f"The batch stopped: {type(errors[0]).__name__}: {errors[0]}", summary) from errors[0]
    return summary


def close_stale_connections() -> None:
    """What a request does at its end, for a long-lived process (a worker, a loop): close this
    thread's connections that broke or outlived ``CONN_MAX_AGE``. Never one inside a transaction:
    the immediate task backend runs a task inside its caller's."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _feed(
    customer_ids: Iterable[int],
    work: queue.Queue,
    stop: threading.Event,
    threads: list,
    enough_threads: Callable[[], None],
) -> None:
    """Queue every id, unless the batch stops; never blocks on a queue that nobody reads."""
    for customer_id in customer_ids:
        enough_threads()
        while True:
            if stop.is_set() or not any(thread.is_alive() for thread in threads):
                stop.set()
                return
            try:
                work.put(customer_id, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                continue


def _finish(work: queue.Queue, threads: list) -> None:
    """Tell every live worker to end, and wait for them."""
    for _ in threads:
        while any(thread.is_alive() for thread in threads):
            try:
                work.put(_DONE, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                continue
    for thread in threads:
        while thread.is_alive():
            thread.join(_POLL_SECONDS)
