"""How sync values read to a person: durations in words, moments with how far away they are, and
FluentCart's cents as money in the shop's currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import dateformat, formats, timezone
from django.utils.translation import gettext

from .conf import app_settings

#: Symbols for the currencies a shop most often runs in; any other is shown by its ISO 4217 code.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


def duration_in_words(seconds: float) -> str:
    """ "45 s", "20 min", "1 h 15 min", "2 d 3 h": at most two units; seconds only under a minute."""
    remaining = max(0, round(seconds))
    if remaining >= 60:
        remaining = round(remaining / 60) * 60
    # Unit symbols, the same in English and German: the text also goes into stored (English) errors.
    units = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))
    parts: list[str] = []
    for size, symbol in units:
        count, remaining = divmod(remaining, size)
        if count or (size == 1 and not parts):
            parts.append(f"{count} {symbol}")
        if len(parts) == 2:
            break
    return " ".join(parts)


def moment_from_now(moment: datetime, now: datetime | None = None) -> str:
    """ "in 1 h 15 min" or "20 min ago": a due time or a past attempt, told apart at a glance."""
    delta = (moment - (now or timezone.now())).total_seconds()
    if delta >= 0:
        return gettext("in %(duration)s") % {"duration": duration_in_words(delta)}
    return gettext("%(duration)s ago") % {"duration": duration_in_words(-delta)}


def moment_in_words(moment: datetime, now: datetime | None = None) -> str:
    """The local day and time, and how far from now: "6 Dec 15:55 (in 1 h 15 min)"."""
    local = timezone.localtime(moment)
    return gettext("%(moment)s (%(relative)s)") % {
        "moment": dateformat.format(local, "j M H:i"),
        "relative": moment_from_now(moment, now),
    }


def money(cents: int, currency: str | None = None) -> str:
    """FluentCart's cents as an amount in the shop's currency, with the reader's separators: "$1,234.56"."""
    code = (currency or app_settings.CURRENCY or "USD").upper()
    amount = formats.number_format(Decimal(cents) / 100, 2, use_l10n=True, force_grouping=True)
    symbol = CURRENCY_SYMBOLS.get(code, code)
    if symbol[-1].isalpha():
        symbol += "\u00a0"  # a code needs a space before the figure: "CHF 12.00"
    # The symbol's side follows the language: "$1,234.56" in English, "1.234,56 $" in German.
    return (gettext("%(symbol)s%(amount)s") % {"symbol": symbol, "amount": amount}).strip()
