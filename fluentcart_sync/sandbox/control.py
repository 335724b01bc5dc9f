"""The sandbox's own routes under /__sandbox__/: inspect and steer a running fake (no auth, no faults).

They let an end-to-end test that runs the sandbox as a subprocess do what an in-process test does
with the FakeFluentCart object.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .wire import FakeFluentCart


def control(fake: "FakeFluentCart", method: str, route: str, body: bytes) -> tuple[int, Any]:
    """(status, JSON-able answer) for one control request; `route` is the part after /__sandbox__/."""
    route = route.strip("/")
    try:
        payload = json.loads(body) if body and body.strip() else {}
    except ValueError:
        return 400, {"error": "body must be JSON"}
    if not isinstance(payload, dict):
        return 400, {"error": "body must be a JSON object"}

    if (method, route) == ("GET", "customers"):
        return 200, fake.customers()
    if (method, route) == ("GET", "stats"):
        return 200, stats(fake)
    if (method, route) == ("GET", "requests"):
        return 200, [
            {"method": seen.method, "path": seen.path, "body": seen.body, "query": seen.query, "status": seen.status}
            for seen in list(fake.requests_seen)
        ]
    if (method, route) == ("POST", "reset"):
        fake.reset()
        return 200, {"count": 0}
    if (method, route) == ("GET", "faults"):
        return 200, fake.faults.as_dict()
    if (method, route) == ("POST", "faults"):
        try:
            fake.faults = fake.faults.updated(payload)
        except TypeError as err:
            return 400, {"error": str(err)}
        fake.capacity.configure(fake.faults.php_workers, fake.faults.backlog)  # requests waiting see it now
        return 200, fake.faults.as_dict()
    if (method, route) == ("GET", "mode"):
        return 200, {"mode": fake.mode}
    if (method, route) == ("POST", "mode"):
        from .wire import MODES

        mode = payload.get("mode")
        if mode not in MODES:
            return 400, {"error": f"mode must be one of {', '.join(MODES)}"}
        fake.mode = mode
        return 200, {"mode": fake.mode}
    if (method, route) == ("POST", "customers"):
        # Seed one customer directly, bypassing validation, like FakeFluentCart.create_customer().
        return 200, fake.create_customer(**payload)
    return 404, {"error": f"no sandbox route {method} /__sandbox__/{route}"}


def stats(fake: "FakeFluentCart") -> dict[str, Any]:
    with fake._stats_lock:
        counts = dict(fake.stats)
    by_method: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for key, number in counts.items():
        method, status = key.split(" ")
        by_method[method] += number
        by_status[status] += number
    return {
        "count": fake.count(),
        "duplicate_emails": fake.store.duplicate_emails(),
        "requests": sum(counts.values()),
        "by_method": dict(by_method),
        "by_status": dict(by_status),
        "by_method_status": counts,
        "mode": fake.mode,
        "faults": fake.faults.as_dict(),
    }
