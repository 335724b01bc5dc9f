"""Reading FluentCart back into Django: the pull.

FluentCart has no change feed (no webhooks; without Pro no filter on ``updated_at``), so a pull reads
every customer (one page per range of 199 ids, several in flight: ``iter_pages_in_parallel``), and
for each one:

- a **linked** row gets what FluentCart changed since the merge base, by the same merge as a push
  (``merge.py``); nothing is echoed back, and Django's own unsent edits stay owed;
- an **unlinked** local row with the same email (ignoring case) is linked, merged;
- a customer **only FluentCart has** becomes a local customer (``PULL_CREATES_CUSTOMERS``), synced,
  never pushed back;
- after a **complete** scan, a synced row whose FluentCart id was not seen, and that FluentCart
  answers 404 for, becomes ``missing_remote``. A scan that ended early proves nothing.

Each page costs one query to match its local rows; rows that did not change cost no write, and a
page of them opens no transaction; new customers are inserted in bulk. A row being pushed right
now, or edited since it was read, is left to its push. Memory stays flat: one page at a time per
worker, plus the set of ids seen.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from . import deletions, signals
from .acceptance import base_without, hold_back, refusal_message, refused_values
from .claims import add_conflicts
from .client import MAX_PER_PAGE, CustomerPage, FluentCartClient, get_client
from .commands_support import rows_by_key_ranges
from .conf import app_settings
from .exceptions import FluentCartError, FluentCartNotFound, FluentCartPayloadHookError, FluentCartUnexpectedAnswer
from .idset import IdSet
from .merge import (
    RECYCLED_ID_MESSAGE,
    is_other_customer,
    merge,
    merge_base,
    model_value,
    own_post_base,
    read_before,
    remote_record,
    same_fields,
    text,
)
from .models import PUSHED_MODEL_FIELDS, Customer, SyncStatus
from .payloads import build_payload, payload_fingerprint, purchase_figures

logger = logging.getLogger("fluentcart_sync.pull")

#: What each FluentCart customer led to (the summary's vocabulary).
UNCHANGED, UPDATED, LINKED, CREATED, BUSY, DUPLICATE, SKIPPED, DELETED_HERE = (
    "unchanged",
    "updated",
    "linked",
    "created",
    "busy",
    "duplicate_remote",
    "skipped",
    "deleted_here",  # a remembered deletion (deletions.py): never created or linked again
)

_DELETED_MESSAGE = (
    "This customer was deleted in FluentCart (a pull did not find it). Nothing was re-created automatically; "
    "use “Push to FluentCart” in the admin to create it again."
)


@dataclass
class PullSummary:
    counts: Counter = field(default_factory=Counter)
    conflicts: int = 0
    deleted_remotely: int = 0
    read: int = 0
    complete: bool = False
    error: str = ""
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def note(self, text: str) -> None:
        if len(self.notes) < 200:
            self.notes.append(text)


def pull(
    *,
    client: FluentCartClient | None = None,
    concurrency: int = 4,
    dry_run: bool = False,
    on_page: Callable[[CustomerPage], None] | None = None,
) -> PullSummary:
    """Read every FluentCart customer and bring Django up to date; see the module docstring."""
    concurrency = max(1, concurrency)
    client = client or get_client(pool_size=concurrency)
    summary = PullSummary()
    started = time.monotonic()
    scan_started_at = timezone.now()
    seen = IdSet()  # a bitmap: a million ids in about 125 KB
    try:
        for page in iter_pages_in_parallel(client, concurrency):
            apply_page(page.customers, summary, seen, dry_run=dry_run, client=client)
            summary.read += len(page.customers)
            if on_page is not None:
                on_page(page)
        summary.complete = True
    except FluentCartError as err:
        summary.error = f"Stopped after {summary.read} customers: {err}"
    if summary.complete:
        mark_deleted_remotely(client, seen, scan_started_at, summary, dry_run=dry_run)
    summary.elapsed = time.monotonic() - started
    return summary


def iter_pages_in_parallel(client: FluentCartClient, concurrency: int) -> Iterator[CustomerPage]:
    """Every FluentCart customer, oldest first, one page per range of ``MAX_PER_PAGE`` ids,
    ``concurrency`` requests in flight, yielded in id order: at most ``concurrency`` pages held at once.

    Why ranges: FluentCart pages with Laravel's paginator on MySQL, so ``page=N`` costs an ``OFFSET``
    of everything before it plus a ``COUNT(*)`` of the whole table, dearer the deeper the page (a
    million customers were read at a third of the rate of 100,000). ``search=id::A-B`` (contract
    §4.2) bounds both by the range: every request costs the same wherever it is in the table. A keyset
    scan (``search=id>N``) would bound the ``OFFSET`` but not the ``COUNT(*)`` (all ids above N), and it
    is sequential: each request needs the last id of the one before. Ranges are known up front, so
    they are read in parallel. Ids left by deleted customers cost empty or short pages, nothing more.

    The scan asks for the highest id first and reads the ranges below the one that holds it. That
    last range is read as a keyset instead, ``id>N`` from its start, page after page until an answer
    says nothing is left (``total`` no more than it returned): customers created during the scan get
    higher ids and are read too, as the page-number scan read them by following ``last_page``. Its
    ``COUNT(*)`` covers only the ids from there on. Each page's ``total`` is the number of customers
    FluentCart held when the scan began (what progress counts against), not that of its range.
    """
    newest = client.list_customers(per_page=1, ascending=False)
    store_total = newest.total
    if not newest.customers:
        yield newest  # an empty FluentCart: nothing to read; progress still learns the total (0)
        return
    highest = max(_ids_of(newest), default=0)
    # Ranges of MAX_PER_PAGE ids from 1, up to but not including the one that holds the highest id.
    last_range_start = highest - (highest - 1) % MAX_PER_PAGE if highest else 1
    ranges = [(low, low + MAX_PER_PAGE - 1) for low in range(1, last_range_start, MAX_PER_PAGE)]
    for page in _read_ranges_in_parallel(client, ranges, concurrency):
        yield replace(page, total=store_total)
    after = last_range_start - 1
    while True:
        search = f"id>{after}"
        page = client.list_customers(search=search)
        ids = _ids_of(page)
        if ids and min(ids) <= after:
            raise _ignored_filter(search, min(ids))
        yield replace(page, total=store_total)
        if not ids or page.total <= len(page.customers):
            return  # nothing was left past this page when FluentCart answered
        after = max(ids)


def _read_ranges_in_parallel(
    client: FluentCartClient, ranges: list[tuple[int, int]], concurrency: int
) -> Iterator[CustomerPage]:
    """One page per ``(low, high)`` id range, in the order given."""
    if concurrency == 1 or len(ranges) <= 1:
        for low, high in ranges:
            yield _read_range(client, low, high)
        return
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fluentcart-pull") as pool:
        pending: dict[int, Future] = {}
        next_to_submit = next_to_yield = 0
        while next_to_yield < len(ranges):
            while next_to_submit < len(ranges) and len(pending) < concurrency:
                pending[next_to_submit] = pool.submit(_read_range, client, *ranges[next_to_submit])
                next_to_submit += 1
            yield pending.pop(next_to_yield).result()
            next_to_yield += 1


def _read_range(client: FluentCartClient, low: int, high: int) -> CustomerPage:
    """The customers with ``low <= id <= high``: one page, as the range holds at most ``MAX_PER_PAGE`` ids.

    A host that dropped the filter would answer every range with the same first customers; the scan
    would look complete and every other customer deleted. So a customer outside the range stops it."""
    search = f"id::{low}-{high}"
    page = client.list_customers(search=search)
    for customer_id in _ids_of(page):
        if not low <= customer_id <= high:
            raise _ignored_filter(search, customer_id)
    return page


def _ids_of(page: CustomerPage) -> list[int]:
    """The ids on a page that carry one (a customer without is skipped later, by ``apply_page``)."""
    ids: list[int] = []
    for remote in page.customers:
        try:
            ids.append(int(remote["id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return ids


def _ignored_filter(search: str, customer_id: int) -> FluentCartUnexpectedAnswer:
    return FluentCartUnexpectedAnswer(
        f"FluentCart answered search={search} with customer {customer_id}: it did not apply the id filter, "
        "so the pull cannot tell which customers it read",
        status_code=200,
    )


def apply_page(
    customers: list[dict[str, Any]],
    summary: PullSummary,
    seen: IdSet,
    *,
    dry_run: bool = False,
    client: FluentCartClient | None = None,
) -> None:
    """Bring one page of FluentCart customers into Django: one query when none of them changed.
    ``client`` re-reads a record whose page may predate the row's base (same second)."""
    by_id: dict[int, dict[str, Any]] = {}
    for remote in customers:
        try:
            by_id[int(remote["id"])] = remote
        except (KeyError, TypeError, ValueError):
            summary.counts[SKIPPED] += 1
    seen.update(by_id)
    # Most of a pull is customers FluentCart has not changed: settle them from a few columns of their
    # linked rows (no model instances, no transaction: on SQLite an empty BEGIN IMMEDIATE would still
    # take the write lock). Only a page with something to do reads whole rows.
    settled = _unchanged_ids(by_id)
    summary.counts[UNCHANGED] += len(settled)
    if len(settled) == len(by_id):
        return
    emails = sorted(
        {text(remote.get("email")).lower() for remote_id, remote in by_id.items() if remote_id not in settled} - {""}
    )
    local: list[Customer] = list(
        Customer.objects.annotate(email_folded=Lower("email"), posted_folded=Lower("posted_email")).filter(
            Q(fluentcart_id__in=[remote_id for remote_id in by_id if remote_id not in settled])
            | Q(email_folded__in=emails)
            | Q(posted_folded__in=emails, fluentcart_id__isnull=True, outcome_unknown=True)
        )
    )
    linked: dict[int, Customer] = {row.fluentcart_id: row for row in local if row.fluentcart_id}
    by_email: dict[str, Customer] = {row.email.lower(): row for row in local}
    for unlinked in local:
        # A POST that got no answer, under an email changed since: what it created is this row's.
        if unlinked.fluentcart_id is None and unlinked.outcome_unknown and unlinked.posted_email:
            by_email.setdefault(unlinked.posted_email.lower(), unlinked)
    work: list[tuple[int, dict[str, Any], Customer | None]] = [
        (remote_id, remote, linked.get(remote_id)) for remote_id, remote in by_id.items() if remote_id not in settled
    ]
    # Customers deleted in Django are never created or linked again (one query, only if some are unlinked).
    remembered = deletions.remembered_among(
        (remote_id, text(remote.get("email"))) for remote_id, remote, row in work if row is None
    )
    to_create: list[Customer] = []
    creating: dict[str, int] = {}  # email -> the FluentCart id a new local customer is made from
    now = timezone.now()
    with transaction.atomic():
        for remote_id, remote, row in work:
            if row is not None and is_other_customer(remote_record(remote), row.remote_base):
                _forget_recycled_id(row, remote_id, summary, dry_run=dry_run)
                row = None  # the stranger is a FluentCart-only customer, or links by its email
            if row is not None:
                outcome = _refresh(row, remote, summary, now, dry_run=dry_run, client=client)
            elif remembered.holds(remote_id, text(remote.get("email")), text(remote.get("uuid"))):
                outcome = DELETED_HERE
            else:
                email = text(remote.get("email")).lower()
                row = by_email.get(email)
                if row is None and email in creating:
                    outcome = DUPLICATE
                    summary.note(
                        f"FluentCart customer {remote_id} has the email {remote.get('email')} of FluentCart customer "
                        f"{creating[email]}, created here from this pull: merge them in FluentCart."
                    )
                elif row is None:
                    outcome = _new_customer(remote, to_create, summary)
                    if outcome == CREATED:
                        creating[email] = remote_id
                elif row.fluentcart_id is None:
                    outcome = _link(row, remote, summary, now, dry_run=dry_run)
                    for key in (row.email.lower(), row.posted_email.lower()):  # its duplicates are not linked twice
                        by_email.pop(key, None)
                else:
                    outcome = DUPLICATE
                    summary.note(
                        f"FluentCart customer {remote_id} has the email {remote.get('email')} of FluentCart customer "
                        f"{row.fluentcart_id}, linked to local customer {row.pk}: merge them in FluentCart."
                    )
            summary.counts[outcome] += 1
        if to_create and not dry_run:
            _create_all(to_create, summary)


