"""Two-way sync without destroying what either side knows: the merge of Django's customer with
FluentCart's record.

- **Three-way, when there is a base** (the record as FluentCart held it after the last successful
  push or pull, ``Customer.remote_base``): per field, a side that changed it since the base wins; a
  field only FluentCart changed is copied into Django; when both changed it to different values,
  ``CONFLICT_POLICY`` decides (``"django"``, the default, or ``"fluentcart"``) and the conflict is
  recorded with both values, so a person can see it and take the other one.
- **Link merge, when there is none** (a customer linked by email): a blank on one side never clears
  a value on the other, it is filled from it; where both hold different values the policy decides.

Emails that differ only in case are the same email: FluentCart's spelling is kept there, Django's here.
The three name fields are one value (FluentCart computes ``full_name`` from the other two), so a
name is taken whole from one side, never mixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from .conf import app_settings
from .names import NAME_FIELDS
from .payloads import PUSHED_FIELDS, text
from .payloads import same_value as same

#: The units merged one at a time: the name (three fields) and every other pushed field.
UNITS: tuple[tuple[str, ...], ...] = (NAME_FIELDS,) + tuple(
    (name,) for name in PUSHED_FIELDS if name not in NAME_FIELDS
)

DJANGO = "django"
FLUENTCART = "fluentcart"


def same_unit(unit: tuple[str, ...], ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return all(same(name, ours.get(name), theirs.get(name)) for name in unit)


def blank_unit(unit: tuple[str, ...], values: dict[str, Any]) -> bool:
    return all(not text(values.get(name)) for name in unit)


#: What the base remembers of the record it came from besides its fields: which FluentCart customer
#: it is (``id``, and ``uuid``, which FluentCart never reuses even when it reuses an id) and when
#: FluentCart last saved it (``updated_at``, to the second).
PROVENANCE = ("id", "uuid", "updated_at")


def remote_record(remote: dict[str, Any]) -> dict[str, Any]:
    """The fields this app manages, as FluentCart holds them, with the record's provenance beside them.

    A ``status`` FluentCart stores as NULL (a customer created without one) is ``active``, as the
    model reads it, so the base and the row agree and no PUT ever "fixes" it."""
    record = {name: remote.get(name) for name in PUSHED_FIELDS}
    record["full_name"] = remote.get("full_name") or " ".join(
        part for part in (text(remote.get("first_name")), text(remote.get("last_name"))) if part
    )
    if not text(record.get("status")):
        record["status"] = "active"
    for name in PROVENANCE:
        record[name] = remote.get(name)
    if record["id"] is not None:
        record["id"] = int(record["id"])
    return record


#: What a row is told when its FluentCart id now names another customer (push and pull alike).
RECYCLED_ID_MESSAGE = (
    "FluentCart customer {id} is now another customer (FluentCart reused the id of a deleted customer): this "
    "customer was deleted in FluentCart and is no longer linked to it. Nothing was re-created automatically; "
    "use “Push to FluentCart” in the admin to create it again."
)


def is_other_customer(theirs: dict[str, Any], base: dict[str, Any] | None) -> bool:
    """FluentCart's record is another customer than the base's: same id, another uuid (FluentCart
    reuses the id of the newest customer after it was deleted and the database restarted)."""
    return bool(base and base.get("uuid") and theirs.get("uuid") and base["uuid"] != theirs["uuid"])


def read_before(theirs: dict[str, Any], base: dict[str, Any] | None) -> bool | None:
    """Was ``theirs`` saved by FluentCart before the base's record? True: a stale read (older);
    False: newer; None: the same second, or unknown (FluentCart's ``updated_at`` has whole seconds)."""
    mine, reference = _moment(theirs.get("updated_at")), _moment((base or {}).get("updated_at"))
    if mine is None or reference is None or mine == reference:
        return None
    return mine < reference


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)


