"""The sync state machine's writes: claiming a row, remembering a POST before it goes out,
recording an outcome, releasing a claim. Nothing else writes the sync columns of a customer.

Every write here is a conditional UPDATE that names the claim token it holds (and, to record
``synced``, the data revision it pushed), so a worker whose lease ran out, or a push overtaken by an
edit, can never write state that is no longer true.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .conf import app_settings
from .display import duration_in_words
from .models import Customer, SyncStatus
from .outcomes import Outcome, PushResult

logger = logging.getLogger("fluentcart_sync.services")


# -- claims ---------------------------------------------------------------------------------------


def claim_and_read(customer_id: int) -> tuple[str, Customer] | None:
    """Take the row for one push and read it as claimed; None if another worker holds it or it is gone.

    One UPDATE ... RETURNING where the database has it (PostgreSQL, SQLite 3.35+), else the same
    UPDATE and a SELECT. The same statement remembers what a create would POST (email and revision)
    before anything is sent. A row whose previous claim expired unreleased (its worker crashed or
    stalled) may have been POSTed already: taking it over marks the outcome unknown and quarantines
    new POSTs, so the next step is a look-up, never a second POST.
    """
    connection = connections[router.db_for_write(Customer)]
    now = timezone.now()
    token = uuid.uuid4().hex
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        False,  # posted_*: only a row with no remote id, no unknown outcome and no stale claim
        False,
        adapt(now + timedelta(seconds=app_settings.quarantine_seconds)),
        adapt(now + timedelta(seconds=app_settings.LEASE_SECONDS)),
        token,
        customer_id,
        adapt(now),
    ]
    statements = _statements(connection)
    if can_return_from_update(connection):
        fresh = statements.fetch_customer(connection, statements.claim_returning, params)
        return (token, fresh) if fresh is not None else None
    with connection.cursor() as cursor:
        cursor.execute(statements.claim, params)
        taken = cursor.rowcount
    fresh = statements.fetch_customer(connection, statements.read_claimed, [customer_id, token]) if taken else None
    return (token, fresh) if fresh is not None else None


def can_return_from_update(connection: Any) -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 35)


def _claim_sql(connection: Any, *, returning: bool) -> str:
    """The claim as one UPDATE. The assignments are ordered so that each sees the old lease
    (MySQL evaluates them left to right; the others see the old row anyway)."""
    qn = connection.ops.quote_name
    meta = Customer._meta
    col = {f.name: qn(f.column) for f in meta.concrete_fields}
    stale = f"{col['claimed_until']} IS NOT NULL"
    sql = (
        f"UPDATE {qn(meta.db_table)} SET "
        f"{col['posted_email']} = CASE WHEN {col['fluentcart_id']} IS NULL AND {col['outcome_unknown']} = %s "
        f"AND {col['claimed_until']} IS NULL THEN {col['email']} ELSE {col['posted_email']} END, "
        f"{col['posted_revision']} = CASE WHEN {col['fluentcart_id']} IS NULL AND {col['outcome_unknown']} = %s "
        f"AND {col['claimed_until']} IS NULL THEN {col['data_revision']} ELSE {col['posted_revision']} END, "
        f"{col['quarantine_until']} = CASE WHEN {stale} THEN %s ELSE {col['quarantine_until']} END, "
        f"{col['outcome_unknown']} = CASE WHEN {stale} THEN {_true(connection)} ELSE {col['outcome_unknown']} END, "
        f"{col['claimed_until']} = %s, {col['claim_token']} = %s "
        f"WHERE {col[meta.pk.name]} = %s AND ({col['claimed_until']} IS NULL OR {col['claimed_until']} < %s)"
    )
    if returning:
        sql += " RETURNING " + ", ".join(col.values())
    return sql


def _true(connection: Any) -> str:
    return "TRUE" if connection.vendor in ("postgresql", "mysql") else "1"


def remember_post(customer: Customer, token: str, email: str, revision: int, sent: dict[str, Any]) -> bool:
    """Before a POST: its email and revision are on the row (the claim wrote them for a first POST;
    a re-creation or a POST after a quarantine writes them here), and what it sends is noted on the
    instance, recorded with the outcome if no answer comes. False if the claim was lost."""
    note_write(customer, "POST", sent)
    if customer.posted_email == email and customer.posted_revision == revision:
        return True
    return bool(
        update_claimed(
            customer.pk,
            token,
            {"posted_email": email, "posted_revision": revision, "unanswered_write": customer.unanswered_write},
        )
    )


def note_write(customer: Customer, method: str, sent: dict[str, Any]) -> None:
    """Note on the claimed instance the POST or PUT about to go out, and what FluentCart holds if it
    lands: an attempt that gets no answer (or crashes) records it, and the next one merges against it."""
    customer.unanswered_write = {"method": method, "record": sent, "at": timezone.now().isoformat()}


def forget_conflict(customer_id: int, field_name: str) -> None:
    """A person has decided a conflict: drop it from the row (whoever holds the claim)."""
    with transaction.atomic(using=router.db_for_write(Customer)):
        row = Customer.objects.select_for_update().filter(pk=customer_id).values("sync_conflicts").first()
        if row is None:
            return
        conflicts = {name: value for name, value in (row["sync_conflicts"] or {}).items() if name != field_name}
        Customer.objects.filter(pk=customer_id).update(sync_conflicts=conflicts)


def release(customer_id: int, token: str, *, outcome_unknown: bool = False) -> None:
    changes: dict[str, Any] = {"claimed_until": None, "claim_token": ""}
    if outcome_unknown:
        changes.update(_unknown_outcome_changes())
    Customer.objects.filter(pk=customer_id, claim_token=token).update(**changes)


def release_all(tokens: Iterable[str]) -> int:
    """Release claims a batch still holds when it is aborted; a POST of theirs may be in flight."""
    tokens = list(tokens)
    if not tokens:
        return 0
    return Customer.objects.filter(claim_token__in=tokens).update(
        claimed_until=None, claim_token="", **_unknown_outcome_changes()
    )


def _unknown_outcome_changes() -> dict[str, Any]:
    """A POST may be in flight for rows without a remote id: look up first, and quarantine new POSTs."""
    no_remote = Q(fluentcart_id__isnull=True)
    until = timezone.now() + timedelta(seconds=app_settings.quarantine_seconds)
    return {
        "outcome_unknown": Case(When(no_remote, then=Value(True)), default="outcome_unknown"),
        "quarantine_until": Case(When(no_remote, then=Value(until)), default="quarantine_until"),
    }


# -- recording outcomes -----------------------------------------------------------------------------


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; a server's Retry-After wins when longer (up to a cap)."""
    base = float(app_settings.RETRY_BASE_SECONDS)
    delay = min(float(app_settings.RETRY_MAX_SECONDS), base * (2 ** min(max(0, attempt - 1), 40)))
    delay = random.uniform(delay / 2, delay)  # jitter spreads a burst of failures over time
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), float(app_settings.RETRY_AFTER_CAP_SECONDS)))
    return delay


