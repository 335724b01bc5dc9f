"""Pushing customers to FluentCart: the only module that knows the sync state machine.

One push, whoever asks for it (the post-save task, the admin, the backfill, the sweep):

1. **Claim** the row with one conditional UPDATE (free, or its lease expired), so two workers never
   push the same customer at once. Emails are unique locally, so this also serialises every POST
   of one email, which FluentCart itself does not (it has no unique index on email).
2. **Decide** from the fresh row: nothing to do, refuse locally, update, look up, or create.
3. **Talk** to FluentCart. A POST is never re-sent blindly: after any answer that leaves the
   outcome unknown (timeout, dropped connection, 5xx) the email is looked up first, now and on
   every later attempt until the outcome is known.
4. **Record** the outcome with one UPDATE that only the claim holder can make, releasing the claim.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

from django.db import connections, router
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .client import FluentCartClient, get_client
from .conf import app_settings
from .exceptions import (
    FluentCartAPIError,
    FluentCartAuthError,
    FluentCartConnectError,
    FluentCartDuplicateEmail,
    FluentCartError,
    FluentCartNotFound,
    FluentCartPermissionError,
    FluentCartRateLimited,
    FluentCartRouteNotFound,
    FluentCartServerError,
    FluentCartTransportError,
    FluentCartValidationError,
)
from .models import Customer, SyncStatus

logger = logging.getLogger("fluentcart_sync.services")

#: The fields this app owns in FluentCart. Everything else on the remote record is preserved.
PUSHED_FIELDS = (
    "email",
    "full_name",
    "first_name",
    "last_name",
    "status",
    "country",
    "city",
    "state",
    "postcode",
    "notes",
)


class Outcome(str, Enum):
    CREATED = "created"  # POST made a new FluentCart customer
    LINKED = "linked"  # an existing FluentCart customer with this email was linked
    UPDATED = "updated"  # PUT sent the changed fields
    UNCHANGED = "unchanged"  # already synced, nothing changed: no request
    RETRY = "retry"  # transient failure, retried later
    FAILED = "failed"  # permanent failure: a person must act
    MISSING_REMOTE = "missing_remote"  # the FluentCart customer was deleted there
    BUSY = "busy"  # another worker holds the claim, or the row is gone

    @property
    def pushed(self) -> bool:
        return self in (Outcome.CREATED, Outcome.LINKED, Outcome.UPDATED)


@dataclass
class PushResult:
    outcome: Outcome
    customer_id: int
    fluentcart_id: int | None = None
    error: str = ""
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    #: The failure is the configuration's (credentials, permissions, URL): every record will fail
    #: the same way, so a batch should stop instead of burning through the queue.
    configuration_error: bool = False
    retry_after: float | None = None
    outcome_unknown: bool = False
    fingerprint: str = ""
    requested: bool = True  # a request was sent (counts as an attempt)


# -- payloads -------------------------------------------------------------------------------------


def build_payload(customer: Customer) -> dict[str, Any]:
    """The POST body: every field FluentCart stores, status always (it stores NULL otherwise),
    all three name fields (valid in full-name and first/last-name mode), never ``wp_user``."""
    customer.normalise()
    payload: dict[str, Any] = {
        "email": customer.email,
        "full_name": customer.full_name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "status": customer.status,
        "country": customer.country or None,
        "city": customer.city or None,
        "state": customer.state or None,
        "postcode": customer.postcode or None,
        "notes": customer.notes or "",
    }
    if app_settings.SEND_USER_ID and customer.user_id:
        # Opt-in only: FluentCart links this WordPress user id without any check.
        payload["user_id"] = customer.user_id
    return payload


def payload_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def build_update_body(payload: dict[str, Any], remote: dict[str, Any]) -> dict[str, Any]:
    """A PUT replaces the whole record: start from what FluentCart holds, so the fields this app
    does not manage (the WordPress user link, aov) survive, then lay our fields over it."""
    body: dict[str, Any] = {}
    if remote.get("user_id") not in (None, "", "0", 0):
        body["user_id"] = int(remote["user_id"])
    if remote.get("aov") is not None:
        body["aov"] = remote["aov"]
    body.update(payload)
    return body


def remote_differs(payload: dict[str, Any], remote: dict[str, Any]) -> bool:
    """True when FluentCart's record differs from ``payload`` in a field this app pushes
    (email ignoring case; empty and null alike)."""

    def same(ours: Any, theirs: Any) -> bool:
        return (ours or "") == (theirs or "")

    return not all(
        same(payload[name], remote.get(name))
        if name != "email"
        else payload[name].lower() == str(remote.get("email", "")).lower()
        for name in PUSHED_FIELDS
    )


def local_field_errors(customer: Customer) -> dict[str, list[str]]:
    """The validation FluentCart would apply, run here so nothing is sent that it would refuse or cut."""
    from django.core.exceptions import ValidationError

    try:
        customer.clean_fields(exclude=["user"])
    except ValidationError as err:
        return {name: [str(m) for m in messages] for name, messages in err.message_dict.items()}
    if not customer.full_name:
        return {"full_name": ["A name is required: FluentCart refuses customers without one."]}
    return {}


# -- claims ---------------------------------------------------------------------------------------


def claim(customer_id: int) -> str | None:
    """Take the row for one push; returns the claim token, or None if another worker holds it.

    A row whose previous claim was never released (its worker crashed or stalled past the lease)
    may have been POSTed already, so taking it over marks the outcome as unknown: look up first.
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = (
        Customer.objects.filter(pk=customer_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            # First: MySQL and MariaDB evaluate SET assignments left to right, so a CASE after the
            # new claimed_until would see the new lease instead of the old one.
            outcome_unknown=Case(When(claimed_until__isnull=False, then=Value(True)), default=F("outcome_unknown")),
            claimed_until=now + timedelta(seconds=app_settings.LEASE_SECONDS),
            claim_token=token,
        )
    )
    return token if taken else None


