"""Compare what a Django side believes it pushed with what the fake FluentCart really holds.

The exactly-once invariant, as the fault, crash and concurrency tests and the chaos benchmark check it:
every local customer is synced, FluentCart holds exactly one customer per local email, and the id
stored locally is that customer's id. Plain data in, plain data out: no Django needed here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass
class Audit:
    local: int = 0
    synced: int = 0  # local rows marked synced
    lost: list[str] = field(default_factory=list)  # local emails FluentCart does not hold
    duplicated: dict[str, list[int]] = field(default_factory=dict)  # email -> every remote id holding it
    mismatched: list[str] = field(default_factory=list)  # local fluentcart_id is not the remote's id
    unsynced: list[str] = field(default_factory=list)  # local rows not marked synced
    strangers: list[str] = field(default_factory=list)  # remote emails no local row has

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.mismatched or self.unsynced or self.strangers)

    def summary(self) -> str:
        return (
            f"{self.local} local, {self.synced} synced, {len(self.lost)} lost, "
            f"{len(self.duplicated)} duplicated, {len(self.mismatched)} mismatched ids, "
            f"{len(self.unsynced)} not synced, {len(self.strangers)} unknown remote"
        )


def audit(local_rows: Iterable[tuple[str, int | None, str]], remote_customers: Iterable[dict[str, Any]]) -> Audit:
    """``local_rows``: (email, fluentcart_id, sync_status) per local customer; ``remote_customers``:
    the fake's customers (``FakeFluentCart.customers()`` or ``GET /__sandbox__/customers``)."""
    remote_ids: dict[str, list[int]] = defaultdict(list)
    for remote in remote_customers:
        remote_ids[str(remote["email"]).strip().lower()].append(int(remote["id"]))
    result = Audit()
    seen: set[str] = set()
    for email, fluentcart_id, sync_status in local_rows:
        key = email.strip().lower()
        seen.add(key)
        result.local += 1
        if sync_status == "synced":
            result.synced += 1
        else:
            result.unsynced.append(email)
        ids = remote_ids.get(key, [])
        if not ids:
            result.lost.append(email)
        elif len(ids) > 1:
            result.duplicated[email] = sorted(ids)
        elif fluentcart_id != ids[0]:
            result.mismatched.append(email)
    result.strangers = sorted(set(remote_ids) - seen)
    return result
