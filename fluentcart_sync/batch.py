"""Pushing many customers: a bounded pool of worker threads sharing one keep-alive connection pool.

Used by the backfill and the sweep. ``concurrency`` bounds the requests in flight (a gate around
every request, which also applies the rate ceiling), not the threads: a few more threads than
requests let one worker claim or record its row while the others keep every request slot busy, so
the database round trips hide behind the remote's latency instead of adding to it.

Each worker thread has its own database connection (Django's connections are per thread) and closes
it when the batch ends. The caller streams ids in; at most ``2 × threads`` are queued, so memory
stays flat whatever the number of records.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import close_old_connections, connections

from .client import FluentCartClient, get_client
from .services import Outcome, PushResult, push_customer

_DONE = object()


@dataclass
class BatchSummary:
    counts: Counter = field(default_factory=Counter)
    configuration_error: str = ""
    elapsed: float = 0.0

    @property
    def pushed(self) -> int:
        return sum(n for outcome, n in self.counts.items() if Outcome(outcome).pushed)

    @property
    def failed(self) -> int:
        return self.counts["failed"] + self.counts["retry"] + self.counts["missing_remote"]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def worker_count(concurrency: int) -> int:
    """Threads for ``concurrency`` requests in flight: one push spends roughly a tenth of its time
    on the database, so a quarter more threads (and at least one) keep the requests coming."""
    return concurrency + max(1, concurrency // 4)


class RequestGate:
    """At most ``concurrency`` requests in flight and ``rate`` request starts per second."""

    def __init__(self, concurrency: int, rate: float | None):
        self.slots = threading.BoundedSemaphore(concurrency)
        self.limiter = RateLimiter(rate)

    def __enter__(self) -> None:
        self.slots.acquire()
        self.limiter.wait()

    def __exit__(self, *exc_info: object) -> None:
        self.slots.release()


class RateLimiter:
    """At most ``rate`` request starts per second across all threads (None: no ceiling)."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock  # injectable, so tests check the spacing without timing anything
        self.sleep = sleep
        self.next_slot = clock()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = self.clock()
            slot = max(self.next_slot, now)
            self.next_slot = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


def push_many(
    customer_ids: Iterable[int],
    *,
    concurrency: int = 4,
    rate: float | None = None,
    on_result: Callable[[PushResult], None] | None = None,
    client: FluentCartClient | None = None,
    recreate_missing: bool = False,
) -> BatchSummary:
    """Push each id with ``concurrency`` requests in flight; stops early on a configuration error
    (bad credentials, wrong URL: every record would fail the same way)."""
    concurrency = max(1, concurrency)
    client = client or get_client(pool_size=concurrency)
    previous_gate, client.gate = client.gate, RequestGate(concurrency, rate)
    workers = worker_count(concurrency)
    work: queue.Queue = queue.Queue(maxsize=workers * 2)
    summary = BatchSummary()
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                customer_id = work.get()
                if customer_id is _DONE:
                    return
                if stop.is_set():
                    continue  # drain the queue without pushing
                result = push_customer(customer_id, client=client, recreate_missing=recreate_missing)
                with lock:
                    summary.counts[result.outcome.value] += 1
                    if result.configuration_error and not summary.configuration_error:
                        summary.configuration_error = result.error
                        stop.set()
                    if on_result is not None:
                        on_result(result)
        except BaseException as err:  # a bug or a lost database: stop the batch, report it
            errors.append(err)
            stop.set()
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, name=f"fluentcart-push-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for customer_id in customer_ids:
            if stop.is_set():
                break
            work.put(customer_id)
    finally:
        stop_feeding(work, len(threads))
        for thread in threads:
            thread.join()
        client.gate = previous_gate
        close_old_connections()
    summary.elapsed = time.monotonic() - started
    if errors:
        raise errors[0]
    return summary


def stop_feeding(work: queue.Queue, workers: int) -> None:
    for _ in range(workers):
        work.put(_DONE)