#: What deciding "unchanged" needs of a linked row (``purchase_figures`` names the last four).
_SETTLE_FIELDS = (
    "fluentcart_id",
    "sync_status",
    "remote_base",
    "purchase_count",
    "lifetime_value",
    "first_purchase_at",
    "last_purchase_at",
)


def _unchanged_ids(by_id: dict[int, dict[str, Any]]) -> set[int]:
    """The FluentCart ids whose linked row is in sync with what FluentCart answered: FluentCart has
    not saved the customer since the last sync, and its purchase figures are known. One query."""
    rows = Customer.objects.filter(fluentcart_id__in=list(by_id)).values(*_SETTLE_FIELDS)
    return {
        row["fluentcart_id"]
        for row in rows
        if row["sync_status"] != SyncStatus.MISSING_REMOTE
        and (row["remote_base"] or {}) == remote_record(by_id[row["fluentcart_id"]])
        and all(row[name] == value for name, value in purchase_figures(by_id[row["fluentcart_id"]]).items())
    }


def _refresh(
    row: Customer, remote: dict[str, Any], summary: PullSummary, now, *, dry_run: bool, client: FluentCartClient | None
) -> str:
    if row.claimed_until is not None and row.claimed_until > now:
        return BUSY  # its push reads FluentCart's record and merges it
    theirs = remote_record(remote)
    base = row.remote_base or {}
    if base and not same_fields(theirs, base):
        older = read_before(theirs, base)
        if older:
            return UNCHANGED  # a stale read: the page predates the row's base (a push recorded a newer one)
        if older is None and client is not None:
            # Saved in the same second as the base: the page cannot say which is newer; FluentCart can.
            try:
                remote = client.get_customer(int(remote["id"]))
            except FluentCartError as err:
                summary.note(f"Customer {row.pk} left for the next pull: {err}")
                return SKIPPED
            theirs = remote_record(remote)
            if is_other_customer(theirs, base):
                return SKIPPED  # reused meanwhile: the next pull sees the stranger as such
    purchases = purchase_figures(remote)
    payload = _payload(row, summary)
    if payload is None:
        return SKIPPED
    merge_from, record_fills = merge_base(row, theirs)
    merged = merge(payload, theirs, merge_from, record_fills=record_fills)
    refused = refused_values(row, merged.to_django)
    hold_back(merged, refused, payload, theirs)
    summary.conflicts += len(merged.conflicts)
    if dry_run:
        return UPDATED if merged.to_django else UNCHANGED
    changes = _synced_changes(row, payload, merged, theirs, purchases)
    if refused:
        changes.update(_refused_changes(refused, theirs, merge_from))
        summary.note(f"Customer {row.pk}: {changes['sync_error']}")
    if not _write(row, changes, conflicts=merged.conflicts, summary=summary):
        return BUSY
    return UPDATED if merged.to_django else UNCHANGED