def record(customer: Customer, token: str, result: PushResult) -> bool:
    """Write the outcome on the row and release the claim, only while holding the claim; False if
    the claim was lost (nothing written).

    ``synced`` is written only if the row's data revision is still the one pushed; otherwise
    what FluentCart now holds is recorded all the same, the row stays owed and
    ``result.owed_again`` is set, so the caller pushes again.
    """
    changes = _changes_for(customer, result, token)
    try:
        written = _write(customer, token, result, changes)
    except IntegrityError as err:
        written = _write_integrity_error(customer, token, result, err)
    if written and result.conflicts:
        add_conflicts(customer.pk, result.conflicts, known_before=customer.sync_conflicts or {})
    if written and result.refused:
        result.outcome = Outcome.FAILED  # the rest was synced, but the row needs a person: reported as such
    if not written:
        # Our lease ran out and another worker took the row; it looks the email up before any
        # POST, so whatever we did is found rather than duplicated.
        logger.warning("Lost the claim on customer %s before recording %s", customer.pk, result.outcome.value)
    _log(customer, result)
    return written


def _write(customer: Customer, token: str, result: PushResult, changes: dict[str, Any]) -> bool:
    links_an_id = changes.get("fluentcart_id", customer.fluentcart_id) != customer.fluentcart_id
    may_collide = links_an_id or "email" in result.pulled  # the unique id, or the unique email
    with _savepoint_if_in_transaction() if may_collide else nullcontext():
        if not result.outcome.succeeded:
            return bool(update_claimed(customer.pk, token, changes))
        if result.revision is not None and update_claimed(
            customer.pk,
            token,
            {"sync_status": SyncStatus.SYNCED, **changes, **result.pulled},
            data_revision=result.revision,
        ):
            return True
        # Edited while the push was in flight: FluentCart holds an older revision; still owed. What
        # FluentCart changed is still copied in, field by field, where the edit left the field alone.
        mine = Customer.objects.filter(pk=customer.pk, claim_token=token)
        for name, value in result.pulled.items():
            mine.filter(**{name: getattr(customer, name)}).update_sync_state(**{name: value})
        written = bool(update_claimed(customer.pk, token, {**changes, "sync_status": SyncStatus.PENDING}))
    result.owed_again = written
    return written


