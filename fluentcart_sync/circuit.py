"""The circuit breaker: when FluentCart refuses the configuration (401, 403, no route, a wrong
URL), every push would fail the same way, so pushes stop until it answers again.

While the circuit is open no push goes out and the rows stay owed (never ``failed``): the admin
and ``fluentcart_check`` say why, and the sweep probes FluentCart with one request per round. When
a probe succeeds the circuit closes and everything owed flows again, without a person.

The state lives in the database (one row), so every worker and every machine agrees; each process
reads it at most every ``CIRCUIT_CHECK_SECONDS`` to keep it off the push's hot path.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .conf import app_settings

logger = logging.getLogger("fluentcart_sync.circuit")

_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, bool]] = {}


@dataclass(frozen=True)
class CircuitState:
    open: bool
    reason: str = ""
    opened_at: datetime | None = None
    last_probe_at: datetime | None = None


def state() -> CircuitState:
    from .models import SyncCircuit

    row = SyncCircuit.objects.filter(pk=SyncCircuit.KEY).first()
    if row is None or not row.is_open:
        return CircuitState(open=False, last_probe_at=row.last_probe_at if row else None)
    return CircuitState(open=True, reason=row.reason, opened_at=row.opened_at, last_probe_at=row.last_probe_at)


def is_open() -> bool:
    """Whether pushes are paused; read from the database at most every CIRCUIT_CHECK_SECONDS."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get("open")
        if cached is not None and cached[0] > now:
            return cached[1]
    value = state().open
    _remember(value)
    return value


def _remember(value: bool) -> None:
    with _cache_lock:
        _cache["open"] = (time.monotonic() + float(app_settings.CIRCUIT_CHECK_SECONDS), value)


def forget_cached_state() -> None:
    with _cache_lock:
        _cache.clear()


def open_circuit(reason: str) -> None:
    """Pause every push. Several workers refused at once may all call this: each is one UPDATE of
    the row that migration 0006 created (re-created here if someone deleted it)."""
    from .models import SyncCircuit

    now = timezone.now()
    rows = SyncCircuit.objects.filter(pk=SyncCircuit.KEY)
    if rows.filter(is_open=False).update(is_open=True, reason=reason, opened_at=now):
        logger.warning("Pushes to FluentCart paused: %s", reason)
    elif not rows.update(reason=reason):
        try:
            with transaction.atomic():
                SyncCircuit.objects.create(pk=SyncCircuit.KEY, is_open=True, reason=reason, opened_at=now)
        except IntegrityError:
            rows.update(is_open=True, reason=reason)
        logger.warning("Pushes to FluentCart paused: %s", reason)
    _remember(True)


def close_circuit() -> None:
    from .models import SyncCircuit

    if SyncCircuit.objects.filter(pk=SyncCircuit.KEY, is_open=True).update(is_open=False, reason=""):
        logger.warning("FluentCart answers again: pushes resumed")
    _remember(False)


def probe(client) -> bool:
    """One request to FluentCart; closes the circuit if it is answered. True when closed."""
    from .exceptions import FluentCartError
    from .models import SyncCircuit

    SyncCircuit.objects.filter(pk=SyncCircuit.KEY).update(last_probe_at=timezone.now())
    try:
        client.list_customers(per_page=1)
    except FluentCartError as err:
        if getattr(err, "configuration", False):
            open_circuit(str(err))
        logger.info("FluentCart probe failed: %s", err)
        return False
    close_circuit()
    return True