def _refused_changes(refused: dict[str, str], theirs: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    """A row that cannot take what FluentCart changed needs a person; the rest of the pull is written."""
    return {
        "sync_status": SyncStatus.FAILED,
        "sync_error": refusal_message(refused),
        "sync_field_errors": {name: [reason] for name, reason in refused.items()},
        "synced_fingerprint": "",
        "remote_base": base_without(theirs, refused, base),
        "next_attempt_at": None,
    }


def _forget_recycled_id(row: Customer, remote_id: int, summary: PullSummary, *, dry_run: bool) -> None:
    """FluentCart's customer with this row's id is another one (another uuid): the row's own was
    deleted, and the id no longer links to it."""
    summary.deleted_remotely += 1
    summary.note(
        f"FluentCart customer {remote_id} is now another customer (the id was reused after a deletion): local "
        f"customer {row.pk} is marked deleted in FluentCart."
    )
    if dry_run:
        return
    Customer.objects.filter(pk=row.pk, fluentcart_id=remote_id).update_sync_state(
        fluentcart_id=None,
        sync_status=SyncStatus.MISSING_REMOTE,
        sync_error=RECYCLED_ID_MESSAGE.format(id=remote_id),
        synced_fingerprint="",
        remote_base={},
        remote_base_stamp="",
        next_attempt_at=None,
    )


def _link(row: Customer, remote: dict[str, Any], summary: PullSummary, now, *, dry_run: bool) -> str:
    if row.claimed_until is not None and row.claimed_until > now:
        return BUSY
    theirs = remote_record(remote)
    payload = _payload(row, summary)
    if payload is None:
        return SKIPPED
    # An unanswered POST of this row's own, found by its email: what it sent is the base.
    base, record_fills = own_post_base(row, theirs) if row.outcome_unknown else (None, False)
    merged = merge(payload, theirs, base, record_fills=record_fills)
    refused = refused_values(row, merged.to_django)
    hold_back(merged, refused, payload, theirs)
    summary.conflicts += len(merged.conflicts)
    if dry_run:
        return LINKED
    changes = _synced_changes(row, payload, merged, theirs, purchase_figures(remote))
    changes.update(
        fluentcart_id=int(remote["id"]),
        outcome_unknown=False,
        posted_email="",
        quarantine_until=None,
        unanswered_write={},
        sync_error="",
        sync_field_errors={},
        next_attempt_at=None,
    )
    if changes.get("sync_status") != SyncStatus.SYNCED:
        changes["sync_status"] = SyncStatus.PENDING  # linked, and Django has what FluentCart lacks: pushed next
    if refused:
        changes.update(_refused_changes(refused, theirs, base))
        summary.note(f"Customer {row.pk}: {changes['sync_error']}")
    written = _write(row, changes, unlinked=True, conflicts=merged.conflicts, summary=summary)
    return LINKED if written else BUSY


def _synced_changes(
    row: Customer, payload: dict[str, Any], merged, theirs: dict[str, Any], purchases: dict[str, Any]
) -> dict[str, Any]:
    """FluentCart's changes for Django, the new base, and the state: synced if both sides now hold
    the same, owed if Django still has something FluentCart lacks."""
    pulled = {name: model_value(name, value) for name, value in merged.to_django.items()}
    changes: dict[str, Any] = {**pulled, **purchases, "remote_base": theirs, "remote_base_stamp": uuid.uuid4().hex}
    if merged.to_fluentcart:
        if row.sync_status in (SyncStatus.SYNCED, SyncStatus.MISSING_REMOTE):
            changes.update(sync_status=SyncStatus.PENDING, next_attempt_at=None)
    else:
        changes.update(
            sync_status=SyncStatus.SYNCED,
            synced_fingerprint=payload_fingerprint({**payload, **merged.to_django}),
            synced_revision=row.data_revision,
            synced_at=timezone.now(),
            failing_since=None,
            outcome_unknown=False,  # a linked row: FluentCart holds it, no POST of it is in doubt
        )
    return changes


def _write(
    row: Customer,
    changes: dict[str, Any],
    *,
    unlinked: bool = False,
    conflicts: dict[str, Any] | None = None,
    summary: PullSummary | None = None,
) -> bool:
    """One conditional UPDATE: only if nobody edited or claimed the row since it was read, and its
    base is still the one merged against (a push that recorded a newer one is never reverted).
    A database that refuses the row (a constraint, a value it cannot store) is that row's failure."""
    now = timezone.now()
    rows = Customer.objects.filter(
        pk=row.pk, data_revision=row.data_revision, remote_base_stamp=row.remote_base_stamp
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if unlinked:
        rows = rows.filter(fluentcart_id__isnull=True)
    try:
        with transaction.atomic():
            written = bool(rows.update_sync_state(**changes))
    except IntegrityError as err:
        if unlinked:
            return False  # linked by a push a moment ago
        _record_refusal(row, err, summary)
        return False
    except DatabaseError as err:  # a value the database cannot store: this row's, not the page's
        _record_refusal(row, err, summary)
        return False
    if written:  # announced once the page's transaction commits
        if conflicts:
            add_conflicts(row.pk, conflicts, known_before=row.sync_conflicts or {})
        signals.announce_pull(row.pk, {name: changes[name] for name in PUSHED_MODEL_FIELDS if name in changes})
    return written


def _record_refusal(row: Customer, err: Exception, summary: PullSummary | None) -> None:
    message = f"The pull could not write FluentCart's changes to this customer: {type(err).__name__}: {err}"[:2000]
    if summary is not None:
        summary.note(f"Customer {row.pk}: {message}")
    with transaction.atomic():
        Customer.objects.filter(pk=row.pk, data_revision=row.data_revision).update_sync_state(
            sync_status=SyncStatus.FAILED, sync_error=message, next_attempt_at=None
        )


def _payload(row: Customer, summary: PullSummary) -> dict[str, Any] | None:
    """The row's payload, or None (noted) when the host's PAYLOAD_HOOK fails for it: the row is skipped."""
    try:
        return build_payload(row)
    except FluentCartPayloadHookError as err:
        summary.note(f"Customer {row.pk} skipped: {err}")
        return None


def _new_customer(remote: dict[str, Any], to_create: list[Customer], summary: PullSummary) -> str:
    if not app_settings.PULL_CREATES_CUSTOMERS:
        return SKIPPED
    theirs = remote_record(remote)
    customer = Customer(**{name: model_value(name, theirs.get(name)) for name in PUSHED_MODEL_FIELDS})
    customer.normalise()
    try:
        customer.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
    except ValidationError as err:
        details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in err.message_dict.items())
        summary.note(
            f"FluentCart customer {remote.get('id')} ({remote.get('email')}) skipped, not valid here: {details}"
        )
        return SKIPPED
    now = timezone.now()
    customer.fluentcart_id = int(remote["id"])
    customer.sync_status = SyncStatus.SYNCED
    customer.synced_at = now
    customer.synced_revision = customer.data_revision
    payload = _payload(customer, summary)
    if payload is None:
        return SKIPPED
    customer.synced_fingerprint = payload_fingerprint(payload)
    customer.remote_base = theirs
    for name, value in purchase_figures(remote).items():
        setattr(customer, name, value)
    to_create.append(customer)
    return CREATED


def _create_all(customers: list[Customer], summary: PullSummary) -> None:
    """Insert in bulk; if a row collides (created or linked meanwhile), insert one by one."""
    try:
        with transaction.atomic():
            Customer.objects.bulk_create(customers)
        return
    except IntegrityError:
        pass
    for customer in customers:
        try:
            with transaction.atomic():
                customer.pk = None
                Customer.objects.bulk_create([customer])
        except IntegrityError:
            summary.counts[CREATED] -= 1
            summary.counts[BUSY] += 1


#: Local primary keys per query of the search for customers deleted in FluentCart.
_DELETION_SCAN_CHUNK = 2000


def mark_deleted_remotely(
    client: FluentCartClient, seen: IdSet, scan_started_at, summary: PullSummary, *, dry_run: bool
) -> None:
    """After a complete scan: synced rows whose id was not seen, confirmed one by one (404), become
    ``missing_remote``. Rows synced during the scan are left alone (their id may be on a page read
    before they existed)."""
    # Walked by key ranges, the state compared here (``rows_by_key_ranges`` says why).
    rows = rows_by_key_ranges(Customer, "fluentcart_id", "sync_status", "synced_at", chunk_size=_DELETION_SCAN_CHUNK)
    for pk, fluentcart_id, status, synced_at in rows:
        if fluentcart_id is None or status != SyncStatus.SYNCED or fluentcart_id in seen:
            continue
        if synced_at is None or synced_at >= scan_started_at:
            continue  # synced during the scan: its id may be on a page read before it existed
        try:
            client.get_customer(fluentcart_id)
            continue  # there after all (the list shifted under the scan)
        except FluentCartNotFound:
            pass
        except FluentCartError as err:
            summary.note(f"Could not confirm that FluentCart customer {fluentcart_id} was deleted: {err}")
            continue
        summary.deleted_remotely += 1
        if not dry_run:
            Customer.objects.filter(pk=pk, fluentcart_id=fluentcart_id, sync_status=SyncStatus.SYNCED).update(
                sync_status=SyncStatus.MISSING_REMOTE, sync_error=_DELETED_MESSAGE, next_attempt_at=None
            )
