"""Deleting a customer: remembered here, and carried out in FluentCart as ``ON_DELETE`` says.

Every way a ``Customer`` is deleted (``delete()``, a queryset, the admin's delete page and bulk
action, a cascade) sends ``pre_delete`` for each row, inside the transaction that deletes it. The
receiver writes a ``CustomerDeletion`` in that transaction: the FluentCart id and email the row was
linked to, and what FluentCart is owed. A rollback forgets both; a commit queues the work.

The work goes out as pushes do: the record is the outbox, a task makes it happen sooner, the sweep
finds what a lost task left; a claim (a lease on the record) keeps two workers apart; transient
failures are retried with backoff for ``RETRY_WINDOW_SECONDS``. It acts only on the FluentCart id that
was linked, never on an email looked up again: after a request that got no answer, a look-up could
find another customer (the same email re-used since), while the id is that customer's for good
(FluentCart never re-uses ids). Repeating it is harmless: an anonymized record is recognised and
left alone, and a delete that finds nothing is confirmed by a 404.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import router, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import circuit, signals
from .claims import retry_delay
from .client import FluentCartClient, get_client
from .conf import app_settings
from .exceptions import (
    FluentCartAPIError,
    FluentCartError,
    FluentCartNotFound,
    FluentCartRateLimited,
    FluentCartServerError,
    FluentCartValidationError,
)
from .models import OWED_DELETION_STATES, Customer, CustomerDeletion, DeletionState, OnDelete, SyncStatus
from .payloads import build_update_body, same_value

logger = logging.getLogger("fluentcart_sync.deletions")

#: What an anonymized FluentCart customer holds instead of a person. FluentCart requires a full name
#: and an email that WordPress's is_email() accepts and no other customer holds: the id makes it
#: unique, and ``.invalid`` (RFC 2606) can never reach anyone.
ANONYMIZED_FIRST_NAME = "Deleted"
ANONYMIZED_LAST_NAME = "Customer"
ANONYMIZED_DOMAIN = "anonymized.invalid"
#: Cleared by the anonymization: a PUT replaces the whole record, so leaving them out stores null.
CLEARED_FIELDS = ("country", "city", "state", "postcode", "notes")

DONE, RETRY, FAILED, BUSY, PAUSED = "done", "retry", "failed", "busy", "paused"

_action_override: ContextVar[str | None] = ContextVar("fluentcart_deletion_action", default=None)
_queueing_suppressed: ContextVar[bool] = ContextVar("fluentcart_deletion_queue_suppressed", default=False)


def anonymized_email(fluentcart_id: int) -> str:
    return f"deleted-{int(fluentcart_id)}@{ANONYMIZED_DOMAIN}"


def anonymized_fields(fluentcart_id: int, remote: dict[str, Any]) -> dict[str, Any]:
    """The customer fields a PUT sends to anonymize ``fluentcart_id``; its status stays."""
    fields: dict[str, Any] = {
        "email": anonymized_email(fluentcart_id),
        "full_name": f"{ANONYMIZED_FIRST_NAME} {ANONYMIZED_LAST_NAME}",
        "first_name": ANONYMIZED_FIRST_NAME,
        "last_name": ANONYMIZED_LAST_NAME,
        "notes": "",
    }
    if remote.get("status"):
        fields["status"] = remote["status"]
    return fields


def is_anonymized(fluentcart_id: int, remote: dict[str, Any]) -> bool:
    """True when FluentCart's record holds nothing personal any more (an earlier attempt got there)."""
    return (
        same_value("email", remote.get("email"), anonymized_email(fluentcart_id))
        and same_value("first_name", remote.get("first_name"), ANONYMIZED_FIRST_NAME)
        and same_value("last_name", remote.get("last_name"), ANONYMIZED_LAST_NAME)
        and all(same_value(name, remote.get(name), "") for name in CLEARED_FIELDS)
    )


