"""Answer an erasure request: delete a person here, anonymize (or delete) them in FluentCart, remember it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fluentcart_sync.client import get_client
from fluentcart_sync.deletions import DONE, apply_deletion, deleting_with, remember
from fluentcart_sync.exceptions import FluentCartError, FluentCartNotFound
from fluentcart_sync.models import OWED_DELETION_STATES, Customer, CustomerDeletion, DeletionState, OnDelete


class Command(BaseCommand):
    help = (
        "Erase a person: find EMAIL (ignoring case) here and in FluentCart, delete the local customer, anonymize "
        "the FluentCart customer (or delete it, with its orders, with --delete) and remember the deletion so no "
        "pull brings it back. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person's email, compared ignoring case.")
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Delete the FluentCart customer instead of anonymizing it. FluentCart deletes its orders too.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would happen; change nothing.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options):
        email = options["email"].strip()
        if "@" not in email:
            raise CommandError(f"{email!r} is not an email address.")
        action = OnDelete.DELETE if options["delete"] else OnDelete.ANONYMIZE
        local = list(Customer.objects.with_email(email).order_by("pk"))
        remote = self.find_in_fluentcart(email, local)
        # A FluentCart customer with this email that another local customer is linked to (its email
        # changed here since) is that customer's: erasing it here would be undone by its next push.
        owners = dict(
            Customer.objects.filter(fluentcart_id__in=[int(c["id"]) for c in remote])
            .exclude(pk__in=[c.pk for c in local])
            .values_list("fluentcart_id", "pk")
        )
        for customer in remote:
            if int(customer["id"]) in owners:
                owner = Customer.objects.get(pk=owners[int(customer["id"])])
                self.stderr.write(
                    f"FluentCart customer {customer['id']} has this email but belongs to local customer #{owner.pk} "
                    f"({owner.email}): left alone. Run fluentcart_erase {owner.email} if it is the same person."
                )
        remote = [customer for customer in remote if int(customer["id"]) not in owners]
        owed = list(
            CustomerDeletion.objects.filter(email=email.lower(), fluentcart_id__isnull=False)
            .exclude(fluentcart_id__in=[customer["id"] for customer in remote])
            .filter(state__in=[*OWED_DELETION_STATES, DeletionState.FAILED])
        )
        if not (local or remote or owed):
            if CustomerDeletion.objects.filter(email=email.lower()).exists():
                self.stdout.write(f"Nothing left to erase for {email}: its deletion is remembered and done.")
                return
            raise CommandError(f"Nobody with the email {email}: not in Django, not in FluentCart. Nothing was changed.")

        self.show_plan(email, local, remote, owed, action)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
            return
        if not options["yes"] and not self.confirmed():
            raise CommandError("Not confirmed: nothing was changed.")

        # Here first, in one transaction: the deletions are remembered before FluentCart is asked.
        with transaction.atomic(), deleting_with(action, queue=False):
            for customer in local:
                customer.delete()
            for customer in remote:
                remember(email, int(customer["id"]), action, fluentcart_uuid=str(customer.get("uuid") or ""))
        ids = set(
            CustomerDeletion.objects.filter(
                fluentcart_id__in=[int(c["id"]) for c in remote] + [c.fluentcart_id for c in local if c.fluentcart_id]
            )
            .filter(state__in=OWED_DELETION_STATES)
            .values_list("pk", flat=True)
        )
        ids |= {deletion.pk for deletion in owed}
        CustomerDeletion.objects.filter(pk__in=ids, state=DeletionState.FAILED).update(
            state=DeletionState.PENDING, action=action
        )
        self.carry_out(sorted(ids), email)

    def find_in_fluentcart(self, email: str, local: list[Customer]) -> list[dict]:
        """FluentCart's customers with this email, and the ones the local customers are linked to."""
        client = get_client()
        try:
            found = {int(c["id"]): c for c in client.find_by_email(email)}
            for customer in local:
                if customer.fluentcart_id and customer.fluentcart_id not in found:
                    try:
                        found[customer.fluentcart_id] = client.get_customer(customer.fluentcart_id)
                    except FluentCartNotFound:
                        pass
        except FluentCartError as err:
            raise CommandError(f"FluentCart could not be reached, so nothing was changed: {err}") from err
        return [found[key] for key in sorted(found)]

    def show_plan(self, email, local, remote, owed, action) -> None:
        self.stdout.write(f"Erasing {email}:")
        for customer in local:
            self.stdout.write(f"  Django: customer #{customer.pk} ({customer.email}) will be deleted.")
        if not local:
            self.stdout.write("  Django: no customer with this email.")
        for customer in remote:
            what = (
                "will be DELETED, with its orders"
                if action == OnDelete.DELETE
                else "will be anonymized (orders kept; email, names, address and notes replaced)"
            )
            purchases = customer.get("purchase_count") or "0"
            self.stdout.write(
                f"  FluentCart: customer {customer['id']} ({customer.get('email')}, {purchases} orders) {what}."
            )
        for deletion in owed:
            self.stdout.write(
                f"  FluentCart: customer {deletion.fluentcart_id}, deleted here before, is still owed its "
                f"{'deletion' if action == OnDelete.DELETE else 'anonymization'}."
            )
        if not (remote or owed):
            self.stdout.write("  FluentCart: no customer with this email.")
        self.stdout.write("  The deletion is remembered: no pull brings this customer back.")

    def confirmed(self) -> bool:
        try:
            answer = input("Type 'yes' to erase: ")
        except EOFError:
            return False
        return answer.strip().lower() == "yes"

    def carry_out(self, deletion_ids: list[int], email: str) -> None:
        client = get_client()
        unfinished = []
        for deletion_id in deletion_ids:
            result = apply_deletion(deletion_id, client=client)
            if result.outcome != DONE:
                unfinished.append(f"{result.outcome}: {result.error}" if result.error else result.outcome)
        if unfinished:
            raise CommandError(
                f"Deleted here and remembered, but FluentCart did not finish ({'; '.join(unfinished)}). It stays owed "
                f"(the sweep retries it); run `fluentcart_erase {email}` again to finish now."
            )
        self.stdout.write(self.style.SUCCESS(f"Erased {email}."))
