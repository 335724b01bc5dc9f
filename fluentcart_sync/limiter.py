"""How many requests to have in flight: a fixed number, or one found from FluentCart's answers.

A WordPress host serves a few PHP workers at a time. Below that many requests in flight each answer
takes the service time and more requests mean more throughput; above it, requests queue in front of
PHP (the round trip grows while the throughput stays) or are refused (429, 503). ``AdaptiveLimit``
looks for that knee on its own, by additive increase and multiplicative decrease (AIMD, as TCP does):

- a good answer whose round trip is close to the shortest seen recently (the host's own service
  time) raises the limit: by one per answer at first ("slow start", doubling it every round trip),
  then by one per round trip;
- answers that take ``tolerance`` times that shortest round trip on average (requests now queue)
  lower it by a tenth, a 429, 5xx, timeout or lost connection (the host is refusing work) halves it; at most once
  per round trip, since the answers of one overloaded round all say the same thing;
- a limit that nobody fills (a quiet system pushing one customer) never grows, so a lull cannot
  leave it at a height it has never been tested at.

It holds no clock and no lock of its own: ``ConcurrencyGate`` measures each request and tells it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

#: Requests in flight when nothing is known about the host yet.
INITIAL_LIMIT = 2


class ConcurrencyLimit(Protocol):
    """What ``ConcurrencyGate`` asks of a limit."""

    @property
    def current(self) -> int: ...

    @property
    def maximum(self) -> int: ...

    def succeeded(self, seconds: float, *, saturated: bool) -> None: ...

    def overloaded(self) -> None: ...


def limit_for(fixed: int | None) -> ConcurrencyLimit:
    """``fixed`` requests in flight, or (None) an adaptive limit up to the ``MAX_CONCURRENCY`` setting."""
    from .conf import app_settings

    if fixed:
        return FixedLimit(fixed)
    return AdaptiveLimit(maximum=app_settings.MAX_CONCURRENCY)


class FixedLimit:
    """Always ``value`` requests in flight (``--concurrency N``, ``TASK_CONCURRENCY``)."""

    def __init__(self, value: int):
        self.value = max(1, int(value))

    @property
    def current(self) -> int:
        return self.value

    @property
    def maximum(self) -> int:
        return self.value

    def succeeded(self, seconds: float, *, saturated: bool) -> None:
        pass

    def overloaded(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"FixedLimit({self.value})"


class AdaptiveLimit:
    """A limit between ``minimum`` and ``maximum`` moved by the answers it is told about (see the module)."""

    def __init__(
        self,
        *,
        initial: int = INITIAL_LIMIT,
        minimum: int = 1,
        maximum: int = 16,
        tolerance: float = 1.5,
        backoff: float = 0.5,
        easing: float = 0.9,
        window: int = 500,
    ):
        self._maximum = max(1, int(maximum))
        self.minimum = max(1, min(int(minimum), self._maximum))
        self.limit = float(min(max(initial, self.minimum), self._maximum))
        #: Round trips this much longer than the shortest recent one mean requests are queueing.
        self.tolerance = tolerance
        self.backoff = backoff  # the factor on 429/5xx/timeouts
        self.easing = easing  # the factor on a round trip that grew
        self.slow_start = True
        self.peak = int(self.limit)
        # The shortest round trip over the current and the previous ``window`` answers: the host's
        # service time, followed when the host itself gets slower or faster for good.
        self.window = window
        self._shortest_now: float | None = None
        self._shortest_before: float | None = None
        self._answers_in_window = 0
        self._smoothed: float | None = None
        self._answers_since_decrease = 0

    @property
    def current(self) -> int:
        return int(self.limit + 1e-9)  # n steps of 1/n make one whole, whatever the rounding

    @property
    def maximum(self) -> int:
        return self._maximum

    @property
    def baseline(self) -> float | None:
        """The shortest round trip seen recently (None before the first answer)."""
        known = [s for s in (self._shortest_now, self._shortest_before) if s is not None]
        return min(known) if known else None

    def succeeded(self, seconds: float, *, saturated: bool) -> None:
        """A good answer after ``seconds``; ``saturated``: the limit was full when it was sent."""
        self._note_round_trip(seconds)
        self._answers_since_decrease += 1
        baseline = self.baseline
        assert self._smoothed is not None and baseline is not None
        if self._smoothed > self.tolerance * baseline:
            self._decrease(self.easing)
        elif saturated:
            self._set(self.limit + (1.0 if self.slow_start else 1.0 / self.current))

    def overloaded(self) -> None:
        """A 429, a 5xx, a timeout or a lost connection: the host refuses work."""
        self._answers_since_decrease += 1
        self._decrease(self.backoff)

    def _decrease(self, factor: float) -> None:
        if not self.slow_start and self._answers_since_decrease < self.current:
            return  # this round's answers were sent before the last decrease: it already counted them
        self.slow_start = False
        self._answers_since_decrease = 0
        self._set(self.limit * factor)

    def _set(self, value: float) -> None:
        self.limit = min(max(value, float(self.minimum)), float(self._maximum))
        self.peak = max(self.peak, self.current)

    def _note_round_trip(self, seconds: float) -> None:
        if self._shortest_now is None or seconds < self._shortest_now:
            self._shortest_now = seconds
        self._answers_in_window += 1
        if self._answers_in_window >= self.window:
            self._shortest_before, self._shortest_now, self._answers_in_window = self._shortest_now, None, 0
        # A short average (about the last five answers), so one slow answer does not count as queueing.
        self._smoothed = seconds if self._smoothed is None else 0.8 * self._smoothed + 0.2 * seconds

    def __repr__(self) -> str:
        return f"AdaptiveLimit({self.current}, max {self._maximum})"


def overloaded_status(status: int) -> bool:
    """An answer that says the host is over capacity: 429, or a 5xx."""
    return status == 429 or status >= 500


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


class ConcurrencyGate:
    """At most ``limit.current`` requests in flight and ``rate`` request starts per second.

    A client wraps every request in it (``client.gate``) and reports the answer's status with
    ``answered``; the gate times the round trip and tells the limit. An exception out of the request
    (a timeout, a lost connection) counts as overload.
    """

    def __init__(
        self,
        limit: ConcurrencyLimit,
        rate: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limit = limit
        self.rate_limiter = RateLimiter(rate)
        self.clock = clock
        self.in_flight = 0
        self._changed = threading.Condition()
        self._request = threading.local()

    def __enter__(self) -> None:
        with self._changed:
            while self.in_flight >= self.limit.current:
                self._changed.wait()
            self.in_flight += 1
            saturated = self.in_flight >= self.limit.current
        self.rate_limiter.wait()
        self._request.saturated = saturated
        self._request.status = None
        self._request.started = self.clock()

    def answered(self, status: int) -> None:
        """The status of the answer to this thread's request in flight."""
        self._request.status = status

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, traceback: object) -> None:
        from .exceptions import FluentCartLeaseExhausted

        seconds = self.clock() - self._request.started
        status = self._request.status
        with self._changed:
            self.in_flight -= 1
            if exc_type is not None and issubclass(exc_type, FluentCartLeaseExhausted):
                pass  # never sent: it says nothing about the host
            elif status is None or overloaded_status(status):
                self.limit.overloaded()  # no answer (a timeout, a lost connection), or a refusal
            else:
                self.limit.succeeded(seconds, saturated=self._request.saturated)
            self._changed.notify_all()  # a slot is free, and the limit may have grown by more than one
