"""A total deadline for each HTTP request.

requests' read timeout applies to each socket read, not to the request: a server that trickles its
answer a byte a second keeps a call with a 2 s timeout alive indefinitely, past the claim's lease.
Here one watchdog thread shuts the socket of any request whose deadline has passed; the blocked read
fails at once and the client reports a timeout.

To find the socket, the connection pools record, per thread, the connection a request is using
(``TrackedHTTPConnectionPool``); ``DeadlineAdapter`` installs them in a requests session.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

_in_use = threading.local()  # .slot: the _Slot of this thread's request in progress


class _Slot:
    __slots__ = ("active", "connection", "expired")

    def __init__(self) -> None:
        self.active = True
        self.connection: Any = None
        self.expired = False


class _TrackingMixin:
    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        slot = getattr(_in_use, "slot", None)
        if slot is not None:
            slot.connection = connection
        return connection


class TrackedHTTPConnectionPool(_TrackingMixin, HTTPConnectionPool):
    pass


class TrackedHTTPSConnectionPool(_TrackingMixin, HTTPSConnectionPool):
    pass


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools let ``request_deadline`` find the socket of a request."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": TrackedHTTPConnectionPool,
            "https": TrackedHTTPSConnectionPool,
        }


class _Watchdog:
    """One daemon thread that fires the earliest deadline first."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Slot]] = []
        self._counter = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, slot: _Slot) -> None:
        with self._condition:
            heapq.heappush(self._heap, (deadline, next(self._counter), slot))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fluentcart-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is slot:
                # Only a new earliest deadline needs the watchdog awake: it already sleeps until the
                # earliest one, and requests of one client all get the same deadline, so in a batch
                # this is rare. Waking it per request cost more CPU than the rest of this module.
                self._condition.notify()

    def disarm(self, slot: _Slot) -> None:
        with self._condition:
            slot.active = False  # its heap entry is skipped when it comes up

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._heap and not self._heap[0][2].active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait(30)
                    continue
                deadline, _, slot = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._heap)
                slot.expired = True
                slot.active = False
                _shut(slot.connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # The plain socket's shutdown, also for TLS: it only closes the file descriptor's streams,
        # which wakes the reading thread without touching the TLS object it is using.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


_watchdog = _Watchdog()


class request_deadline:
    """``with request_deadline(seconds) as guard:`` around one ``session.request``; afterwards
    ``guard.expired`` tells whether the watchdog cut it off."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.slot = _Slot()

    @property
    def expired(self) -> bool:
        return self.slot.expired

    def __enter__(self) -> request_deadline:
        _in_use.slot = self.slot
        _watchdog.arm(time.monotonic() + self.seconds, self.slot)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _watchdog.disarm(self.slot)
        _in_use.slot = None
