"""The last sweep and the last pull: when they ended, how, and how long they took (``SyncRun``),
for the health page, ``fluentcart_sync_due --status`` and the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import Error as DbError  # DatabaseError, and InterfaceError for a closed connection
from django.utils import timezone

logger = logging.getLogger("fluentcart_sync.runs")


@dataclass
class RunReport:
    """What a run says about itself; ``ok`` False when it did not do everything it was asked."""

    result: str = ""
    ok: bool = True


@contextmanager
def recorded_run(kind: str) -> Iterator[RunReport]:
    """Time the block and record its outcome under ``kind``; an exception is recorded as a failure."""
    report = RunReport()
    started = time.monotonic()
    try:
        yield report
    except BaseException as err:
        report.ok = False
        report.result = report.result or f"{type(err).__name__}: {err}"
        raise
    finally:
        record(kind, ok=report.ok, result=report.result, duration=time.monotonic() - started)


def record(kind: str, *, ok: bool, result: str, duration: float) -> None:
    from .models import SyncRun

    now = timezone.now()
    values = {"finished_at": now, "ok": ok, "result": result[:2000], "duration_seconds": duration}
    if ok:
        values["last_success_at"] = now
    try:
        SyncRun.objects.update_or_create(kind=kind, defaults=values)
    except DbError as err:  # the run's own outcome matters more than its record
        logger.warning("Could not record the %s run: %s", kind, err)


def record_pull(summary) -> None:
    """Record a pull (``pull.PullSummary``): a success only if the scan was complete."""
    from .models import SyncRun

    counts = summary.counts
    result = summary.error or (
        f"{summary.read} read: {counts['linked']} linked, {counts['updated']} updated, {counts['created']} created, "
        f"{summary.conflicts} conflicts, {summary.deleted_remotely} deleted remotely"
        + (f", {len(summary.notes)} need a person" if summary.notes else "")
    )
    record(SyncRun.PULL, ok=summary.complete and not summary.error, result=result, duration=summary.elapsed)