def on_delete_policy() -> str:
    """``ON_DELETE``, checked: anything but the three choices is refused (check E010 says so too)."""
    value = _action_override.get() or app_settings.ON_DELETE
    if value not in OnDelete.values:
        raise ValueError(f"FLUENTCART_SYNC['ON_DELETE'] must be one of {', '.join(OnDelete.values)}, not {value!r}")
    return value


@contextmanager
def deleting_with(action: str, *, queue: bool = True) -> Iterator[None]:
    """Customers deleted within the block owe FluentCart ``action`` whatever ``ON_DELETE`` says;
    ``queue=False``: nothing is queued, the caller carries the deletions out itself."""
    action_token = _action_override.set(action)
    queue_token = _queueing_suppressed.set(not queue)
    try:
        yield
    finally:
        _action_override.reset(action_token)
        _queueing_suppressed.reset(queue_token)


# -- remembering -----------------------------------------------------------------------------------


def customer_deleting(sender, instance: Customer, using: str, **kwargs: Any) -> None:
    """``pre_delete`` of a Customer: remember the FluentCart id and email it is linked to, in the
    deleting transaction, and queue what FluentCart is owed once that commits.

    The row is read again, locked: an instance loaded before a push linked it would not know its id,
    and a push recording a link now waits, then finds the row gone (``adopt_pushed_id``).
    """
    rows = Customer.objects.using(using).filter(pk=instance.pk)
    if transaction.get_connection(using).in_atomic_block:
        rows = rows.select_for_update()
    fields = (
        "email",
        "fluentcart_id",
        "sync_status",
        "posted_email",
        "outcome_unknown",
        "claimed_until",
        "remote_base",
    )
    row = rows.values(*fields).first() or {name: getattr(instance, name) for name in fields}
    action = on_delete_policy()
    gone_there = row["sync_status"] == SyncStatus.MISSING_REMOTE
    email = (row["email"] or "").strip().lower()
    posted_email, look_until = "", None
    if row["fluentcart_id"] is None and _may_have_been_created(row):
        # A POST may have created it, unanswered or still in flight: look its email up until none can land.
        posted_email = (row["posted_email"] or row["email"] or "").strip().lower()
        look_until = max(timezone.now(), row["claimed_until"] or timezone.now()) + timedelta(
            seconds=app_settings.quarantine_seconds
        )
    owed = action != OnDelete.KEEP and not gone_there and (row["fluentcart_id"] is not None or bool(posted_email))
    deletion = CustomerDeletion.objects.using(using).create(
        customer_id=instance.pk,
        email=email,
        fluentcart_id=row["fluentcart_id"],
        fluentcart_uuid=_uuid_of(row["remote_base"]) if row["fluentcart_id"] is not None else "",
        posted_email=posted_email,
        look_until=look_until,
        action=action,
        state=DeletionState.PENDING if owed else DeletionState.NOTHING,
        error="FluentCart had already deleted this customer." if gone_there and action != OnDelete.KEEP else "",
    )
    if owed:
        _queue_after_commit(deletion.pk, using)


def _uuid_of(record: Any) -> str:
    """The ``uuid`` of a FluentCart record (or of a merge base), "" when it has none."""
    return str(record.get("uuid") or "") if isinstance(record, dict) else ""


def _may_have_been_created(row: dict[str, Any]) -> bool:
    """An unlinked row that a POST may have reached FluentCart for: one got no answer, or one is in flight."""
    in_flight = row["claimed_until"] is not None and row["claimed_until"] > timezone.now()
    return bool(row["outcome_unknown"] or in_flight)