def _savepoint_if_in_transaction():
    """Inside a caller's transaction, an IntegrityError must roll back to a savepoint, not poison the
    transaction; outside one (the batch, the tasks) autocommit needs nothing, and costs no query."""
    alias = router.db_for_write(Customer)
    return transaction.atomic(using=alias) if connections[alias].in_atomic_block else nullcontext()


def _write_integrity_error(customer: Customer, token: str, result: PushResult, err: IntegrityError) -> bool:
    """The outcome broke a constraint. Only "another local customer holds this FluentCart id" (asked
    of the database, not read from a message, which differs per vendor) is a link collision, and
    unlinks; anything else, such as FluentCart's email held here by another customer, is this row's
    failure, and the row keeps its FluentCart id, so a retry updates instead of POSTing again."""
    owner = None
    if result.fluentcart_id and result.fluentcart_id != customer.fluentcart_id:
        owner = Customer.objects.filter(fluentcart_id=result.fluentcart_id).exclude(pk=customer.pk).first()
    if owner is not None:
        result.error = link_collision_message(customer, result.fluentcart_id, owner)
        result.fluentcart_id = customer.fluentcart_id
    else:
        result.error = _constraint_message(customer, result, err)
        result.fluentcart_id = result.fluentcart_id or customer.fluentcart_id
    result.outcome, result.field_errors, result.pulled = Outcome.FAILED, {}, {}
    changes = _changes_for(customer, result, token)
    changes["fluentcart_id"] = result.fluentcart_id
    return bool(Customer.objects.filter(pk=customer.pk, claim_token=token).update_sync_state(**changes))


def _constraint_message(customer: Customer, result: PushResult, err: IntegrityError) -> str:
    email = result.pulled.get("email")
    holder = Customer.objects.with_email(email).exclude(pk=customer.pk).first() if email else None
    if holder is None:
        return f"Could not record the push of customer #{customer.pk}: {type(err).__name__}: {err}"[:2000]
    return (
        f"FluentCart customer {result.fluentcart_id} now has the email {email}, which local customer #{holder.pk} "
        f"({holder.email}) holds; emails are unique here, so it was not copied into customer #{customer.pk} "
        f"({customer.email}). Decide which local customer it is: change or merge one of the two here (or the "
        "email in FluentCart), then push again."
    )


def link_collision_message(customer: Customer, fluentcart_id: int | None, owner: Customer | None) -> str:
    owner_text = f"local customer #{owner.pk} ({owner.email})" if owner else "another local customer"
    return (
        f"FluentCart customer {fluentcart_id} (found by this email) already belongs to {owner_text}; it was not "
        f"linked to customer #{customer.pk} ({customer.email}). Decide which local customer it is: push "
        f"#{owner.pk if owner else '?'} to give FluentCart its current email, or change this customer's email."
    )


