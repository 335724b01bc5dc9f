"""Pushing one customer: the decision (nothing, refuse, update, look up, create) and the requests.

One push, whoever asks for it (the post-save task, the admin, the backfill, the sweep):

1. **Claim** the row (``claims.claim_and_read``): two workers never push one customer at once, and
   since emails are unique locally this also serialises every POST of one email, which FluentCart
   itself does not (it has no unique index on email). The claim remembers what a create will POST.
2. **Decide** from the row as claimed, and **talk** to FluentCart. A POST is never re-sent blindly:
   after an answer that leaves the outcome unknown, the email that was POSTed is looked up first,
   and no new POST goes out until the first could no longer land (the quarantine). Every request
   ends before the claim's lease does (``client.bounded_by``).
3. **Record** the outcome (``claims.record``): ``synced`` only for the data revision that was sent.
   An edit saved meanwhile leaves the row owed, and the push goes round again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from . import circuit, deletions, outcome_log, signals
from .acceptance import base_without, hold_back, refusal_message, refused_values
from .claims import claim_and_read, link_collision_message, note_write, record, record_crash, remember_post
from .client import FluentCartClient, get_client
from .exceptions import (
    FluentCartAPIError,
    FluentCartConnectError,
    FluentCartDuplicateEmail,
    FluentCartError,
    FluentCartLookupRefused,
    FluentCartNotFound,
    FluentCartPayloadHookError,
    FluentCartRateLimited,
    FluentCartServerError,
    FluentCartTransportError,
    FluentCartValidationError,
)
from .merge import RECYCLED_ID_MESSAGE, is_other_customer, merge, merge_base, model_value, own_post_base, remote_record
from .models import Customer, SyncStatus
from .names import name_as_stored
from .outcomes import Outcome, PushResult
from .payloads import (
    PUSHED_FIELDS,
    build_payload,
    build_update_body,
    differing_fields,
    local_field_errors,
    payload_fingerprint,
    purchase_figures,
    same_value,
    summarise,
)

logger = logging.getLogger("fluentcart_sync.services")

#: An edit that lands during a push sends the push round again; after this many rounds the row is
#: left owed for the sweep (a customer edited non-stop must not hold a worker forever).
MAX_ROUNDS = 3


def push_customer(
    customer: Customer | int,
    *,
    client: FluentCartClient | None = None,
    recreate_missing: bool = False,
    claims: set[str] | None = None,
) -> PushResult:
    """Push one customer (create, link or update) and record the outcome on its row.

    Never raises for anything FluentCart, the network or the row does: the outcome is on the row
    and in the returned ``PushResult``. ``recreate_missing`` is a person's explicit decision to
    create a new FluentCart customer for a record whose remote customer was deleted there.
    ``claims``, when given, holds the tokens of claims in progress, so a batch that is aborted can
    release them.
    """
    customer_id = customer if isinstance(customer, int) else customer.pk
    client = client or get_client()
    for _ in range(MAX_ROUNDS):
        result = _push_once(customer_id, client, recreate_missing, claims)
        if not result.owed_again:
            return result
        recreate_missing = False  # the first round has re-created it, if that was asked
    return result


def _push_once(
    customer_id: int, client: FluentCartClient, recreate_missing: bool, claims: set[str] | None
) -> PushResult:
    if circuit.is_open():
        # FluentCart refuses our configuration: every push would fail alike. The row stays owed.
        return PushResult(Outcome.PAUSED, customer_id, error=circuit.state().reason, requested=False)
    claimed = claim_and_read(customer_id)  # held by another worker, or deleted: nothing to do
    if claimed is None:
        return PushResult(Outcome.BUSY, customer_id, requested=False)
    token, fresh = claimed
    if claims is not None:
        claims.add(token)
    try:
        try:
            with client.bounded_by(fresh.claimed_until):
                result = _decide_and_push(fresh, token, client, recreate_missing)
            recorded = record(fresh, token, result)
        except Exception as err:  # a bug, a database error: this row's failure, not the batch's
            return record_crash(fresh, token, err)
    finally:
        if claims is not None:
            claims.discard(token)
    outcome_log.count(result)  # the health page's and the metrics' figures, written in batches
    if recorded:
        signals.announce_push(result)  # receivers run once the outcome is on the row; they cannot break it
    elif result.fluentcart_id and result.outcome.succeeded:
        # The row was deleted while this push linked it: its deletion must know the id it acts on.
        deletions.adopt_pushed_id(customer_id, result.fluentcart_id)
    if result.configuration_error:
        try:
            circuit.open_circuit(result.error)
        except DatabaseError:  # the row says why already; the next refused push opens it
            logger.exception("Could not pause pushes after: %s", result.error)
    return result


def _decide_and_push(customer: Customer, token: str, client: FluentCartClient, recreate_missing: bool) -> PushResult:
    try:
        payload = build_payload(customer)
    except FluentCartPayloadHookError as err:  # the host's hook: a person must fix it
        return PushResult(Outcome.FAILED, customer.pk, error=str(err), revision=customer.data_revision, requested=False)
    fingerprint = payload_fingerprint(payload)
    common: dict[str, Any] = {
        "customer_id": customer.pk,
        "fingerprint": fingerprint,
        "revision": customer.data_revision,
    }

    if customer.fluentcart_id and customer.sync_status != SyncStatus.MISSING_REMOTE:
        if customer.synced_fingerprint == fingerprint:
            return PushResult(Outcome.UNCHANGED, fluentcart_id=customer.fluentcart_id, requested=False, **common)
    if customer.sync_status == SyncStatus.MISSING_REMOTE and not recreate_missing:
        return _missing_remote(customer.fluentcart_id, common, requested=False)
    errors = local_field_errors(customer)
    if errors:
        return PushResult(
            Outcome.FAILED,
            error=summarise("Fix the customer before pushing", errors),
            field_errors=errors,
            requested=False,
            **common,
        )

    recreating = customer.sync_status == SyncStatus.MISSING_REMOTE
    fluentcart_id = None if recreating else customer.fluentcart_id
    try:
        if fluentcart_id:
            waiting = _put_quarantine(customer, common)
            if waiting is not None:
                return waiting
            return _update(client, customer, fluentcart_id, payload, common, token=token)
        result = _create_or_link(client, customer, token, payload, common)
    except FluentCartError as err:
        result = _failure(err, common, outcome_unknown=customer.outcome_unknown)
        if fluentcart_id:
            return result
    # The FluentCart id a re-creation replaces is gone: whatever this attempt ended with, it is
    # never the id of this customer again (an "unchanged" answer must not find its old fingerprint).
    result.forget_id = recreating and not result.fluentcart_id
    return result


def _put_quarantine(customer: Customer, common: dict) -> PushResult | None:
    """An update that got no answer may still land: no newer PUT for this customer before the
    quarantine ends (it would be overwritten by the old one), and then a GET first."""
    if customer.quarantine_until is None:  # set by an unanswered PUT, or a crashed worker's claim
        return None
    if customer.quarantine_until <= timezone.now():
        return None
    return PushResult(
        Outcome.RETRY,
        fluentcart_id=customer.fluentcart_id,
        error="An earlier update of this customer got no answer and could still be applied by FluentCart; no new "
        f"one is sent before {customer.quarantine_until:%H:%M:%S} UTC, so it cannot overwrite a newer edit",
        not_before=customer.quarantine_until,
        requested=False,
        **common,
    )


def _create_or_link(
    client: FluentCartClient, customer: Customer, token: str, payload: dict[str, Any], common: dict
) -> PushResult:
    now = timezone.now()
    if customer.outcome_unknown:
        # An earlier POST may have landed, under the email it carried then: look before creating again.
        found = _link_existing(
            client, customer, customer.posted_email or payload["email"], payload, common, token=token
        )
        if found is not None:
            return found
        if customer.posted_email and not same_value("email", customer.posted_email, payload["email"]):
            found = _link_existing(client, customer, payload["email"], payload, common, token=token)
            if found is not None:
                return found
        if customer.quarantine_until and customer.quarantine_until > now:
            return PushResult(
                Outcome.RETRY,
                error="An earlier request to create this customer got no answer and could still be processed by "
                f"FluentCart; no new one is sent before {customer.quarantine_until:%H:%M:%S} UTC, so the customer "
                "is never created twice",
                not_before=customer.quarantine_until,
                outcome_unknown=True,
                **common,
            )
    # What the POST carries is remembered before it goes out (the claim remembered its email and
    # revision already): if no answer comes, the next attempt merges against what FluentCart got.
    if not remember_post(customer, token, payload["email"], customer.data_revision, remote_record(payload)):
        return PushResult(Outcome.BUSY, requested=False, **common)
    try:
        created = client.create_customer(payload)
    except FluentCartDuplicateEmail:
        found = _link_existing(client, customer, payload["email"], payload, common, own_post=False, token=token)
        if found is not None:
            return found
        return PushResult(
            Outcome.FAILED,
            error="FluentCart says this email already exists, but no customer with exactly this email "
            "was found in its search. Check the customer in FluentCart, then push again.",
            field_errors={"email": ["Email already exists in FluentCart."]},
            **common,
        )
    except (FluentCartTransportError, FluentCartServerError) as err:
        if isinstance(err, FluentCartConnectError) or not getattr(err, "may_have_reached_server", True):
            raise  # never reached the server: nothing was created
        # The POST may have created the customer (FluentCart even answers 500 after storing it).
        try:
            found = _link_existing(client, customer, payload["email"], payload, common, token=token)
            looked = True
        except FluentCartError:
            found, looked = None, False
        if found is not None:
            return found
        # FluentCart's own 500 means PHP finished with the request: not found now is not created.
        # No answer (or a proxy's 502/504) means it may still be running: look up again, and
        # send no new POST before the quarantine ends.
        finished = answered_by_fluentcart(err)
        result = _failure(err, common, outcome_unknown=not (finished and looked))
        result.posted = not finished
        result.settles_unknown = finished and looked
        return result
    renamed = name_as_stored(payload, created)  # FluentCart's split of the name is what the shop shows
    return PushResult(
        Outcome.CREATED,
        fluentcart_id=int(created["id"]),
        remote_base=remote_record(created),  # the create answer echoes what was sent
        pulled=renamed,
        **{**common, "fingerprint": payload_fingerprint({**payload, **renamed}) if renamed else common["fingerprint"]},
    )


def answered_by_fluentcart(err: FluentCartError) -> bool:
    """An error answer FluentCart itself gave (its JSON with a ``code``), not a proxy's or no answer."""
    return isinstance(err, FluentCartAPIError) and isinstance(err.body, dict) and "code" in err.body


