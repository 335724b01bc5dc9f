"""Names as FluentCart holds them: one name in three fields.

FluentCart stores one name. In its default full-name mode it splits ``full_name`` at the last
space (``Mary van Dyke`` is ``Mary van`` / ``Dyke``); in first/last mode it keeps the two parts and
joins them. So the three fields are one unit: an edit of one part is an edit of the name (``one_name``),
and what FluentCart made of an accepted name is what the shop shows, recorded here too
(``name_as_stored``).

Also fitting a name into a column: Django's columns count characters; FluentCart's validator counts
bytes (``maxLength:255`` is PHP's ``strlen``), so a name built from other fields (a user's first and
last name) is cut to fit both.
"""

from __future__ import annotations

from typing import Any

from .validation import normalise_text, split_full_name

NAME_FIELDS = ("full_name", "first_name", "last_name")

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


def joined(first: str, last: str) -> str:
    """The full name FluentCart computes from the two parts."""
    return normalise_text(f"{first} {last}")


def one_name(current: tuple[str, str, str], loaded: tuple[str, str, str] | None) -> tuple[str, str, str]:
    """``(full, first, last)`` made one name again after an edit of some of them: a blank full name is
    the parts joined, blank parts the full name split; when only the parts changed since ``loaded``
    (the values the row held), the full name follows them, and when only the full name changed,
    the parts follow it. An edit of all of them is taken as it is."""
    full, first, last = (normalise_text(value) for value in current)
    if not full:
        return joined(first, last), first, last
    if not (first or last):
        return (full, *split_full_name(full))
    if loaded is None:
        return full, first, last
    was_full, was_first, was_last = (normalise_text(value) for value in loaded)
    full_changed, parts_changed = full != was_full, (first, last) != (was_first, was_last)
    if parts_changed and not full_changed:
        return joined(first, last), first, last
    if full_changed and not parts_changed:
        return (full, *split_full_name(full))
    return full, first, last


def name_as_stored(sent: dict[str, Any], stored: dict[str, Any]) -> dict[str, str]:
    """The name fields to record on the row after FluentCart accepted ``sent`` and answered
    ``stored``: {} when it holds them as sent. FluentCart keeps either the full name (re-split) or
    the two parts (re-joined); a name it holds in any other way was not stored, and is reported so."""
    theirs = {name: normalise_text(stored.get(name)) for name in NAME_FIELDS}
    theirs["full_name"] = theirs["full_name"] or joined(theirs["first_name"], theirs["last_name"])
    ours = {name: normalise_text(sent.get(name)) for name in NAME_FIELDS}
    if theirs == ours:
        return {}
    same_full = theirs["full_name"] == ours["full_name"]
    same_parts = (theirs["first_name"], theirs["last_name"]) == (ours["first_name"], ours["last_name"])
    if not (same_full or same_parts):
        return {}
    return {name: theirs[name] for name in NAME_FIELDS if theirs[name] != ours[name]}
