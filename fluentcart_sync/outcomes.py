"""What one push ended with: the ``Outcome`` names and the ``PushResult`` the engine records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    CREATED = "created"  # POST made a new FluentCart customer
    LINKED = "linked"  # an existing FluentCart customer with this email was linked
    UPDATED = "updated"  # PUT sent the changed fields
    UNCHANGED = "unchanged"  # already synced, nothing changed: no request
    RETRY = "retry"  # transient failure, retried later
    FAILED = "failed"  # permanent failure: a person must act
    MISSING_REMOTE = "missing_remote"  # the FluentCart customer was deleted there
    BUSY = "busy"  # another worker holds the claim, or the row is gone
    PAUSED = "paused"  # the circuit is open (FluentCart refuses our configuration): nothing sent, still owed

    @property
    def pushed(self) -> bool:
        return self in (Outcome.CREATED, Outcome.LINKED, Outcome.UPDATED)

    @property
    def succeeded(self) -> bool:
        return self in (Outcome.CREATED, Outcome.LINKED, Outcome.UPDATED, Outcome.UNCHANGED)


@dataclass
class PushResult:
    outcome: Outcome
    customer_id: int
    fluentcart_id: int | None = None
    error: str = ""
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    #: The failure is the configuration's (credentials, permissions, URL): every record will fail
    #: the same way, so a batch stops and the circuit opens instead of burning through the queue.
    configuration_error: bool = False
    retry_after: float | None = None
    #: Not before this time: an earlier POST with an unknown outcome could still land.
    not_before: datetime | None = None
    outcome_unknown: bool = False
    #: This attempt settled an earlier unknown outcome (FluentCart answered, and the look-up found nothing).
    settles_unknown: bool = False
    #: A POST or PUT went out in this attempt and got no answer from FluentCart: it could still be
    #: processed, so no new write for this customer before the quarantine ends.
    posted: bool = False
    #: The row's FluentCart id names no customer of its own any more (deleted and re-created, or the
    #: id reused for another customer): it is cleared with what FluentCart held of it.
    forget_id: bool = False
    #: Values FluentCart changed that this row cannot take ({field: why}): kept as conflicts, and
    #: the row needs a person (``failed``) although the rest was synced.
    refused: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    #: The data revision this push sent (the row's ``data_revision`` when it was claimed).
    revision: int | None = None
    requested: bool = True  # a request was sent (counts as an attempt)
    #: Other FluentCart customers that share this email.
    duplicates: list[int] = field(default_factory=list)
    #: Two-way sync: fields FluentCart changed, to copy into Django ({model field: value}); the
    #: record FluentCart now holds (the next merge base); fields both sides changed; purchase figures.
    pulled: dict[str, Any] = field(default_factory=dict)
    remote_base: dict[str, Any] | None = None
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    purchases: dict[str, Any] = field(default_factory=dict)
    #: The row was edited while the push was in flight: FluentCart holds an older revision, and
    #: the row is owed again.
    owed_again: bool = False