def claim_and_read(customer_id: int) -> tuple[str, Customer] | None:
    """``claim`` and read the claimed row in one statement (UPDATE ... RETURNING) where the
    database has it (PostgreSQL, SQLite 3.35+); elsewhere a claim, then a SELECT.

    Returns (token, the row as claimed), or None if another worker holds it or the row is gone.
    """
    connection = connections[router.db_for_write(Customer)]
    if not _can_return_from_update(connection):
        token = claim(customer_id)
        fresh = Customer.objects.filter(pk=customer_id).order_by().first() if token else None
        return (token, fresh) if token and fresh is not None else None
    now = timezone.now()
    token = uuid.uuid4().hex
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(now + timedelta(seconds=app_settings.LEASE_SECONDS)), token, True, customer_id, adapt(now)]
    rows = list(Customer.objects.db_manager(connection.alias).raw(_claim_sql(connection), params))
    return (token, rows[0]) if rows else None


def _can_return_from_update(connection: Any) -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 35)


def _claim_sql(connection: Any) -> str:
    """The claim of ``claim()`` as one UPDATE that returns the row (the CASE sees the old lease)."""
    qn = connection.ops.quote_name
    meta = Customer._meta
    column = {f.name: qn(f.column) for f in meta.concrete_fields}
    until, token, unknown = column["claimed_until"], column["claim_token"], column["outcome_unknown"]
    columns = ", ".join(column.values())
    return (
        f"UPDATE {qn(meta.db_table)} SET {until} = %s, {token} = %s, "
        f"{unknown} = CASE WHEN {until} IS NULL THEN {unknown} ELSE %s END "
        f"WHERE {column[meta.pk.name]} = %s AND ({until} IS NULL OR {until} < %s) RETURNING {columns}"
    )


def release(customer_id: int, token: str, *, outcome_unknown: bool = False) -> None:
    changes: dict[str, Any] = {"claimed_until": None, "claim_token": ""}
    if outcome_unknown:
        changes["outcome_unknown"] = True
    Customer.objects.filter(pk=customer_id, claim_token=token).update(**changes)


# -- the push ------------------------------------------------------------------------------------