def same_fields(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return all(same_unit(unit, ours, theirs) for unit in UNITS)


def base_after_unanswered_write(base: dict[str, Any] | None, theirs: dict[str, Any], write: dict[str, Any] | None):
    """The base once an unanswered POST or PUT of ours may have landed: where FluentCart holds what
    that write sent, the write is what FluentCart last got from us, so it is the base of that unit;
    elsewhere the old base stands. A POST's record stands for the whole base when FluentCart's
    customer was created after it was sent (so it may be ours), never for a customer already there."""
    write = write or {}
    sent = write.get("record")
    if not sent:
        return base
    if write.get("method") == "POST":
        created, sent_at = _moment(theirs.get("created_at")), _moment(write.get("at"))
        if created is not None and sent_at is not None and created < sent_at - POST_CLOCK_SKEW:
            return base  # FluentCart had this customer before we POSTed: a link, not our own record
        if not base:
            base = {name: sent.get(name) for name in PUSHED_FIELDS}
    adjusted = dict(base or {})
    for unit in UNITS:
        if same_unit(unit, sent, theirs):
            for name in unit:
                adjusted[name] = sent.get(name)
    return adjusted


#: How far FluentCart's clock may be behind ours when deciding whether a customer was created by our
#: unanswered POST.
POST_CLOCK_SKEW = timedelta(minutes=10)


@dataclass
class Merge:
    """What to hold on both sides, and what each side must be told."""

    #: The merged record, in payload form (what FluentCart should hold).
    record: dict[str, Any]
    #: Pushed fields whose merged value differs from Django's: {field: value} to write here.
    to_django: dict[str, Any] = field(default_factory=dict)
    #: The merged record differs from FluentCart's: a PUT is needed.
    to_fluentcart: bool = False
    #: Fields both sides changed: {field: {"django": ..., "fluentcart": ..., "kept": side}}.
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge(
    local: dict[str, Any],
    remote: dict[str, Any],
    base: dict[str, Any] | None,
    *,
    policy: str = "",
    record_fills: bool = False,
) -> Merge:
    """Merge Django's payload ``local`` with FluentCart's ``remote_record``; ``base`` None (or empty)
    for a link. ``record_fills``: a blank filled from the other side is recorded as a conflict too
    (a row synced before it had a base: the blank may be a value cleared on purpose)."""
    policy = policy or conflict_policy()
    record = dict(local)
    result = Merge(record=record)
    for unit in UNITS:
        if same_unit(unit, local, remote):
            if unit == ("email",):
                record["email"] = remote["email"]  # the same email: FluentCart keeps its spelling
            continue
        if base:
            django_changed = not same_unit(unit, local, base)
            fluentcart_changed = not same_unit(unit, remote, base)
        else:  # a link: a blank side has "not changed" anything; the other side's value stands
            django_changed = not blank_unit(unit, local)
            fluentcart_changed = not blank_unit(unit, remote)
        both_changed = django_changed == fluentcart_changed
        if both_changed:
            winner = DJANGO if policy == DJANGO else FLUENTCART
        else:
            winner = FLUENTCART if fluentcart_changed else DJANGO
        if both_changed or (record_fills and not base):
            for name in unit:
                if not same(name, local.get(name), remote.get(name)):
                    result.conflicts[name] = {
                        DJANGO: local.get(name),
                        FLUENTCART: remote.get(name),
                        "kept": winner,
                    }
        if winner == FLUENTCART:
            for name in unit:
                record[name] = remote.get(name)
                if not same(name, local.get(name), remote.get(name)):
                    result.to_django[name] = remote.get(name)
    result.to_fluentcart = not all(same_unit(unit, record, remote) for unit in UNITS)
    return result


def conflict_policy() -> str:
    policy = str(app_settings.CONFLICT_POLICY or DJANGO).lower()
    return policy if policy in (DJANGO, FLUENTCART) else DJANGO


def model_value(name: str, value: Any) -> str:
    """A payload value as the model stores it (blank, never None; a status FluentCart lacks is active)."""
    if name == "status":
        return text(value) if text(value) in ("active", "inactive") else "active"
    return text(value)


def merge_base(customer: Any, theirs: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The base to merge ``theirs`` (FluentCart's record of this linked customer) against, and
    whether blank-fills must be recorded as conflicts (no base could be found).

    A row synced before two-way sync existed has no base: if FluentCart's record is still exactly
    what was last pushed (its fingerprint), that record *is* the base; otherwise nothing tells which
    side changed what, so the link merge runs and every value it fills in is shown as a conflict.
    An unanswered POST or PUT of ours that FluentCart holds counts as the base of what it sent."""
    from .payloads import fingerprint_of_record  # payloads imports the model; merge stays import-light

    base = customer.remote_base or None
    if not base and customer.synced_fingerprint and customer.fluentcart_id:
        if fingerprint_of_record(customer, theirs) == customer.synced_fingerprint:
            base = theirs
    base = base_after_unanswered_write(base, theirs, customer.unanswered_write)
    return base, not base and bool(customer.synced_fingerprint)


def own_post_base(customer: Any, theirs: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The base for linking FluentCart's ``theirs``, found by the email of an unanswered POST of
    this row's: what that POST sent. A worker killed mid-POST left no note of it; if the row was not
    edited since, its data is what was sent; if it was, nothing says which side changed what, so
    the link merge runs with every filled-in value shown as a conflict."""
    from .payloads import build_payload  # payloads imports the model; merge stays import-light

    write = customer.unanswered_write or {}
    if not write.get("record") and customer.posted_revision == customer.data_revision:
        try:
            write = {"method": "POST", "record": remote_record(build_payload(customer))}
        except Exception:  # the host's hook fails for it: the push reports that
            write = {}
    if not write.get("record"):
        return None, customer.posted_revision is not None
    return base_after_unanswered_write(None, theirs, write), False