def add_conflicts(customer_id: int, found: dict[str, dict[str, Any]], *, known_before: dict[str, Any]) -> None:
    """Add the conflicts a push or pull found to the row as it is now, under a row lock. A conflict
    that was on the row when the work began and is gone now was resolved or dismissed by a person
    meanwhile: it stays resolved (the work saw the values from before that decision)."""
    with transaction.atomic(using=router.db_for_write(Customer)):
        row = Customer.objects.select_for_update().filter(pk=customer_id).values("sync_conflicts").first()
        if row is None:
            return
        current = dict(row["sync_conflicts"] or {})
        added = {name: value for name, value in found.items() if name in current or name not in known_before}
        if added:
            Customer.objects.filter(pk=customer_id).update_sync_state(sync_conflicts={**current, **added})


def _changes_for(customer: Customer, result: PushResult, token: str = "") -> dict[str, Any]:
    now = timezone.now()
    # Waiting out a quarantine (the look-up found nothing, no new request may go out yet) is not a
    # failed attempt: counted, "Sync now" pressed a few times would give the customer up.
    attempts = customer.sync_attempts + (1 if result.requested and result.not_before is None else 0)
    changes: dict[str, Any] = {"claimed_until": None, "claim_token": ""}
    if result.requested:
        changes.update(sync_attempts=attempts, last_attempt_at=now)
    outcome = result.outcome

    if outcome == Outcome.MISSING_REMOTE and not result.requested:
        return changes  # still deleted in FluentCart and nobody asked to re-create it: only release
    if outcome.succeeded:
        changes.update(
            fluentcart_id=result.fluentcart_id,
            sync_error=result.error,
            sync_field_errors={},
            synced_fingerprint=result.fingerprint,
            synced_revision=result.revision,
            outcome_unknown=False,
            posted_email="",
            quarantine_until=None,
            failing_since=None,
            next_attempt_at=None,
            remote_duplicates=result.duplicates,
            **result.purchases,
        )
        if result.remote_base is not None:
            changes.update(remote_base=result.remote_base, remote_base_stamp=token)
        if customer.unanswered_write:
            changes["unanswered_write"] = {}  # whatever it was, FluentCart's record is now known
        if outcome != Outcome.UNCHANGED or result.requested:
            changes.update(synced_at=now, sync_attempts=0)
        if result.refused:
            changes.update(sync_status=SyncStatus.FAILED, sync_field_errors={n: [r] for n, r in result.refused.items()})
        return changes
    if result.forget_id:
        changes.update(fluentcart_id=None, synced_fingerprint="", remote_base={}, remote_base_stamp="")
    if outcome == Outcome.MISSING_REMOTE:
        changes.update(sync_status=SyncStatus.MISSING_REMOTE, sync_error=result.error, next_attempt_at=None)
        return changes
    # Only an answer that settles it clears an unknown outcome: a push refused here before anything
    # was sent (an invalid row, a failing hook) keeps the memory of the POST that got no answer.
    result.outcome_unknown = result.outcome_unknown or (customer.outcome_unknown and not result.settles_unknown)
    if outcome in (Outcome.RETRY, Outcome.PAUSED):
        changes |= _retry_changes(customer, result, attempts, now)
        if result.fluentcart_id and not customer.fluentcart_id:
            changes["fluentcart_id"] = result.fluentcart_id  # found by a look-up: from now on, an update
        return changes
    changes.update(
        sync_status=SyncStatus.FAILED,
        sync_error=result.error,
        sync_field_errors=result.field_errors,
        next_attempt_at=None,
        failing_since=None,
        outcome_unknown=result.outcome_unknown,
    )
    if result.fluentcart_id and not customer.fluentcart_id:
        changes["fluentcart_id"] = result.fluentcart_id  # linked, but FluentCart refused part of it
    if result.duplicates:
        changes["remote_duplicates"] = result.duplicates
    if result.posted:
        changes["quarantine_until"] = now + timedelta(seconds=app_settings.quarantine_seconds)
        changes["unanswered_write"] = customer.unanswered_write
    return changes