def _link_existing(
    client: FluentCartClient,
    customer: Customer,
    email: str,
    payload: dict[str, Any],
    common: dict,
    *,
    own_post: bool = True,
    token: str = "",
) -> PushResult | None:
    """Link the FluentCart customer with this exact email, bringing it up to date if it differs.

    A FluentCart customer that another local customer already owns is never taken over. Where it
    may be our own unanswered POST (``own_post``), the merge's base is what that POST sent.
    """
    matches = client.find_by_email(email)
    if not matches:
        return None
    ids = [int(m["id"]) for m in matches]
    owners = dict(
        Customer.objects.filter(fluentcart_id__in=ids).exclude(pk=customer.pk).values_list("fluentcart_id", "pk")
    )
    free = [m for m in matches if int(m["id"]) not in owners]
    if not free:
        owner = Customer.objects.filter(pk=owners[ids[0]]).first()
        return PushResult(Outcome.FAILED, error=link_collision_message(customer, ids[0], owner), **common)
    remote = free[0]
    remote_id = int(remote["id"])
    duplicates = [i for i in ids if i != remote_id]
    warning = ""
    if duplicates:
        warning = (
            f"FluentCart holds {len(ids)} customers with this email ({', '.join(map(str, ids))}); linked {remote_id}. "
            f"Merge or delete the others in FluentCart: {', '.join(map(str, duplicates))}."
        )
        logger.warning("Customer %s (%s): %s", customer.pk, email, warning)
    try:
        result = _update(
            client, customer, remote_id, payload, common, remote=remote, link=True, own_post=own_post, token=token
        )
    except FluentCartError as err:
        # The PUT failed, and may have been applied (a new email, say): keep the id that was found,
        # so the next attempt updates it instead of looking up an email it may no longer hold.
        result = _failure(err, common, outcome_unknown=False)
        result.fluentcart_id, result.duplicates = remote_id, duplicates
        return result
    result.outcome = Outcome.LINKED if result.outcome.succeeded else result.outcome
    result.fluentcart_id = result.fluentcart_id or remote_id
    result.duplicates = duplicates
    if warning:
        result.error = f"{result.error} {warning}".strip()
    return result


