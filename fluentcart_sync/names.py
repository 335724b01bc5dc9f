"""Fitting a name into a column: cut on a word boundary, within a character and a byte limit.

Django's columns count characters; FluentCart's validator counts bytes (``maxLength:255`` is PHP's
``strlen``), so a name built from other fields (a user's first and last name) is cut to fit both.
"""

from __future__ import annotations

from .validation import normalise_text

#: FluentCart refuses names longer than this many bytes (UTF-8), whatever its column holds.
FLUENTCART_MAX_BYTES = 255


def fit_name(text: str | None, max_chars: int, max_bytes: int | None = FLUENTCART_MAX_BYTES) -> str:
    """``text`` (whitespace folded) cut to at most ``max_chars`` characters and ``max_bytes`` UTF-8
    bytes, at the last space before the limit when the cut falls inside a word."""
    text = normalise_text(text)
    cut = text[:max_chars]
    if max_bytes is not None:
        cut = cut.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
    if cut == text:
        return text
    if text[len(cut) : len(cut) + 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]  # a word boundary: never half a word
    return cut.strip()
