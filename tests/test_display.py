"""What staff read instead of raw numbers: durations in words, due times apart from past ones, money."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from fluentcart_sync.display import duration_in_words, moment_from_now, money

NOW = datetime(2026, 12, 6, 15, 55, tzinfo=UTC)


@pytest.mark.parametrize(
    "seconds, words",
    [(0, "0 s"), (58, "58 s"), (4502, "1 h 15 min"), (3600, "1 h"), (1199, "20 min"), (90061, "1 d 1 h")],
)
def test_durations_read_in_words(seconds, words):
    assert duration_in_words(seconds) == words


def test_a_due_time_and_a_past_attempt_read_differently():
    assert moment_from_now(NOW + timedelta(seconds=4502), NOW) == "in 1 h 15 min"
    assert moment_from_now(NOW - timedelta(minutes=20), NOW) == "20 min ago"
    with translation.override("de"):
        assert moment_from_now(NOW + timedelta(seconds=4502), NOW) == "in 1 h 15 min"
        assert moment_from_now(NOW - timedelta(minutes=20), NOW) == "vor 20 min"


def test_cents_read_as_money_in_the_shops_currency(fluentcart_settings):
    assert money(123456) == "$1,234.56"
    fluentcart_settings["CURRENCY"] = "EUR"
    assert money(4999) == "€49.99"
    with translation.override("de"):
        assert money(123456) == "1.234,56 €"
    assert money(1200, "CHF") == "CHF\u00a012.00"