def _update(
    client: FluentCartClient,
    customer: Customer,
    fluentcart_id: int,
    payload: dict[str, Any],
    common: dict,
    remote: dict[str, Any] | None = None,
    *,
    link: bool = False,
    own_post: bool = False,
    token: str = "",
) -> PushResult:
    """Bring FluentCart's record and Django's together by the merge (``merge.py``): PUT only what
    Django changed (or fills in), and hand back what FluentCart changed, to be copied into Django."""
    try:
        if remote is None:
            remote = client.get_customer(fluentcart_id)
        theirs = remote_record(remote)
        if not link and is_other_customer(theirs, customer.remote_base):
            return _recycled_id(fluentcart_id, common)
        if link:
            base, record_fills = own_post_base(customer, theirs) if own_post else (None, False)
        else:
            base, record_fills = merge_base(customer, theirs)
        merged = merge(payload, theirs, base, record_fills=record_fills)
        refused = refused_values(customer, merged.to_django)
        hold_back(merged, refused, payload, theirs)
        stored = remote
        if merged.to_fluentcart:
            body = build_update_body(merged.record, remote)
            note_write(customer, "PUT", remote_record({**remote, **merged.record}))
            try:
                stored = client.update_customer(fluentcart_id, body)
            except (FluentCartTransportError, FluentCartServerError) as err:
                if not _may_still_land(err):
                    raise
                # No answer: the PUT may still be applied. Quarantined like a POST, merged against next time.
                result = _failure(err, common, outcome_unknown=customer.outcome_unknown)
                result.fluentcart_id, result.posted = fluentcart_id, True
                return result
    except FluentCartNotFound:
        return _missing_remote(fluentcart_id, common)
    except FluentCartServerError as err:
        if err.fluentcart_code == 400:  # "Customer not found, please reload the page"
            return _missing_remote(fluentcart_id, common)
        raise
    except FluentCartDuplicateEmail as err:
        return PushResult(
            Outcome.FAILED,
            fluentcart_id=fluentcart_id,
            field_errors=err.field_errors,
            error="Another FluentCart customer already has this email. Change the email here, or merge the two "
            "customers in FluentCart, then push again.",
            **common,
        )
    renamed = name_as_stored(merged.record, stored) if merged.to_fluentcart and isinstance(stored, dict) else {}
    kept = _fields_not_stored(merged.record, stored) if merged.to_fluentcart else {}
    kept = {name: messages for name, messages in kept.items() if name not in renamed}
    if kept:
        return PushResult(
            Outcome.FAILED,
            fluentcart_id=fluentcart_id,
            field_errors=kept,
            error=summarise("FluentCart accepted the update but kept other values", kept),
            **common,
        )
    local_after = {**payload, **merged.to_django, **renamed}
    # The next merge base: FluentCart's record as it answered the PUT (it re-reads the row), or as read.
    next_base = remote_record(stored) if isinstance(stored, dict) and "email" in stored else theirs
    return PushResult(
        Outcome.UPDATED if merged.to_fluentcart else Outcome.UNCHANGED,
        fluentcart_id=fluentcart_id,
        pulled={name: model_value(name, value) for name, value in {**merged.to_django, **renamed}.items()},
        conflicts=merged.conflicts,
        remote_base=base_without(next_base, refused, base),
        purchases=purchase_figures(remote),
        refused=refused,
        error=refusal_message(refused) if refused else "",
        **{**common, "fingerprint": "" if refused else payload_fingerprint(local_after)},
    )