def push_customer(
    customer: Customer | int, *, client: FluentCartClient | None = None, recreate_missing: bool = False
) -> PushResult:
    """Push one customer (create, link or update) and record the outcome on its row.

    Never raises for anything FluentCart or the network does; the outcome is on the row and in the
    returned ``PushResult``. ``recreate_missing`` is a person's explicit decision to create a new
    FluentCart customer for a record whose remote customer was deleted there.
    """
    customer_id = customer if isinstance(customer, int) else customer.pk
    claimed = claim_and_read(customer_id)  # held by another worker, or deleted: nothing to do
    if claimed is None:
        return PushResult(Outcome.BUSY, customer_id, requested=False)
    token, fresh = claimed
    try:
        result = _decide_and_push(fresh, client or get_client(), recreate_missing)
    except Exception:
        # A bug, or the database went away: leave the row pending for the next attempt, which looks
        # the email up first, since a POST may have been sent before the error.
        release(customer_id, token, outcome_unknown=True)
        raise
    _record(fresh, token, result)
    return result


def _decide_and_push(customer: Customer, client: FluentCartClient, recreate_missing: bool) -> PushResult:
    payload = build_payload(customer)
    fingerprint = payload_fingerprint(payload)
    base: dict[str, Any] = {"customer_id": customer.pk, "fingerprint": fingerprint}

    if (
        customer.sync_status == SyncStatus.SYNCED
        and customer.fluentcart_id
        and customer.synced_fingerprint == fingerprint
    ):
        return PushResult(Outcome.UNCHANGED, fluentcart_id=customer.fluentcart_id, requested=False, **base)
    if customer.sync_status == SyncStatus.MISSING_REMOTE and not recreate_missing:
        return _missing_remote(customer.fluentcart_id, base, requested=False)
    errors = local_field_errors(customer)
    if errors:
        return PushResult(
            Outcome.FAILED,
            error=_summarise("Fix the customer before pushing", errors),
            field_errors=errors,
            requested=False,
            **base,
        )

    fluentcart_id = None if (customer.sync_status == SyncStatus.MISSING_REMOTE) else customer.fluentcart_id
    try:
        if fluentcart_id:
            return _update(client, fluentcart_id, payload, base)
        return _create_or_link(client, customer, payload, base)
    except FluentCartError as err:
        return _failure(err, base, outcome_unknown=customer.outcome_unknown)


def _create_or_link(client: FluentCartClient, customer: Customer, payload: dict[str, Any], base: dict) -> PushResult:
    if customer.outcome_unknown:
        # An earlier POST may have landed: look before creating again.
        found = _link_existing(client, payload, base)
        if found is not None:
            return found
    try:
        created = client.create_customer(payload)
    except FluentCartDuplicateEmail:
        found = _link_existing(client, payload, base)
        if found is not None:
            return found
        return PushResult(
            Outcome.FAILED,
            error="FluentCart says this email already exists, but no customer with exactly this email "
            "was found in its search. Check the customer in FluentCart, then push again.",
            field_errors={"email": ["Email already exists in FluentCart."]},
            **base,
        )
    except (FluentCartTransportError, FluentCartServerError) as err:
        if isinstance(err, FluentCartConnectError):
            raise  # never reached the server: nothing was created
        # The POST may have created the customer (FluentCart even answers 500 after storing it).
        try:
            found = _link_existing(client, payload, base)
        except FluentCartError:
            found = None
        if found is not None:
            return found
        return _failure(err, base, outcome_unknown=True)
    return PushResult(Outcome.CREATED, fluentcart_id=int(created["id"]), **base)