def remember(email: str, fluentcart_id: int, action: str, *, fluentcart_uuid: str = "") -> CustomerDeletion:
    """Remember a FluentCart customer that no local customer holds (``fluentcart_erase``), owing ``action``;
    an existing record for that id is reused, so running it again adds nothing."""
    existing = CustomerDeletion.objects.filter(fluentcart_id=fluentcart_id).order_by("-pk").first()
    state = DeletionState.NOTHING if action == OnDelete.KEEP else DeletionState.PENDING
    if existing is not None:
        if existing.state != DeletionState.DONE or existing.action != action:
            CustomerDeletion.objects.filter(pk=existing.pk).update(action=action, state=state, next_attempt_at=None)
            existing.refresh_from_db()
        return existing
    return CustomerDeletion.objects.create(
        email=email.strip().lower(),
        fluentcart_id=fluentcart_id,
        fluentcart_uuid=fluentcart_uuid,
        action=action,
        state=state,
    )


def adopt_pushed_id(customer_id: int, fluentcart_id: int) -> None:
    """A push created or linked ``fluentcart_id`` for a customer deleted while it was in flight: its
    deletion takes that id, and owes FluentCart its action for it."""
    deletion = CustomerDeletion.objects.filter(customer_id=customer_id, fluentcart_id__isnull=True).first()
    if deletion is None:
        return  # not deleted: the push lost its claim to another worker, which records instead
    owed = deletion.action != OnDelete.KEEP
    state = DeletionState.PENDING if owed else DeletionState.NOTHING
    taken = CustomerDeletion.objects.filter(pk=deletion.pk, fluentcart_id__isnull=True).update(
        fluentcart_id=fluentcart_id, state=state
    )
    logger.info("Customer %s was deleted while its push linked FluentCart customer %s", customer_id, fluentcart_id)
    if taken and owed:
        _queue_after_commit(deletion.pk, router.db_for_write(CustomerDeletion))


def _queue_after_commit(deletion_id: int, using: str) -> None:
    if _queueing_suppressed.get() or not app_settings.AUTO_PUSH:
        return  # the caller carries it out, or the sweep does
    from .tasks import enqueue_deletion

    transaction.on_commit(partial(enqueue_deletion, deletion_id), using=using, robust=True)


@dataclass(frozen=True)
class Remembered:
    """The remembered deletions among some FluentCart customers: their ids (each with the uuids
    remembered for it, "" for a deletion that never learnt one) and emails."""

    uuids_by_id: dict[int, frozenset[str]]
    emails: frozenset[str]

    def holds(self, fluentcart_id: int, email: str, record_uuid: str = "") -> bool:
        if bool(email) and email.strip().lower() in self.emails:
            return True
        uuids = self.uuids_by_id.get(fluentcart_id)
        if uuids is None:
            return False
        # Another uuid under a remembered id is another customer: FluentCart reused the id.
        return "" in uuids or not record_uuid or record_uuid in uuids


def remembered_among(customers: Iterable[tuple[int, str]]) -> Remembered:
    """Which of these (FluentCart id, email) pairs are remembered deletions: one query, none if empty."""
    pairs = list(customers)
    if not pairs:
        return Remembered({}, frozenset())
    ids = {fluentcart_id for fluentcart_id, _ in pairs}
    emails = {email.strip().lower() for _, email in pairs if email}
    found = CustomerDeletion.objects.filter(
        Q(fluentcart_id__in=ids) | Q(email__in=emails) | Q(posted_email__in=emails)
    ).values_list("fluentcart_id", "fluentcart_uuid", "email", "posted_email")
    uuids_by_id: dict[int, set[str]] = {}
    remembered_emails: set[str] = set()
    for fluentcart_id, remembered_uuid, email, posted in found:
        if fluentcart_id in ids:
            uuids_by_id.setdefault(fluentcart_id, set()).add(remembered_uuid)
        remembered_emails.update(address for address in (email, posted) if address in emails)
    return Remembered(
        {fluentcart_id: frozenset(uuids) for fluentcart_id, uuids in uuids_by_id.items()}, frozenset(remembered_emails)
    )


# -- carrying it out in FluentCart ------------------------------------------------------------------


