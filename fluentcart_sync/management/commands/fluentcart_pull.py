"""Bring FluentCart's changes into Django: read every FluentCart customer and merge, link or create."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fluentcart_sync.commands_support import Progress
from fluentcart_sync.pull import (
    BUSY,
    CREATED,
    DELETED_HERE,
    DUPLICATE,
    LINKED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    PullSummary,
    pull,
)
from fluentcart_sync.runs import record_pull


class Command(BaseCommand):
    help = (
        "Read every FluentCart customer and bring Django up to date: FluentCart's edits are merged into linked "
        "customers (nothing is pushed back), customers with the same email are linked, customers only FluentCart "
        "has are created here, and customers deleted in FluentCart are marked so. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Read FluentCart and report; write nothing.")
        parser.add_argument("--concurrency", type=int, default=4, metavar="N", help="Pages read at once (default 4).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar or progress lines.")

    def handle(self, *args, **options):
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        progress: Progress | None = None

        def on_page(page) -> None:
            nonlocal progress
            if progress is None:
                progress = Progress(
                    page.total, self.stdout, label="FluentCart customers", enabled=not options["no_progress"]
                )
            progress.update(len(page.customers))

        try:
            summary = pull(concurrency=options["concurrency"], dry_run=options["dry_run"], on_page=on_page)
        finally:
            if progress is not None:
                progress.close()
        self.report(summary, dry_run=options["dry_run"])
        if not options["dry_run"]:
            record_pull(summary)
        if summary.error:
            raise CommandError(
                f"{summary.error}. Nothing read so far is lost, and no customer was marked deleted (that needs a "
                "complete scan); run the pull again."
            )
        if summary.notes and not options["dry_run"]:
            # Every note is a customer the pull could not settle: a duplicate in FluentCart, a record
            # not valid here, a deletion it could not confirm. Each needs a person.
            raise CommandError(f"{len(summary.notes)} FluentCart customers need a person; see the lines above.")

    def report(self, summary: PullSummary, *, dry_run: bool) -> None:
        for note in summary.notes[:50]:
            self.stdout.write(f"  {note}")
        if len(summary.notes) > 50:
            self.stdout.write(f"  ... and {len(summary.notes) - 50} more")
        counts = summary.counts
        verb = "Dry run, nothing written: would have" if dry_run else f"Pull finished in {summary.elapsed:.1f}s:"
        self.stdout.write(
            f"{verb} read {summary.read} FluentCart customers: {counts[LINKED]} linked, {counts[UPDATED]} updated, "
            f"{counts[CREATED]} created, {summary.conflicts} conflicts, {summary.deleted_remotely} deleted remotely, "
            f"{counts[UNCHANGED]} unchanged, {counts[BUSY]} being pushed (left to their push), "
            f"{counts[DUPLICATE]} duplicate emails in FluentCart, {counts[SKIPPED]} skipped"
            + (
                f", {counts[DELETED_HERE]} deleted here (remembered: not brought back)."
                if counts[DELETED_HERE]
                else "."
            )
        )
