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
from typing import Any

from .conf import app_settings
from .payloads import PUSHED_FIELDS, text
from .payloads import same_value as same

NAME_FIELDS = ("full_name", "first_name", "last_name")
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


def remote_record(remote: dict[str, Any]) -> dict[str, Any]:
    """The fields this app manages, as FluentCart holds them (its ``updated_at`` beside them)."""
    record = {name: remote.get(name) for name in PUSHED_FIELDS}
    record["full_name"] = remote.get("full_name") or " ".join(
        part for part in (text(remote.get("first_name")), text(remote.get("last_name"))) if part
    )
    record["updated_at"] = remote.get("updated_at")
    return record


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


def merge(local: dict[str, Any], remote: dict[str, Any], base: dict[str, Any] | None, *, policy: str = "") -> Merge:
    """Merge Django's payload ``local`` with FluentCart's ``remote_record``; ``base`` None (or empty)
    for a link."""
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
        if fluentcart_changed and not django_changed:
            winner = FLUENTCART
        elif django_changed and not fluentcart_changed:
            winner = DJANGO
        else:
            winner = DJANGO if policy == DJANGO else FLUENTCART
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
