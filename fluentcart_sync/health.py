"""How the sync is doing, computed from the database: one source for the health page, the metrics
and ``fluentcart_sync_due --status``, so all three always say the same thing."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from . import circuit, outcome_log
from .models import Customer, SyncRun, SyncStatus

#: States whose rows still owe FluentCart a push.
OWED_STATES = (SyncStatus.PENDING, SyncStatus.RETRYING)


def counts_by_status() -> dict[str, int]:
    """Customers per ``sync_status``, every state present (zero included)."""
    counts = dict(Customer.objects.values_list("sync_status").annotate(n=Count("pk")).order_by())
    return {state.value: int(counts.get(state.value, 0)) for state in SyncStatus}


def oldest_owed_since() -> datetime | None:
    """When the longest-owed push became owed: the row's last data save, or the start of its failures
    if earlier (a later save that changed nothing pushed does not make it look younger)."""
    owed = Customer.objects.filter(sync_status__in=OWED_STATES)
    since = Least("updated_at", Coalesce("failing_since", "updated_at"))
    return owed.aggregate(since=Min(since))["since"]


def conflicts_waiting() -> int:
    """Customers with a conflict recorded (both sides changed a field) that nobody has looked at."""
    return Customer.objects.exclude(sync_conflicts={}).exclude(sync_conflicts__isnull=True).count()


_ATTEMPT_SUFFIX = re.compile(r" \(attempt \d+; next try in \d+s\)$")
_NUMBER = re.compile(r"\d+")


def common_errors(limit: int = 5, sample: int = 5000) -> list[dict[str, Any]]:
    """The most common errors of rows that failed or wait to retry, grouped by their text with the
    numbers taken out (attempt counts, ids): [{"error", "count", "example"}], most common first."""
    rows = (
        Customer.objects.filter(sync_status__in=(SyncStatus.FAILED, SyncStatus.RETRYING))
        .exclude(sync_error="")
        .order_by("-last_attempt_at")
        .values_list("sync_error", flat=True)[:sample]
    )
    groups: Counter = Counter()
    examples: dict[str, str] = {}
    for error in rows:
        text = _ATTEMPT_SUFFIX.sub("", error)
        key = _NUMBER.sub("#", text)
        groups[key] += 1
        examples.setdefault(key, text)
    return [{"error": key, "count": n, "example": examples[key]} for key, n in groups.most_common(limit)]


def last_runs() -> dict[str, SyncRun | None]:
    runs = {run.kind: run for run in SyncRun.objects.all()}
    return {SyncRun.SWEEP: runs.get(SyncRun.SWEEP), SyncRun.PULL: runs.get(SyncRun.PULL)}


def _run_dict(run: SyncRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "finished_at": _iso(run.finished_at),
        "ok": run.ok,
        "result": run.result,
        "duration_seconds": round(run.duration_seconds, 3),
        "last_success_at": _iso(run.last_success_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def status_snapshot(*, pending_grace_seconds: float = 60, queue_length: int | None = None) -> dict[str, Any]:
    """Everything ``fluentcart_sync_due --status`` reports, as one JSON-ready dict."""
    from .management.commands.fluentcart_sync_due import due_customers

    now = timezone.now()
    counts = counts_by_status()
    since = oldest_owed_since()
    paused = circuit.state()
    runs = last_runs()
    return {
        "customers": counts,
        "pending": counts[SyncStatus.PENDING],
        "retrying": counts[SyncStatus.RETRYING],
        "failed": counts[SyncStatus.FAILED],
        "due": due_customers(pending_grace_seconds=pending_grace_seconds).count(),
        "oldest_owed_since": _iso(since),
        "oldest_owed_push_age_seconds": max(0.0, (now - since).total_seconds()) if since is not None else None,
        "being_pushed": Customer.objects.filter(claimed_until__gte=now).count(),
        "conflicts": conflicts_waiting(),
        "pushes_paused": paused.open,
        "paused_reason": paused.reason,
        "paused_since": _iso(paused.opened_at),
        "last_sweep": _run_dict(runs[SyncRun.SWEEP]),
        "last_pull": _run_dict(runs[SyncRun.PULL]),
        "task_queue_length": queue_length,
    }


# -- the chart: the last 24 hours of pushes by outcome ------------------------------------------------

#: The chart's series, in stacking order (bottom first), and the outcomes each one sums.
CHART_SERIES = (
    ("pushed", ("created", "linked", "updated")),
    ("retry", ("retry",)),
    ("failed", ("failed", "missing_remote")),
    ("paused", ("paused",)),
)


@dataclass
class ChartBar:
    start: datetime
    values: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.values.values())


def chart_bars(*, now: datetime | None = None, hours: int = 24, bar_minutes: int = 15) -> list[ChartBar]:
    """The last ``hours`` of pushes in bars of ``bar_minutes``, oldest first (unchanged and busy rows
    are left out: nothing was sent)."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    width = timedelta(minutes=bar_minutes)
    count = hours * 60 // bar_minutes
    first = now - width * (count - 1)
    first = first - timedelta(minutes=first.minute % bar_minutes)
    bars = [ChartBar(first + width * n, {name: 0 for name, _outcomes in CHART_SERIES}) for n in range(count)]
    series_of = {outcome: name for name, outcomes in CHART_SERIES for outcome in outcomes}
    for minute, outcome, n in outcome_log.since(first):
        index = int((minute - first) / width)
        if 0 <= index < count and outcome in series_of:
            bars[index].values[series_of[outcome]] += n
    return bars
