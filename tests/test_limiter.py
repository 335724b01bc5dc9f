"""The adaptive concurrency limit: more requests in flight while FluentCart answers well and as fast
as ever, fewer on 429/5xx/timeouts or answers that slow down. Round trips are given, never timed."""

import pytest

from fluentcart_sync.exceptions import (
    FluentCartError,
    FluentCartLeaseExhausted,
    FluentCartRateLimited,
    FluentCartTimeout,
)
from fluentcart_sync.limiter import AdaptiveLimit, ConcurrencyGate, FixedLimit, limit_for

SERVICE = 0.040  # the host's own time per request


def good(limit: AdaptiveLimit, answers: int, seconds: float = SERVICE, *, saturated: bool = True) -> None:
    for _ in range(answers):
        limit.succeeded(seconds, saturated=saturated)


def test_it_doubles_every_round_trip_while_answers_are_good_and_latency_flat():
    limit = AdaptiveLimit(initial=2, maximum=64)
    good(limit, 2)  # one round trip at 2 in flight
    assert limit.current == 4
    good(limit, 4)
    assert limit.current == 8


def test_it_never_goes_above_its_maximum():
    limit = AdaptiveLimit(initial=2, maximum=10)
    good(limit, 100)
    assert limit.current == 10


def test_a_limit_nobody_fills_does_not_grow():
    """A quiet system pushing one customer at a time: its limit was never tested, so it stays."""
    limit = AdaptiveLimit(initial=2, maximum=64)
    good(limit, 100, saturated=False)
    assert limit.current == 2


def test_a_429_or_5xx_halves_it_once_per_round_trip():
    limit = AdaptiveLimit(initial=2, maximum=64)
    good(limit, 14)
    assert limit.current == 16
    limit.overloaded()
    assert limit.current == 8
    for _ in range(7):  # the rest of the same overloaded round: already counted
        limit.overloaded()
    assert limit.current == 8
    limit.overloaded()  # a full round later, still refused
    assert limit.current == 4


def test_it_never_goes_below_its_minimum():
    limit = AdaptiveLimit(initial=4, minimum=1, maximum=64)
    for _ in range(50):
        limit.overloaded()
    assert limit.current == 1


def test_after_a_decrease_it_grows_by_one_per_round_trip():
    limit = AdaptiveLimit(initial=2, maximum=64)
    good(limit, 14)
    limit.overloaded()
    assert limit.current == 8
    good(limit, 8)  # one round trip's answers at 8 in flight
    assert limit.current == 9
    good(limit, 9)
    assert limit.current == 10


def test_rising_latency_lowers_it_before_any_error():
    """Requests queueing in front of PHP: answers take twice the service time, the host is full."""
    limit = AdaptiveLimit(initial=2, maximum=64)
    good(limit, 14)
    assert limit.current == 16
    good(limit, 16, seconds=2 * SERVICE)
    assert limit.current < limit.peak, "lowered within a round trip of the slowdown"
    lowered = limit.current
    good(limit, 100, seconds=2 * SERVICE)
    assert limit.current < lowered, "it keeps lowering while the answers stay slow"


def test_one_slow_answer_is_not_queueing():
    limit = AdaptiveLimit(initial=2, maximum=64)
    good(limit, 14)
    limit.succeeded(3 * SERVICE, saturated=True)
    assert limit.current >= 16


def test_it_follows_a_host_that_became_slower_for_good():
    """After two windows of answers the new round trip is the host's normal, and growth resumes."""
    limit = AdaptiveLimit(initial=2, maximum=64, window=50)
    good(limit, 6)
    good(limit, 200, seconds=3 * SERVICE)
    assert limit.baseline == pytest.approx(3 * SERVICE)
    settled = limit.current
    good(limit, 4 * settled, seconds=3 * SERVICE)
    assert limit.current > settled


def test_concurrency_given_by_a_person_is_fixed():
    fixed = limit_for(8)
    assert isinstance(fixed, FixedLimit)
    fixed.overloaded()
    fixed.succeeded(SERVICE, saturated=True)
    assert (fixed.current, fixed.maximum) == (8, 8)


def test_no_concurrency_given_means_adaptive_up_to_the_setting(fluentcart_settings):
    fluentcart_settings["MAX_CONCURRENCY"] = 12
    limit = limit_for(None)
    assert isinstance(limit, AdaptiveLimit) and limit.maximum == 12


# -- the gate tells the limit what each request met ---------------------------------------------------


class RecordingLimit:
    current = maximum = 4

    def __init__(self):
        self.heard = []

    def succeeded(self, seconds, *, saturated):
        self.heard.append(("good", round(seconds, 3), saturated))

    def overloaded(self):
        self.heard.append(("overloaded",))


class Clock:
    def __init__(self):
        self.now = 50.0

    def __call__(self):
        return self.now


def through_gate(gate, clock, *, status=None, error=None, seconds=SERVICE):
    try:
        with gate:
            clock.now += seconds
            if error is not None:
                raise error
            gate.answered(status)
    except FluentCartError:
        pass


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_the_gate_reports_refusals_as_overload(status):
    limit, clock = RecordingLimit(), Clock()
    gate = ConcurrencyGate(limit, clock=clock)
    through_gate(gate, clock, status=status)
    assert limit.heard == [("overloaded",)]


@pytest.mark.parametrize("status", [200, 404, 422])
def test_the_gate_reports_answers_with_their_round_trip(status):
    limit, clock = RecordingLimit(), Clock()
    gate = ConcurrencyGate(limit, clock=clock)
    through_gate(gate, clock, status=status, seconds=0.2)
    assert limit.heard == [("good", 0.2, False)]


def test_no_answer_is_overload_and_a_request_never_sent_is_nothing():
    limit, clock = RecordingLimit(), Clock()
    gate = ConcurrencyGate(limit, clock=clock)
    through_gate(gate, clock, error=FluentCartTimeout("no answer"))
    through_gate(gate, clock, error=FluentCartLeaseExhausted("not sent"))
    assert limit.heard == [("overloaded",)]
    assert gate.in_flight == 0


def test_the_client_reports_each_answers_status_to_its_gate(fake):
    from fluentcart_sync.client import get_client
    from fluentcart_sync.sandbox import Faults

    limit = RecordingLimit()
    client = get_client()
    client.gate = ConcurrencyGate(limit)
    client.create_customer({"email": "amy@example.com", "full_name": "Amy Pond"})
    fake.faults = Faults(rate_limit_rate=1.0)
    with pytest.raises(FluentCartRateLimited):
        client.get_customer(1)
    assert [heard[0] for heard in limit.heard] == ["good", "overloaded"]
