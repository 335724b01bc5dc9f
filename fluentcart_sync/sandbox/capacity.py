"""A WordPress host's capacity: a fixed number of PHP workers, and a queue in front of them.

Each request holds a PHP worker for its service time (the fake's latency). When all are busy a
request waits in the web server's queue, up to ``backlog`` requests; beyond that it is refused at
once with a 429, as a host's rate limiter or a full PHP-FPM queue does. So a client that sends more
than the host can serve sees answers slow down first, then refusals: the signals an adaptive client
has to find the host's capacity by.
"""

from __future__ import annotations

import threading


class Capacity:
    """At most ``workers`` requests served at once and ``backlog`` waiting; ``workers`` 0: no limit.

    Both can change while requests are in flight (the control route), as a host given more PHP
    workers serves more at once without a restart.
    """

    def __init__(self, workers: int = 0, backlog: int = 0):
        self.workers = workers
        self.backlog = backlog
        self.serving = 0
        self.waiting = 0
        self._changed = threading.Condition()

    def configure(self, workers: int, backlog: int) -> None:
        with self._changed:
            if (workers, backlog) != (self.workers, self.backlog):
                self.workers, self.backlog = workers, backlog
                self._changed.notify_all()

    def admit(self) -> bool:
        """Take a PHP worker, waiting in the queue if there is room; False: refused (the queue is full)."""
        with self._changed:
            if self.workers <= 0:
                self.serving += 1
                return True
            if self.serving >= self.workers:
                if self.waiting >= self.backlog:
                    return False
                self.waiting += 1
                self._changed.notify_all()  # for wait_until_waiting
                try:
                    while self.workers > 0 and self.serving >= self.workers:
                        self._changed.wait()
                finally:
                    self.waiting -= 1
            self.serving += 1
            return True

    def leave(self) -> None:
        """The request is answered: its PHP worker takes the next one in the queue."""
        with self._changed:
            self.serving -= 1
            self._changed.notify_all()

    def wait_until_waiting(self, count: int, timeout: float) -> bool:
        """For tests: block until ``count`` requests wait in the queue; False after ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: self.waiting >= count, timeout)