@dataclass
class DeletionResult:
    outcome: str
    deletion_id: int
    error: str = ""
    retry_after: float | None = None
    #: Not before this time (a POST that got no answer could land until then).
    not_before: datetime | None = None
    configuration_error: bool = False
    requested: bool = True


def due_deletions(*, pending_grace_seconds: float = 60):
    """Deletions owed to FluentCart whose task has had its chance, whose retry time has come, or whose
    worker's claim expired."""
    now = timezone.now()
    return CustomerDeletion.objects.filter(
        Q(state=DeletionState.PENDING, deleted_at__lte=now - timedelta(seconds=pending_grace_seconds))
        | Q(state=DeletionState.RETRYING, next_attempt_at__lte=now)
        | Q(state__in=OWED_DELETION_STATES, claimed_until__lt=now)
    )


def apply_deletion(deletion_id: int, *, client: FluentCartClient | None = None) -> DeletionResult:
    """Carry out one owed deletion in FluentCart and record the outcome on its record.

    Never raises for what FluentCart or the network does: the outcome is on the record.
    """
    if circuit.is_open():
        return DeletionResult(PAUSED, deletion_id, error=circuit.state().reason, requested=False)
    claimed = _claim(deletion_id)
    if claimed is None:
        return DeletionResult(BUSY, deletion_id, requested=False)
    token, deletion = claimed
    client = client or get_client()
    try:
        with client.bounded_by(deletion.claimed_until):
            result = _carry_out(client, deletion)
    except FluentCartError as err:
        result = _failure(deletion_id, err)
    except Exception as err:  # a bug: this record's failure, retried; never the caller's
        logger.exception("Deletion %s crashed", deletion_id)
        result = DeletionResult(RETRY, deletion_id, error=f"Crashed: {type(err).__name__}: {err}"[:2000])
    if _record(deletion, token, result) and result.outcome == DONE and deletion.fluentcart_id is not None:
        signals.announce_deletion(deletion.customer_id, deletion.fluentcart_id, deletion.action, deletion.pk)
    if result.configuration_error:
        circuit.open_circuit(result.error)
    return result


def _claim(deletion_id: int) -> tuple[str, CustomerDeletion] | None:
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = (
        CustomerDeletion.objects.filter(pk=deletion_id, state__in=OWED_DELETION_STATES)
        .exclude(fluentcart_id__isnull=True, posted_email="")
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=app_settings.LEASE_SECONDS), claim_token=token)
    )
    if not taken:
        return None
    deletion = CustomerDeletion.objects.filter(pk=deletion_id, claim_token=token).first()
    return (token, deletion) if deletion is not None else None


def _carry_out(client: FluentCartClient, deletion: CustomerDeletion) -> DeletionResult:
    if deletion.fluentcart_id is None:
        found = _find_created(client, deletion)
        if isinstance(found, DeletionResult):
            return found
        deletion.fluentcart_id = found
    if deletion.action == OnDelete.ANONYMIZE:
        return _anonymize(client, deletion.pk, deletion.fluentcart_id, deletion.fluentcart_uuid)
    if deletion.action == OnDelete.DELETE:
        return _delete(client, deletion.pk, deletion.fluentcart_id, deletion.fluentcart_uuid)
    return DeletionResult(DONE, deletion.pk, requested=False)


def _is_a_stranger(remote: dict[str, Any], fluentcart_uuid: str) -> bool:
    """FluentCart holds another customer under the deleted one's id (it reused the id)."""
    theirs = _uuid_of(remote)
    return bool(fluentcart_uuid and theirs and theirs != fluentcart_uuid)


def _stranger(deletion_id: int, fluentcart_id: int) -> DeletionResult:
    return DeletionResult(
        DONE,
        deletion_id,
        error=f"FluentCart id {fluentcart_id} now belongs to another customer (another uuid): the deleted "
        "customer is no longer in FluentCart, and the other one was left alone.",
    )


