"""The fake's capacity model: a fixed number of PHP workers, a queue in front of them, 429 beyond."""

from __future__ import annotations

import threading

import pytest

from fluentcart_sync.sandbox import Faults

WAIT = 10  # seconds a test waits for a thread it started before failing, never a timing assumption


@pytest.fixture
def busy(fake):
    """Hold PHP workers as requests in service would; all released at the end."""
    held = []

    def hold(count: int) -> None:
        for _ in range(count):
            assert fake.capacity.admit()
            held.append(1)

    yield hold
    for _ in held:
        fake.capacity.leave()


class Background:
    """One request sent from a thread (it may wait in the queue); its answer once it has one."""

    def __init__(self, call, route: str = "/customers"):
        self.status: int | None = None
        self.thread = threading.Thread(target=self._send, args=(call, route), daemon=True)
        self.thread.start()

    def _send(self, call, route: str) -> None:
        self.status = call("GET", route)[0]

    def answer(self) -> int | None:
        self.thread.join(WAIT)
        return self.status


def test_every_php_worker_busy_and_no_queue_means_429(fake, call, busy):
    fake.faults = Faults(php_workers=2, backlog=0, retry_after=3)
    busy(2)
    status, headers, _ = call("GET", "/customers")
    assert status == 429 and headers["Retry-After"] == "3"
    assert fake.count() == 0
    assert call("POST", "/customers", {"email": "amy@example.com", "full_name": "Amy Pond"})[0] == 429
    assert fake.count() == 0, "a refused request does nothing"


def test_a_free_php_worker_serves_at_once(fake, call, busy):
    fake.faults = Faults(php_workers=2, backlog=0)
    busy(1)
    assert call("GET", "/customers")[0] == 200
    assert fake.capacity.serving == 1, "the request gave its worker back"


def test_beyond_the_workers_requests_wait_in_the_queue_and_beyond_the_queue_get_429(fake, call):
    fake.faults = Faults(php_workers=1, backlog=1)
    assert fake.capacity.admit()  # the one PHP worker is busy
    try:
        queued = Background(call)
        assert fake.capacity.wait_until_waiting(1, WAIT)
        assert call("GET", "/customers")[0] == 429, "the queue is full"
    finally:
        fake.capacity.leave()  # the busy request ends: the queued one takes its worker
    assert queued.answer() == 200


def test_more_php_workers_serve_the_queue_without_a_restart(fake, call, busy):
    fake.faults = Faults(php_workers=1, backlog=4)
    busy(1)
    queued = Background(call)
    assert fake.capacity.wait_until_waiting(1, WAIT)
    assert call("POST", "/__sandbox__/faults", {"php_workers": 2})[0] == 200
    assert queued.answer() == 200


def test_without_php_workers_there_is_no_limit(fake, call, busy):
    busy(50)
    assert call("GET", "/customers")[0] == 200