def _retry_changes(customer: Customer, result: PushResult, attempts: int, now) -> dict[str, Any]:
    """A transient failure keeps the row owed, retrying with backoff until the retry window closes;
    a configuration failure keeps it owed until the circuit closes (never ``failed``)."""
    changes: dict[str, Any] = {"outcome_unknown": result.outcome_unknown, "retry_not_before": None}
    if result.posted:
        changes["quarantine_until"] = now + timedelta(seconds=app_settings.quarantine_seconds)
        changes["unanswered_write"] = customer.unanswered_write
    if result.configuration_error:
        changes.update(
            sync_status=SyncStatus.RETRYING,
            sync_error=f"{result.error}. Pushes are paused until FluentCart accepts the configuration again; "
            "this customer is pushed then, without anyone pressing a button.",
            next_attempt_at=now,
            failing_since=Coalesce("failing_since", Value(now)),
        )
        return changes
    failing_since = customer.failing_since or now
    window = timedelta(seconds=float(app_settings.RETRY_WINDOW_SECONDS))
    max_attempts = app_settings.MAX_ATTEMPTS
    if now - failing_since >= window or (max_attempts and attempts >= max_attempts):
        changes.update(
            sync_status=SyncStatus.FAILED,
            sync_error=f"Gave up after {attempts} attempts since {failing_since:%Y-%m-%d %H:%M} UTC. Last error: "
            f"{result.error}. Push again once FluentCart is reachable.",
            sync_field_errors={},
            next_attempt_at=None,
            failing_since=None,
        )
        return changes
    if result.not_before is not None:
        # Waiting out a quarantine is not a failure of FluentCart's: try again the moment it ends,
        # whatever the backoff of earlier failures would say.
        next_at = max(result.not_before, now)
    else:
        next_at = min(
            now + timedelta(seconds=retry_delay(attempts)), _not_later_than_the_schedule(customer, now, failing_since)
        )
        if result.retry_after is not None:  # FluentCart said how long to wait: never sooner than that
            cap = min(float(result.retry_after), float(app_settings.RETRY_AFTER_CAP_SECONDS))
            changes["retry_not_before"] = now + timedelta(seconds=cap)
            next_at = max(next_at, changes["retry_not_before"])
    changes.update(
        sync_status=SyncStatus.RETRYING,
        sync_error=f"{result.error} (attempt {attempts}; next try in {duration_in_words((next_at - now).total_seconds())})",
        next_attempt_at=next_at,
        failing_since=Coalesce("failing_since", Value(now)),
    )
    return changes


def _not_later_than_the_schedule(customer: Customer, now, failing_since) -> Any:
    """The latest next attempt allowed: an attempt made before the row was due (a person's retry,
    the backfill) keeps the time already set, and no wait is longer than the failures have lasted
    (plus one base delay), so attempts made by hand during an outage do not stretch the backoff."""
    latest = now + (now - failing_since) + timedelta(seconds=float(app_settings.RETRY_BASE_SECONDS))
    scheduled = customer.next_attempt_at
    if customer.sync_status == SyncStatus.RETRYING and scheduled is not None and scheduled > now:
        latest = min(latest, scheduled)
    return latest


def record_crash(customer: Customer, token: str, error: BaseException) -> PushResult:
    """A push raised (a bug, a database error): the error goes on the row, which backs off like any
    failure and ends ``failed`` after the retry window (a bug does not fix itself by being retried
    every 30 seconds), and looks the email up before any POST, since one may have been sent; the
    claim is released."""
    message = f"The push crashed: {type(error).__name__}: {error}"[:2000]
    result = PushResult(Outcome.RETRY, customer.pk, error=message, outcome_unknown=True, posted=True)
    now = timezone.now()
    attempts = customer.sync_attempts + 1
    changes = {
        "claimed_until": None,
        "claim_token": "",
        "sync_attempts": attempts,
        "last_attempt_at": now,
        **_retry_changes(customer, result, attempts, now),
        **_unknown_outcome_changes(),  # last: a row with a FluentCart id has no POST in flight
    }
    if customer.unanswered_write:  # a POST or PUT may have gone out before the crash
        changes["unanswered_write"] = customer.unanswered_write
    Customer.objects.filter(pk=customer.pk, claim_token=token).update(**changes)
    logger.error("Customer %s: push crashed", customer.pk, exc_info=error)
    return result