def _link_existing(client: FluentCartClient, payload: dict[str, Any], base: dict) -> PushResult | None:
    """Link the FluentCart customer with this exact email, bringing it up to date if it differs."""
    matches = client.find_by_email(payload["email"])
    if not matches:
        return None
    remote = matches[0]
    remote_id = int(remote["id"])
    warning = ""
    if len(matches) > 1:
        others = ", ".join(str(m["id"]) for m in matches[1:])
        warning = (
            f"FluentCart holds {len(matches)} customers with this email; linked the oldest ({remote_id}). "
            f"Merge or delete the others in FluentCart: {others}."
        )
    if remote_differs(payload, remote):
        result = _update(client, remote_id, payload, base, remote=remote)
        result.outcome = Outcome.LINKED if result.outcome == Outcome.UPDATED else result.outcome
        result.fluentcart_id = result.fluentcart_id or remote_id
        result.error = result.error or warning
        return result
    return PushResult(Outcome.LINKED, fluentcart_id=remote_id, error=warning, **base)


def _update(
    client: FluentCartClient,
    fluentcart_id: int,
    payload: dict[str, Any],
    base: dict,
    remote: dict[str, Any] | None = None,
) -> PushResult:
    try:
        if remote is None:
            remote = client.get_customer(fluentcart_id)
        client.update_customer(fluentcart_id, build_update_body(payload, remote))
    except FluentCartNotFound:
        return _missing_remote(fluentcart_id, base)
    except FluentCartServerError as err:
        if err.fluentcart_code == 400:  # "Customer not found, please reload the page"
            return _missing_remote(fluentcart_id, base)
        raise
    except FluentCartDuplicateEmail as err:
        return PushResult(
            Outcome.FAILED,
            fluentcart_id=fluentcart_id,
            field_errors=err.field_errors,
            error="Another FluentCart customer already has this email. Change the email here, or merge the two "
            "customers in FluentCart, then push again.",
            **base,
        )
    return PushResult(Outcome.UPDATED, fluentcart_id=fluentcart_id, **base)


_MISSING_REMOTE_MESSAGE = (
    "This customer was deleted in FluentCart. Nothing was re-created automatically; use “Push to FluentCart” "
    "in the admin to create it again."
)


def _missing_remote(fluentcart_id: int | None, base: dict, *, requested: bool = True) -> PushResult:
    return PushResult(
        Outcome.MISSING_REMOTE, fluentcart_id=fluentcart_id, error=_MISSING_REMOTE_MESSAGE, requested=requested, **base
    )


def _failure(err: FluentCartError, base: dict, *, outcome_unknown: bool) -> PushResult:
    """Sort a failure into retry-later or needs-a-person, with a message that says what to do."""
    if isinstance(err, (FluentCartAuthError, FluentCartPermissionError, FluentCartRouteNotFound)):
        return PushResult(
            Outcome.FAILED, error=str(err), configuration_error=True, outcome_unknown=outcome_unknown, **base
        )
    if isinstance(err, FluentCartValidationError):
        return PushResult(
            Outcome.FAILED,
            error=_summarise("FluentCart rejected the customer", err.field_errors),
            field_errors=err.field_errors,
            outcome_unknown=outcome_unknown,
            **base,
        )
    if isinstance(err, FluentCartRateLimited):
        return PushResult(
            Outcome.RETRY, error=str(err), retry_after=err.retry_after, outcome_unknown=outcome_unknown, **base
        )
    if err.transient:
        return PushResult(Outcome.RETRY, error=str(err), outcome_unknown=outcome_unknown, **base)
    if isinstance(err, FluentCartAPIError):
        return PushResult(Outcome.FAILED, error=str(err), outcome_unknown=outcome_unknown, **base)
    return PushResult(Outcome.RETRY, error=str(err), outcome_unknown=outcome_unknown, **base)


def _summarise(prefix: str, field_errors: dict[str, list[str]]) -> str:
    return prefix + ": " + "; ".join(f"{name}: {' '.join(messages)}" for name, messages in field_errors.items())


# -- recording outcomes -----------------------------------------------------------------------------


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; a server's Retry-After wins when longer (up to a cap)."""
    base = float(app_settings.RETRY_BASE_SECONDS)
    delay = min(float(app_settings.RETRY_MAX_SECONDS), base * (2 ** max(0, attempt - 1)))
    delay = random.uniform(delay / 2, delay)  # jitter spreads a burst of failures over time
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), float(app_settings.RETRY_AFTER_CAP_SECONDS)))
    return delay


