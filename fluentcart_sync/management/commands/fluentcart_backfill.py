"""Push every customer that is not synced yet, whatever its next retry time."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from fluentcart_sync.batch import BatchAborted, BatchSummary, push_many
from fluentcart_sync.commands_support import Progress, iter_ids, iter_ids_with_values, iter_objects
from fluentcart_sync.conf import app_settings
from fluentcart_sync.limiter import AdaptiveLimit, limit_for
from fluentcart_sync.models import UNSYNCED_STATES, Customer, SyncStatus
from fluentcart_sync.receivers import auto_push_suppressed
from fluentcart_sync.services import customer_for_user


class Command(BaseCommand):
    help = (
        "Push every customer that is not synced to FluentCart (pending, waiting to retry, or failed). "
        "Running it again pushes nothing that is already synced."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--include-users", action="store_true", help="First create customers for existing users that have none."
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would be pushed; send no request.")
        parser.add_argument("--limit", type=int, default=None, metavar="N", help="Push at most N customers.")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            metavar="N",
            help="Exactly N requests in flight, never more. Default: as many as FluentCart answers well "
            "(fewer on 429, 5xx or slower answers), up to the MAX_CONCURRENCY setting.",
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            metavar="R",
            help="At most R requests started per second (protects shared hosts).",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=1000,
            metavar="N",
            help="Rows read from the database at a time (default 1000).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar or progress lines.")

    limit: object = None

    def handle(self, *args, **options):
        if options["limit"] is not None and options["limit"] < 0:
            raise CommandError("--limit must be zero or more.")
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        if options["rate"] is not None and options["rate"] <= 0:
            raise CommandError("--rate must be a positive number of requests per second.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")

        if options["include_users"]:
            self.create_customers_for_users(dry_run=options["dry_run"], show_progress=not options["no_progress"])

        unsynced = Customer.objects.unsynced()
        total = unsynced.count()
        if options["limit"] is not None:
            total = min(total, options["limit"])

        if options["dry_run"]:
            self.report_dry_run(unsynced, total, limited=options["limit"] is not None)
            return
        # Synced rows are never pushed (the walk skips them): counted here, so the summary's "already synced" is true.
        already_synced = Customer.objects.filter(sync_status=SyncStatus.SYNCED).count()

        progress = Progress(total, self.stdout, enabled=not options["no_progress"])
        self.limit = limit_for(options["concurrency"])
        try:
            summary = push_many(
                iter_ids_with_values(
                    Customer, "sync_status", UNSYNCED_STATES, chunk_size=options["chunk_size"], limit=options["limit"]
                ),
                limit=self.limit,
                rate=options["rate"],
                on_result=lambda result: progress.update(),
            )
        except BatchAborted as aborted:
            progress.close()
            self.write_summary(aborted.summary, "stopped")
            if aborted.summary.interrupted:
                self.stderr.write(f"{aborted} (claims released; run the backfill again to carry on).")
                raise SystemExit(130) from None
            raise CommandError(str(aborted)) from aborted
        progress.close()

        if summary.interrupted:
            self.write_summary(summary, "interrupted")
            self.stderr.write("Interrupted: no new customers taken; run the backfill again to carry on.")
            raise SystemExit(130)
        self.write_summary(summary, "finished", already_synced=already_synced)
        if summary.configuration_error:
            raise CommandError(f"Stopped: {summary.configuration_error}")
        if summary.failed or summary.owed:
            # Exit 1 whenever a customer is not in FluentCart yet, even one the sweep will retry by
            # itself: cron and CI must not read "FluentCart is down" as success.
            raise CommandError(
                f"{summary.failed + summary.owed} customers did not sync "
                f"({summary.failed} failed or deleted in FluentCart, {summary.owed} left to retry); see their error "
                "in the admin (FluentCart sync › Customers, filtered by sync status)."
            )

    def write_summary(self, summary: BatchSummary, how: str, *, already_synced: int = 0) -> None:
        counts = summary.counts
        self.stdout.write(
            f"Backfill {how} in {summary.elapsed:.1f}s: {summary.pushed} pushed "
            f"({counts['created']} created, {counts['linked']} linked, {counts['updated']} updated), "
            f"{already_synced + counts['unchanged']} already synced, {counts['retry']} to retry, {counts['failed']} failed, "
            f"{counts['missing_remote']} deleted in FluentCart, {counts['busy']} busy elsewhere"
            + (f", {counts['paused']} paused (FluentCart refuses the configuration)" if counts["paused"] else "")
            + "."
        )
        if isinstance(self.limit, AdaptiveLimit):
            self.stdout.write(
                f"Requests in flight: found {self.limit.current} at the end (at most {self.limit.peak}; "
                f"--concurrency N fixes it)."
            )

    def create_customers_for_users(self, *, dry_run: bool, show_progress: bool) -> None:
        User = get_user_model()
        users = User.objects.filter(fluentcart_customer__isnull=True).exclude(email="")
        if not app_settings.INCLUDE_STAFF_USERS:  # as customer_for_user skips them in the real run
            fields = {f.name for f in User._meta.get_fields()}
            for flag in ("is_staff", "is_superuser"):
                if flag in fields:
                    users = users.exclude(**{flag: True})
        total = users.count()
        if dry_run:
            self.stdout.write(f"Would create customers for up to {total} users without one.")
            return
        created = 0
        progress = Progress(total, self.stdout, label="users", enabled=show_progress)
        # The backfill pushes these itself, concurrently, right after: no push per save.
        with auto_push_suppressed():
            for user in iter_objects(users):
                if customer_for_user(user) is not None:
                    created += 1
                progress.update()
        progress.close()
        skipped = total - created
        self.stdout.write(
            f"Created or linked customers for {created} users"
            + (f" ({skipped} skipped: staff, or their email belongs to another user's customer)." if skipped else ".")
        )

    def report_dry_run(self, unsynced, total: int, *, limited: bool) -> None:
        # With --limit, the breakdown is of the rows the real run would push (the first N by key).
        chosen = unsynced.filter(pk__in=list(iter_ids(unsynced, limit=total))) if limited else unsynced
        to_create = chosen.filter(fluentcart_id__isnull=True).count()
        to_update = chosen.filter(fluentcart_id__isnull=False).count()
        self.stdout.write(
            f"Dry run: {total} customers would be pushed "
            f"({to_create} without a FluentCart id: looked up by email or created; "
            f"{to_update} with one: updated). No request was sent."
        )
        for customer in unsynced.order_by("pk")[: min(total, 20)]:
            self.stdout.write(f"  {customer.pk}: {customer.email} [{customer.sync_status}]")