def _may_still_land(err: FluentCartError) -> bool:
    """No answer from FluentCart itself: a timeout, a dropped connection, a proxy's 5xx."""
    if isinstance(err, FluentCartTransportError):
        return bool(getattr(err, "may_have_reached_server", True))
    return not answered_by_fluentcart(err)


def _recycled_id(fluentcart_id: int, common: dict) -> PushResult:
    result = _missing_remote(None, common)
    result.error = RECYCLED_ID_MESSAGE.format(id=fluentcart_id)
    result.forget_id = True
    return result


def _fields_not_stored(payload: dict[str, Any], stored: dict[str, Any]) -> dict[str, list[str]]:
    """Check the PUT's answer (FluentCart re-reads the row): a customer linked to a WordPress user
    keeps its own email whatever the body says, and a field may come back changed or dropped."""
    if not isinstance(stored, dict) or "email" not in stored:
        return {}
    kept: dict[str, list[str]] = {}
    for name in differing_fields(payload, stored):
        if name not in stored:
            continue
        if name == "email":
            kept[name] = [
                f"FluentCart kept {stored['email']!r}: this customer is linked to a WordPress user, whose email "
                "FluentCart keeps. Change the email of the WordPress user (Users in wp-admin), or change it back here."
            ]
        elif name in PUSHED_FIELDS:
            kept[name] = [f"FluentCart stored {stored.get(name)!r} instead of {payload[name]!r}."]
    return kept


