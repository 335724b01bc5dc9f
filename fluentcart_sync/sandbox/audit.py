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


def stale_fields(
    local_records: Iterable[dict[str, Any]], remote_customers: Iterable[dict[str, Any]], fields: Iterable[str]
) -> dict[int, list[str]]:
    """Edits that did not arrive: ``{fluentcart_id: [field, ...]}`` for every local record (a dict
    with ``fluentcart_id`` and ``fields``) whose FluentCart customer holds other values. Emails
    compare ignoring case; empty and null are alike, as FluentCart stores them."""
    names = list(fields)
    remote_by_id = {int(remote["id"]): remote for remote in remote_customers}

    def same(name: str, ours: Any, theirs: Any) -> bool:
        ours, theirs = str(ours or ""), str(theirs or "")
        return ours.lower() == theirs.lower() if name == "email" else ours == theirs

    stale: dict[int, list[str]] = {}
    for record in local_records:
        remote = remote_by_id.get(int(record["fluentcart_id"] or 0))
        if remote is None:
            continue  # lost: reported by audit()
        differing = [name for name in names if not same(name, record[name], remote.get(name))]
        if differing:
            stale[int(record["fluentcart_id"])] = differing
    return stale
