"""A set of FluentCart ids that stays small at a million: one bit per id instead of a Python int.

A pull remembers every FluentCart id it has read, for the scan for deleted customers that follows.
In a Python set a million ids take about 67 MB; FluentCart's ids are a table's auto-increment, so a
bitmap indexed by id holds them in about 125 KB. An id too large for a sensible bitmap (or below 0)
is kept in an ordinary set.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Ids below this go in the bitmap (at most 32 MB of it); others in a set.
BITMAP_LIMIT = 1 << 28


class IdSet:
    def __init__(self) -> None:
        self._bits = bytearray()
        self._others: set[int] = set()

    def add(self, number: int) -> None:
        if not 0 <= number < BITMAP_LIMIT:
            self._others.add(number)
            return
        index = number >> 3
        if index >= len(self._bits):
            # Grow to at least twice the size, so a million ids in order cost a few dozen copies.
            self._bits.extend(bytes(max(index + 1 - len(self._bits), len(self._bits))))
        self._bits[index] |= 1 << (number & 7)

    def update(self, numbers: Iterable[int]) -> None:
        for number in numbers:
            self.add(number)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        if not 0 <= number < BITMAP_LIMIT:
            return number in self._others
        index = number >> 3
        return index < len(self._bits) and bool(self._bits[index] & (1 << (number & 7)))