def _find_created(client: FluentCartClient, deletion: CustomerDeletion) -> int | DeletionResult:
    """The FluentCart customer an unanswered POST of the deleted row created, looked up by the exact
    email it carried; only one that no local customer holds. Until no POST can land any more, not
    finding it means "look again later"; after that, there is nothing in FluentCart to do."""
    emails = list(dict.fromkeys(email for email in (deletion.posted_email, deletion.email) if email))
    for email in emails:
        matches = sorted(int(match["id"]) for match in client.find_by_email(email))
        held = set(Customer.objects.filter(fluentcart_id__in=matches).values_list("fluentcart_id", flat=True))
        free = [fluentcart_id for fluentcart_id in matches if fluentcart_id not in held]
        if not free:
            continue
        first, *others = free
        taken = CustomerDeletion.objects.filter(pk=deletion.pk, fluentcart_id__isnull=True).update(fluentcart_id=first)
        if not taken:  # the push that created it told us first
            first = CustomerDeletion.objects.values_list("fluentcart_id", flat=True).get(pk=deletion.pk) or first
        for duplicate in others:  # FluentCart stored that POST twice: each copy owes the same
            remember(email, duplicate, deletion.action)
        return first
    if deletion.look_until is not None and deletion.look_until > timezone.now():
        return DeletionResult(
            RETRY,
            deletion.pk,
            error="A create of this customer got no answer and could still land in FluentCart; looking again",
            not_before=deletion.look_until,
            requested=True,
        )
    return DeletionResult(DONE, deletion.pk, error="FluentCart never held this customer: nothing to do there.")


def _anonymize(client: FluentCartClient, deletion_id: int, fluentcart_id: int, fluentcart_uuid: str) -> DeletionResult:
    try:
        remote = client.get_customer(fluentcart_id)
    except FluentCartNotFound:
        return DeletionResult(DONE, deletion_id, error="FluentCart no longer had this customer: nothing to anonymize.")
    if _is_a_stranger(remote, fluentcart_uuid):
        return _stranger(deletion_id, fluentcart_id)
    if is_anonymized(fluentcart_id, remote):
        return DeletionResult(DONE, deletion_id)  # an earlier attempt whose answer was lost
    wanted = anonymized_fields(fluentcart_id, remote)
    try:
        stored = client.update_customer(fluentcart_id, build_update_body(wanted, remote))
    except FluentCartServerError as err:
        if err.fluentcart_code == 400:  # "Customer not found": deleted there meanwhile
            return DeletionResult(DONE, deletion_id, error="FluentCart deleted this customer meanwhile.")
        raise
    if not same_value("email", stored.get("email"), wanted["email"]):
        user = remote.get("user_id")
        return DeletionResult(
            FAILED,
            deletion_id,
            error=f"FluentCart kept this customer's email: it is linked to WordPress user {user}, whose email "
            "FluentCart keeps. Delete or anonymize that user in WordPress (Users), then retry this deletion.",
        )
    return DeletionResult(DONE, deletion_id)


def _delete(client: FluentCartClient, deletion_id: int, fluentcart_id: int, fluentcart_uuid: str) -> DeletionResult:
    if fluentcart_uuid:
        # Deleting by id takes whoever holds it now, with their orders: make sure it is still ours.
        try:
            if _is_a_stranger(client.get_customer(fluentcart_id), fluentcart_uuid):
                return _stranger(deletion_id, fluentcart_id)
        except FluentCartNotFound:
            return DeletionResult(DONE, deletion_id, error="FluentCart no longer had this customer.")
    try:
        client.delete_customer(fluentcart_id)
    except FluentCartServerError as err:
        if err.fluentcart_code != 400:
            raise
        # FluentCart found nothing to delete: an earlier request whose answer was lost did it, or
        # someone in WordPress. Only a 404 for the id proves it.
        try:
            client.get_customer(fluentcart_id)
        except FluentCartNotFound:
            return DeletionResult(DONE, deletion_id, error="FluentCart no longer had this customer.")
        return DeletionResult(
            FAILED, deletion_id, error=f"FluentCart refused to delete customer {fluentcart_id}: {err}"
        )
    return DeletionResult(DONE, deletion_id)


