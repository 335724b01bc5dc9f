"""What the management commands share: streaming ids in key order, and progress reporting."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from io import TextIOBase
from typing import Any, TextIO

from django.db.models import Max, QuerySet


def iter_ids(queryset: QuerySet, *, chunk_size: int = 1000, limit: int | None = None) -> Iterator[int]:
    """Primary keys in ascending order, a chunk at a time (keyset pagination: no OFFSET, no
    growing memory, and rows changed behind us are neither skipped nor repeated)."""
    return _keyset(queryset, chunk_size=chunk_size, limit=limit, ids_only=True)


def rows_by_key_ranges(model, *fields: str, chunk_size: int = 1000) -> Iterator[tuple]:
    """``(pk, *fields)`` of every row in ascending key order, read by ranges of ``chunk_size`` keys.

    A query on key ranges alone is read through the primary key by every database, whatever its
    statistics. A filter on another column (``sync_status IN ...``) with keyset pagination is not:
    on a table not analyzed since a bulk import, PostgreSQL answered each chunk through that column's
    index, reading every matching row and sorting them (1.9 s a chunk at a million customers). So
    callers compare such columns here, in Python. Rows added during the walk are reached too: the
    highest key is asked again when the walk gets there.
    """
    manager = model._default_manager
    low = highest = 0
    while True:
        if low >= highest:
            highest = manager.aggregate(highest=Max("pk"))["highest"] or 0
            if low >= highest:
                return
        yield from manager.filter(pk__gt=low, pk__lte=low + chunk_size).order_by("pk").values_list("pk", *fields)
        low += chunk_size


def iter_ids_with_values(
    model, field: str, wanted, *, chunk_size: int = 1000, limit: int | None = None
) -> Iterator[int]:
    """Primary keys, in ascending order, of the rows whose ``field`` is one of ``wanted``
    (``rows_by_key_ranges``: the field is compared here, not in SQL)."""
    wanted = set(wanted)
    sent = 0
    if limit is not None and limit <= 0:
        return
    for pk, value in rows_by_key_ranges(model, field, chunk_size=chunk_size):
        if value in wanted:
            yield pk
            sent += 1
            if limit is not None and sent >= limit:
                return


def iter_objects(queryset: QuerySet, *, chunk_size: int = 1000) -> Iterator[Any]:
    """Model instances in ascending key order, a chunk per query (keyset pagination, as iter_ids)."""
    return _keyset(queryset, chunk_size=chunk_size, limit=None, ids_only=False)


def _keyset(queryset: QuerySet, *, chunk_size: int, limit: int | None, ids_only: bool) -> Iterator[Any]:
    last_pk = 0
    sent = 0
    ordered = queryset.order_by("pk")
    while limit is None or sent < limit:
        size = chunk_size if limit is None else min(chunk_size, limit - sent)
        after = ordered.filter(pk__gt=last_pk)
        chunk = list(after.values_list("pk", flat=True)[:size] if ids_only else after[:size])
        if not chunk:
            return
        yield from chunk
        sent += len(chunk)
        last_pk = chunk[-1] if ids_only else chunk[-1].pk


class Progress:
    """A tqdm bar with rate and ETA on a terminal; a plain line every few seconds otherwise."""

    def __init__(
        self,
        total: int,
        stream: TextIO | TextIOBase,
        *,
        label: str = "customers",
        interval: float = 5.0,
        enabled: bool = True,
    ):
        self.total = total
        self.stream = stream
        self.label = label
        self.interval = interval
        self.done = 0
        self.started = time.monotonic()
        self.last_line = self.started
        self.bar = None
        if enabled and _isatty(stream):
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: fall back to plain lines
                tqdm = None
            if tqdm is not None:
                out = getattr(stream, "_out", stream)
                # A terminal that reports no size (a pty without one, as under some CI runners and
                # `script`) would get no bar at all from tqdm: give it 80 columns and 24 rows.
                width = {"dynamic_ncols": True} if _columns(out) else {"ncols": 80, "nrows": 24}
                self.bar = tqdm(total=total, unit=" " + label, file=out, **width)
        self.enabled = enabled

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and now - self.last_line >= self.interval:
            self.last_line = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.done) / rate if rate > 0 else float("nan")
        percent = 100.0 * self.done / self.total if self.total else 100.0
        eta = f"{remaining:.0f}s" if remaining == remaining else "?"
        return f"{self.done}/{self.total} {self.label} ({percent:.0f}%), {rate:.1f}/s, ETA {eta}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _isatty(stream: TextIO | TextIOBase) -> bool:
    target = getattr(stream, "_out", stream)  # Django's OutputWrapper keeps the real stream in _out
    return bool(getattr(target, "isatty", lambda: False)())


def _columns(stream: Any) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0