_MISSING_REMOTE_MESSAGE = (
    "This customer was deleted in FluentCart. Nothing was re-created automatically; use “Push to FluentCart” "
    "in the admin to create it again."
)


def _missing_remote(fluentcart_id: int | None, common: dict, *, requested: bool = True) -> PushResult:
    return PushResult(
        Outcome.MISSING_REMOTE,
        fluentcart_id=fluentcart_id,
        error=_MISSING_REMOTE_MESSAGE,
        requested=requested,
        **common,
    )


def _failure(err: FluentCartError, common: dict, *, outcome_unknown: bool) -> PushResult:
    """Sort a failure into retry-later, paused (configuration) or needs-a-person, with a message
    that says what to do."""
    if err.configuration:
        return PushResult(
            Outcome.PAUSED, error=str(err), configuration_error=True, outcome_unknown=outcome_unknown, **common
        )
    if isinstance(err, FluentCartValidationError):
        return PushResult(
            Outcome.FAILED,
            error=summarise("FluentCart rejected the customer", err.field_errors),
            field_errors=err.field_errors,
            outcome_unknown=outcome_unknown,
            **common,
        )
    if isinstance(err, FluentCartLookupRefused):
        return PushResult(
            Outcome.FAILED,
            error=str(err),
            field_errors={"email": [str(err)]},
            outcome_unknown=outcome_unknown,
            **common,
        )
    if isinstance(err, FluentCartRateLimited):
        return PushResult(
            Outcome.RETRY, error=str(err), retry_after=err.retry_after, outcome_unknown=outcome_unknown, **common
        )
    if err.transient:
        return PushResult(Outcome.RETRY, error=str(err), outcome_unknown=outcome_unknown, **common)
    if isinstance(err, FluentCartAPIError):
        return PushResult(Outcome.FAILED, error=str(err), outcome_unknown=outcome_unknown, **common)
    return PushResult(Outcome.RETRY, error=str(err), outcome_unknown=outcome_unknown, **common)