def _failure(deletion_id: int, err: FluentCartError) -> DeletionResult:
    if err.configuration:
        return DeletionResult(RETRY, deletion_id, error=str(err), configuration_error=True)
    if isinstance(err, FluentCartRateLimited):
        return DeletionResult(RETRY, deletion_id, error=str(err), retry_after=err.retry_after)
    if err.transient:
        return DeletionResult(RETRY, deletion_id, error=str(err))
    if isinstance(err, (FluentCartValidationError, FluentCartAPIError)):
        return DeletionResult(FAILED, deletion_id, error=str(err))
    return DeletionResult(RETRY, deletion_id, error=str(err))


def _record(deletion: CustomerDeletion, token: str, result: DeletionResult) -> bool:
    """Write the outcome and release the claim, only while holding it; False if the claim was lost."""
    now = timezone.now()
    # A look that finds nothing while a create could still land is waiting, not a failed attempt:
    # counted, a deletion whose push held a long claim would give up at its first network error.
    attempts = deletion.attempts + (1 if result.requested and result.not_before is None else 0)
    changes: dict[str, Any] = {"claimed_until": None, "claim_token": "", "attempts": attempts}
    if result.requested:
        changes["last_attempt_at"] = now
    if result.outcome == DONE:
        changes.update(
            state=DeletionState.DONE, done_at=now, error=result.error, next_attempt_at=None, failing_since=None
        )
    elif result.outcome == FAILED:
        changes.update(state=DeletionState.FAILED, error=result.error, next_attempt_at=None, failing_since=None)
    else:
        failing_since = deletion.failing_since or now
        window = timedelta(seconds=float(app_settings.RETRY_WINDOW_SECONDS))
        max_attempts = app_settings.MAX_ATTEMPTS
        # Waiting for a create that got no answer to land is not a failure of FluentCart's.
        gave_up = not (result.configuration_error or result.not_before) and (
            now - failing_since >= window or bool(max_attempts and attempts >= max_attempts)
        )
        if gave_up:
            changes.update(
                state=DeletionState.FAILED,
                error=f"Gave up after {attempts} attempts since {failing_since:%Y-%m-%d %H:%M} UTC. Last error: "
                f"{result.error}. Retry it from the admin once FluentCart is reachable.",
                next_attempt_at=None,
                failing_since=None,
            )
        else:
            delay = 0.0 if result.configuration_error else retry_delay(attempts, result.retry_after)
            next_at = now + timedelta(seconds=delay)
            if result.not_before is not None:
                # Look again with the backoff, and once more when no create can land any more.
                next_at = min(next_at, max(result.not_before, now))
            changes.update(
                state=DeletionState.RETRYING,
                error=f"{result.error} (attempt {attempts}; next try in {(next_at - now).total_seconds():.0f}s)",
                next_attempt_at=next_at,
                failing_since=Coalesce("failing_since", Value(now)),
            )
    written = bool(CustomerDeletion.objects.filter(pk=deletion.pk, claim_token=token).update(**changes))
    if not written:
        logger.warning("Lost the claim on deletion %s before recording %s", deletion.pk, result.outcome)
    elif changes.get("state") == DeletionState.FAILED:
        logger.warning(
            "Deletion %s (FluentCart customer %s) failed: %s", deletion.pk, deletion.fluentcart_id, changes["error"]
        )
    return written


def retry(deletion_ids: Iterable[int]) -> int:
    """A person asks for failed deletions to be tried again: they are owed once more."""
    return CustomerDeletion.objects.filter(
        pk__in=list(deletion_ids), state=DeletionState.FAILED, fluentcart_id__isnull=False
    ).update(state=DeletionState.PENDING, next_attempt_at=None, failing_since=None, attempts=0)
