"""Import the customers a FluentCart store already has into local Customer rows.

Walks FluentCart's list oldest first (199 per page, the most it serves) and, for each customer:
links the local row with the same email (ignoring case) instead of creating a second one, or
creates a local row marked synced. Imported rows carry the fingerprint of what FluentCart holds, so
nothing is pushed back; a linked row whose local data differs is left owing a push (the backfill
sends the local version). Saves never queue a push here. Running it again changes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from fluentcart_sync.client import get_client
from fluentcart_sync.commands_support import Progress
from fluentcart_sync.exceptions import FluentCartError
from fluentcart_sync.models import Customer, CustomerStatus, SyncStatus
from fluentcart_sync.receivers import auto_push_suppressed
from fluentcart_sync.services import build_payload, payload_fingerprint, remote_differs

#: What each remote customer led to (the summary's vocabulary).
CREATED, LINKED, LINKED_DIFFERS, ALREADY, DUPLICATE, SKIPPED = (
    "created",
    "linked",
    "linked_differs",
    "already_linked",
    "duplicate_remote",
    "skipped",
)


class Command(BaseCommand):
    help = (
        "Import FluentCart's existing customers into local Customer rows, linking by email (ignoring case) "
        "to customers already here instead of duplicating them. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Read FluentCart and report; write nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar or progress lines.")

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        client = get_client(pool_size=1)
        counts: Counter[str] = Counter()
        notes: list[str] = []
        progress = None
        page_number, read = 1, 0
        try:
            for page in client.iter_pages():  # pages 1, 2, ... in order, as page_number counts
                if progress is None:
                    progress = Progress(
                        page.total, self.stdout, label="FluentCart customers", enabled=not options["no_progress"]
                    )
                for remote in page.customers:
                    outcome, note = import_one(remote, dry_run=dry_run)
                    counts[outcome] += 1
                    if note:
                        notes.append(note)
                    progress.update()
                read += len(page.customers)
                page_number += 1
        except FluentCartError as err:
            raise CommandError(
                f"Stopped after {read} customers, reading page {page_number}: {err}. "
                "Nothing read so far is lost; run the import again (it is safe to repeat)."
            ) from err
        finally:
            if progress is not None:
                progress.close()

        for note in notes[:50]:
            self.stdout.write(f"  {note}")
        if len(notes) > 50:
            self.stdout.write(f"  ... and {len(notes) - 50} more")
        verb = "Dry run, nothing written: would have" if dry_run else "Import finished:"
        self.stdout.write(
            f"{verb} read {read} FluentCart customers: {counts[CREATED]} created, "
            f"{counts[LINKED] + counts[LINKED_DIFFERS]} linked to existing local customers by email "
            f"({counts[LINKED_DIFFERS]} of them differ locally and are left to push), {counts[ALREADY]} already linked, "
            f"{counts[DUPLICATE]} duplicate emails in FluentCart, {counts[SKIPPED]} skipped."
        )
        if counts[LINKED_DIFFERS] and not dry_run:
            self.stdout.write(
                "Run `manage.py fluentcart_backfill` to send the local version of the differing customers."
            )


def import_one(remote: dict[str, Any], *, dry_run: bool) -> tuple[str, str]:
    """Link or create the local row for one FluentCart customer; (outcome, note for a person)."""
    remote_id = int(remote["id"])
    email = str(remote.get("email") or "").strip()
    if Customer.objects.filter(fluentcart_id=remote_id).exists():
        return ALREADY, ""
    local = Customer.objects.with_email(email).first() if email else None
    if local is not None:
        if local.fluentcart_id:
            return DUPLICATE, (
                f"FluentCart customer {remote_id} has the email {email} of FluentCart customer "
                f"{local.fluentcart_id}, already linked to local customer {local.pk}: merge them in FluentCart."
            )
        return _link(local, remote, dry_run=dry_run)
    customer = _from_remote(remote)
    try:
        customer.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
    except ValidationError as err:
        details = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in err.message_dict.items())
        return SKIPPED, f"FluentCart customer {remote_id} ({email}) skipped, not valid here: {details}"
    if dry_run:
        return CREATED, ""
    now = timezone.now()
    customer.fluentcart_id = remote_id
    customer.sync_status = SyncStatus.SYNCED
    customer.synced_at = now
    customer.synced_fingerprint = payload_fingerprint(build_payload(customer))
    try:
        with transaction.atomic(), auto_push_suppressed():
            customer.save()
    except IntegrityError:  # created or linked by someone else a moment ago
        return ALREADY, ""
    return CREATED, ""


def _link(local: Customer, remote: dict[str, Any], *, dry_run: bool) -> tuple[str, str]:
    remote_id = int(remote["id"])
    payload = build_payload(local)
    differs = remote_differs(payload, remote)
    if dry_run:
        return (LINKED_DIFFERS if differs else LINKED), ""
    changes: dict[str, Any] = {"fluentcart_id": remote_id, "outcome_unknown": False}
    if differs:
        # Django's record is the one pushed: leave it owing a push, now as an update of this id.
        changes.update(sync_status=SyncStatus.PENDING, next_attempt_at=None)
    else:
        changes.update(
            sync_status=SyncStatus.SYNCED,
            synced_fingerprint=payload_fingerprint(payload),
            synced_at=timezone.now(),
            sync_error="",
            sync_field_errors={},
            next_attempt_at=None,
        )
    try:
        # Conditional: a push that linked this row meanwhile wins, and a row being pushed is left alone.
        written = Customer.objects.filter(pk=local.pk, fluentcart_id__isnull=True, claimed_until__isnull=True).update(
            **changes
        )
    except IntegrityError:
        written = 0
    if not written:
        return ALREADY, f"Local customer {local.pk} ({local.email}) was being pushed; run the import again to check it."
    return (LINKED_DIFFERS if differs else LINKED), ""


def _from_remote(remote: dict[str, Any]) -> Customer:
    def text(name: str) -> str:
        value = remote.get(name)
        return str(value).strip() if value is not None else ""

    status = text("status")
    return Customer(
        email=text("email"),
        full_name=text("full_name"),
        first_name=text("first_name"),
        last_name=text("last_name"),
        status=status if status in CustomerStatus.values else CustomerStatus.ACTIVE,
        country=text("country"),
        city=text("city"),
        state=text("state"),
        postcode=text("postcode"),
        notes=text("notes"),
    )