def _record(customer: Customer, token: str, result: PushResult) -> None:
    """Write the outcome on the row and release the claim: one UPDATE, only by the claim holder."""
    now = timezone.now()
    attempts = customer.sync_attempts + (1 if result.requested else 0)
    changes: dict[str, Any] = {"claimed_until": None, "claim_token": ""}
    if result.requested:
        changes.update(sync_attempts=attempts, last_attempt_at=now)

    if result.outcome == Outcome.MISSING_REMOTE and not result.requested:
        pass  # still deleted in FluentCart and nobody asked to re-create it: only release the claim
    elif result.outcome in (Outcome.CREATED, Outcome.LINKED, Outcome.UPDATED, Outcome.UNCHANGED):
        changes.update(
            sync_status=SyncStatus.SYNCED,
            fluentcart_id=result.fluentcart_id,
            sync_error=result.error,
            sync_field_errors={},
            synced_fingerprint=result.fingerprint,
            outcome_unknown=False,
            next_attempt_at=None,
        )
        if result.outcome != Outcome.UNCHANGED:
            changes.update(synced_at=now, sync_attempts=0)
    elif result.outcome == Outcome.MISSING_REMOTE:
        changes.update(sync_status=SyncStatus.MISSING_REMOTE, sync_error=result.error, next_attempt_at=None)
    elif result.outcome == Outcome.RETRY and attempts < app_settings.MAX_ATTEMPTS:
        delay = retry_delay(attempts, result.retry_after)
        changes.update(
            sync_status=SyncStatus.RETRYING,
            sync_error=f"{result.error} (attempt {attempts}; next try in {delay:.0f}s)",
            next_attempt_at=now + timedelta(seconds=delay),
            outcome_unknown=result.outcome_unknown,
        )
    else:
        error = result.error
        if result.outcome == Outcome.RETRY:
            error = f"Gave up after {attempts} attempts. Last error: {error}. Push again once FluentCart is reachable."
        changes.update(
            sync_status=SyncStatus.FAILED,
            sync_error=error,
            sync_field_errors=result.field_errors,
            next_attempt_at=None,
            outcome_unknown=result.outcome_unknown,
        )

    written = Customer.objects.filter(pk=customer.pk, claim_token=token).update(**changes)
    if not written:
        # Our lease ran out and another worker took the row; it looks the email up before any
        # POST, so whatever we did is found rather than duplicated.
        logger.warning("Lost the claim on customer %s before recording %s", customer.pk, result.outcome.value)
    # A success is on the row already; a line per record would flood a 500,000-customer backfill.
    if result.outcome == Outcome.FAILED:
        level = logging.WARNING
    elif result.outcome.pushed or result.outcome == Outcome.UNCHANGED:
        level = logging.DEBUG
    else:
        level = logging.INFO
    if logger.isEnabledFor(level):
        logger.log(
            level, "Customer %s: %s%s", customer.pk, result.outcome.value, f" ({result.error})" if result.error else ""
        )


# -- users ----------------------------------------------------------------------------------------


def customer_for_user(user: Any) -> Customer | None:
    """The user's linked Customer, created (or linked by email) if missing; None if the user has
    no email or is skipped by the settings."""
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        if not app_settings.INCLUDE_STAFF_USERS:
            return None
    email = (getattr(user, "email", "") or "").strip()
    if not email:
        return None
    existing = Customer.objects.filter(user=user).first()
    if existing:
        return existing
    customer = Customer.objects.with_email(email).filter(user__isnull=True).first()
    if customer is not None:
        customer.user = user
        customer.save(update_fields=["user", "updated_at"])
        return customer
    if Customer.objects.with_email(email).exists():
        return None  # the email belongs to another user's customer: nothing to link
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    if not full_name:
        username = user.get_username() if hasattr(user, "get_username") else ""
        full_name = username if username and "@" not in username else email.split("@")[0]
    return Customer.objects.create(
        user=user,
        email=email,
        full_name=full_name,
        first_name=getattr(user, "first_name", "") or "",
        last_name=getattr(user, "last_name", "") or "",
    )