def _log(customer: Customer, result: PushResult) -> None:
    # A success is on the row already; a line per record would flood a 500,000-customer backfill.
    if result.outcome == Outcome.FAILED:
        level = logging.WARNING
    elif result.outcome.succeeded:
        level = logging.DEBUG
    else:
        level = logging.INFO
    if logger.isEnabledFor(level):
        logger.log(
            level, "Customer %s: %s%s", customer.pk, result.outcome.value, f" ({result.error})" if result.error else ""
        )


# -- the statements of the hot path, built once -----------------------------------------------------
#
# A backfill claims and records every row: building those statements through the ORM each time
# (query objects, compilers, converters) cost more CPU than the HTTP request. They are built once per
# connection and shape here, and run on the connection's cursor; what they write and the conditions
# they name (claim token, data revision) are exactly the ORM's.


class _Statements:
    """One connection's compiled claim and read, and how to turn a returned row into a ``Customer``."""

    def __init__(self, connection: Any):
        meta = Customer._meta
        qn = connection.ops.quote_name
        self.claim = _claim_sql(connection, returning=False)
        self.claim_returning = _claim_sql(connection, returning=True)
        fields = meta.concrete_fields
        self.read_claimed = (
            f"SELECT {', '.join(qn(f.column) for f in fields)} FROM {qn(meta.db_table)} "
            f"WHERE {qn(meta.pk.column)} = %s AND {qn(meta.get_field('claim_token').column)} = %s"
        )
        self.attnames = [f.attname for f in fields]
        # What the ORM applies to each column read (SQLite's text datetimes and 0/1 booleans, JSON).
        self.converters = []
        for position, field in enumerate(fields):
            column = field.get_col(meta.db_table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((position, column, found))

    def fetch_customer(self, connection: Any, sql: str, params: list[Any]) -> Customer | None:
        """Run ``sql``, which returns at most one row of every column, as the customer it holds."""
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return None
        values = list(rows[0])
        for position, column, converters in self.converters:
            for converter in converters:
                values[position] = converter(values[position], column, connection)
        return Customer.from_db(connection.alias, self.attnames, values)


_compiled: WeakKeyDictionary[Any, _Statements] = WeakKeyDictionary()


def _statements(connection: Any) -> _Statements:
    # Keyed by the connection object (one per thread and alias), so converters bound to one
    # connection are never used on another.
    statements = _compiled.get(connection)
    if statements is None:
        statements = _compiled[connection] = _Statements(connection)
    return statements


#: UPDATE statements by (vendor, the columns they set, whether they name a data revision).
_update_sql: dict[tuple[str, tuple[str, ...], bool], tuple[str, list[Any]]] = {}


def update_claimed(customer_id: int, token: str, changes: dict[str, Any], *, data_revision: int | None = None) -> int:
    """``Customer.objects.filter(pk=..., claim_token=token[, data_revision=...]).update_sync_state(**changes)``,
    as one precompiled UPDATE: the rows written (0 if the claim, or the revision, is no longer ours).
    Changes holding database expressions go through the ORM."""
    if any(hasattr(value, "resolve_expression") for value in changes.values()):
        mine = Customer.objects.filter(pk=customer_id, claim_token=token)
        if data_revision is not None:
            mine = mine.filter(data_revision=data_revision)
        return mine.update_sync_state(**changes)
    alias = router.db_for_write(Customer)
    connection = connections[alias]
    key = (connection.vendor, tuple(changes), data_revision is not None)
    compiled = _update_sql.get(key)
    if compiled is None:
        compiled = _update_sql[key] = _build_update(connection, *key[1:])
    sql, fields = compiled
    params = [field.get_db_prep_save(changes[field.name], connection) for field in fields]
    params += [customer_id, token] if data_revision is None else [customer_id, token, data_revision]
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _build_update(connection: Any, names: tuple[str, ...], names_revision: bool) -> tuple[str, list[Any]]:
    meta = Customer._meta
    qn = connection.ops.quote_name
    concrete = {field.name: field for field in meta.concrete_fields}
    fields = [concrete[name] for name in names]
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(field.column)} = %s' for field in fields)} "
        f"WHERE {qn(meta.pk.column)} = %s AND {qn(concrete['claim_token'].column)} = %s"
    )
    if names_revision:
        sql += f" AND {qn(concrete['data_revision'].column)} = %s"
    return sql, fields
