"""Fault injection settings for the fake FluentCart, and the dice that decide each request's fate.

The rates are exclusive slices of one random draw (rate limit, then 5xx, then drop, then slow),
so `error_rate=0.1, drop_rate=0.1` means 10% errors and 10% drops, never both on one request.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

# What a request suffers. "error_after_write"/"drop_after_write" run the request first.
OK = "ok"
RATE_LIMITED = "rate_limited"
ERROR = "error"
ERROR_AFTER_WRITE = "error_after_write"
DROP = "drop"
DROP_AFTER_WRITE = "drop_after_write"
SLOW = "slow"

# Which 5xx an error fault answers with, drawn uniformly.
ERROR_KINDS = ("plugin_exception", "bad_gateway", "unavailable")


@dataclass
class Faults:
    latency: float = 0.0
    jitter: float = 0.0
    error_rate: float = 0.0
    error_after_write_fraction: float = 0.5
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    slow_rate: float = 0.0
    slow_seconds: float = 5.0
    drop_rate: float = 0.0
    drop_after_write_fraction: float = 0.5
    serialize: bool = False
    race_window: float = 0.0
    # The host's capacity (capacity.py): PHP workers serving at once (0: no limit), each for the
    # latency, and requests that may wait for one; beyond those, 429.
    php_workers: int = 0
    backlog: int = 0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _rng_lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._rng_lock = threading.Lock()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    def updated(self, changes: Mapping[str, Any]) -> "Faults":
        """A copy with `changes` applied (unknown names raise TypeError); reseeds the dice."""
        names = {f.name for f in dataclasses.fields(self) if f.init}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown fault setting(s): {', '.join(unknown)}")
        current = self.as_dict()
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            # Control-route JSON may say 1 for 1.0 or "0.5" for 0.5: take the type of the current value.
            kind = type(current[name]) if current[name] is not None else int
            if value is None:
                coerced[name] = None if name == "seed" else current[name]
            elif kind is bool:
                coerced[name] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
            else:
                coerced[name] = kind(value)
        return dataclasses.replace(self, **coerced)

    def delay(self) -> float:
        """Seconds to add to one request: latency plus up to `jitter` either way, never negative."""
        if not self.jitter:
            return max(0.0, self.latency)
        with self._rng_lock:
            spread = self._rng.uniform(-self.jitter, self.jitter)
        return max(0.0, self.latency + spread)

    def roll(self) -> tuple[str, str | None]:
        """Decide one request's fate: (outcome, error kind for ERROR outcomes else None)."""
        if not (self.rate_limit_rate or self.error_rate or self.drop_rate or self.slow_rate):
            return OK, None
        with self._rng_lock:
            draw = self._rng.random()
            second = self._rng.random()
            kind = self._rng.choice(ERROR_KINDS)
        edge = self.rate_limit_rate
        if draw < edge:
            return RATE_LIMITED, None
        edge += self.error_rate
        if draw < edge:
            after = second < self.error_after_write_fraction
            return (ERROR_AFTER_WRITE if after else ERROR), kind
        edge += self.drop_rate
        if draw < edge:
            after = second < self.drop_after_write_fraction
            return (DROP_AFTER_WRITE if after else DROP), None
        edge += self.slow_rate
        if draw < edge:
            return SLOW, None
        return OK, None
