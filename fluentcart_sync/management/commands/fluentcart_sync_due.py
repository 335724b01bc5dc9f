"""The sweep: find every customer owed a push and get it pushed, so a lost task never drops one.

Without ``--run`` it queues the owed ids in chunks (``push_customers_task``), so that any number of
workers drain a backlog at the backfill's speed; ``--status`` says how much is owed and since when.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from fluentcart_sync import circuit
from fluentcart_sync.batch import BatchAborted, push_many
from fluentcart_sync.client import get_client
from fluentcart_sync.commands_support import iter_ids
from fluentcart_sync.deletions import DONE, FAILED, RETRY, apply_deletion, due_deletions
from fluentcart_sync.models import OWED_DELETION_STATES, Customer, CustomerDeletion, DeletionState, SyncStatus
from fluentcart_sync.pull import pull
from fluentcart_sync.tasks import chunked, enqueue_deletion, enqueue_push_chunk


def due_customers(*, pending_grace_seconds: float = 60):
    """Pending records older than the grace period (their own task has had its chance), records
    whose retry time has come, and records whose worker's claim expired."""
    now = timezone.now()
    return Customer.objects.filter(
        Q(sync_status=SyncStatus.PENDING, updated_at__lte=now - timedelta(seconds=pending_grace_seconds))
        | Q(sync_status=SyncStatus.RETRYING, next_attempt_at__lte=now)
        | Q(claimed_until__lt=now)
    )


class Command(BaseCommand):
    help = "Queue (or with --run, push) every customer that is pending or due for a retry. Cron- and worker-friendly."

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="Push here and now instead of queueing tasks.")
        parser.add_argument("--concurrency", type=int, default=2, metavar="N", help="With --run: requests in flight.")
        parser.add_argument(
            "--grace",
            type=float,
            default=60,
            metavar="SECONDS",
            help="Leave pending records younger than this to their own task (default 60).",
        )
        parser.add_argument(
            "--status",
            action="store_true",
            help="Only say what is owed (by state, the oldest owed push) and how long the task queue is.",
        )
        parser.add_argument(
            "--loop",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Sweep again every SECONDS until stopped, instead of once.",
        )
        parser.add_argument(
            "--pull-every",
            type=float,
            default=None,
            metavar="SECONDS",
            help="With --loop: also pull FluentCart's changes (fluentcart_pull) every SECONDS.",
        )

    def handle(self, *args, **options):
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        if options["status"]:
            self.status(options)
            return
        if options["loop"] is None:
            self.sweep(options)
            return
        if options["loop"] <= 0:
            raise CommandError("--loop must be a positive number of seconds.")
        if options["pull_every"] is not None and options["pull_every"] <= 0:
            raise CommandError("--pull-every must be a positive number of seconds.")
        next_pull = time.monotonic()
        while True:
            try:
                self.sweep(options)
            except Exception as err:
                # A worker loop outlives a bad sweep (FluentCart down, credentials being rotated, the
                # database restarting): say so and try again next round.
                self.stderr.write(f"Sweep failed: {err}")
            if options["pull_every"] is not None and time.monotonic() >= next_pull:
                next_pull = time.monotonic() + options["pull_every"]
                self.pull()
            close_old_connections()  # a long-lived process must not keep a dead connection
            time.sleep(options["loop"])

    def pull(self) -> None:
        """FluentCart's changes, deletions and new customers into Django (see fluentcart_pull)."""
        if circuit.is_open():
            return  # FluentCart refuses the configuration: the sweep's probe says when it is back
        try:
            summary = pull()
        except Exception as err:
            self.stderr.write(f"Pull failed: {err}")
            return
        counts = summary.counts
        self.stdout.write(
            f"Pulled {summary.read} FluentCart customers: {counts['linked']} linked, {counts['updated']} updated, "
            f"{counts['created']} created, {summary.conflicts} conflicts, {summary.deleted_remotely} deleted remotely."
        )
        if summary.error:
            self.stderr.write(f"Pull incomplete: {summary.error}")

    def sweep(self, options) -> None:
        circuit.forget_cached_state()
        if circuit.is_open():
            # Pushes are paused: one request tells whether FluentCart accepts us again.
            if not circuit.probe(get_client()):
                self.stdout.write(f"Pushes paused, FluentCart still refuses: {circuit.state().reason}")
                return
            self.stdout.write("FluentCart answers again: pushes resumed.")
        self.sweep_deletions(options)
        ids = iter_ids(due_customers(pending_grace_seconds=options["grace"]))
        if options["run"]:
            try:
                summary = push_many(ids, concurrency=options["concurrency"])
            except BatchAborted as aborted:
                raise CommandError(str(aborted)) from aborted
            self.stdout.write(
                f"Swept {summary.total} customers: {summary.pushed} pushed, "
                f"{summary.counts['retry']} to retry, {summary.counts['failed']} failed."
            )
            if summary.configuration_error:
                raise CommandError(f"Stopped: {summary.configuration_error}")
            return
        queued = refused = tasks = 0
        for chunk in chunked(ids):
            if enqueue_push_chunk(chunk):
                queued += len(chunk)
                tasks += 1
            else:
                refused += len(chunk)
        self.stdout.write(
            f"Queued {queued} customers for a push in {tasks} task{'' if tasks == 1 else 's'}"
            + (f"; the queue refused {refused}." if refused else ".")
        )
        if refused:
            raise CommandError("The task queue refused some pushes; they stay due and the next sweep tries again.")

    def sweep_deletions(self, options) -> None:
        """Deletions owed to FluentCart (``ON_DELETE``) whose task was lost or whose retry is due."""
        ids = list(iter_ids(due_deletions(pending_grace_seconds=options["grace"])))
        if not ids:
            return
        if options["run"]:
            client = get_client()
            outcomes = Counter(apply_deletion(deletion_id, client=client).outcome for deletion_id in ids)
            self.stdout.write(
                f"Swept {len(ids)} deletions: {outcomes[DONE]} done in FluentCart, {outcomes[RETRY]} to retry, "
                f"{outcomes[FAILED]} failed."
            )
            return
        queued = sum(1 for deletion_id in ids if enqueue_deletion(deletion_id))
        self.stdout.write(f"Queued {queued} deletions for FluentCart.")

    def status(self, options) -> None:
        """What to watch while workers drain a backlog: what is owed, since when, and the queue."""
        now = timezone.now()
        owed = Customer.objects.filter(sync_status__in=[SyncStatus.PENDING, SyncStatus.RETRYING])
        counts = dict(owed.values_list("sync_status").annotate(n=Count("pk")).order_by())
        due = due_customers(pending_grace_seconds=options["grace"]).count()
        oldest = owed.aggregate(since=Min(Coalesce("next_attempt_at", "updated_at")))["since"]
        held = Customer.objects.filter(claimed_until__gte=now).count()
        failed = Customer.objects.filter(sync_status=SyncStatus.FAILED).count()
        waiting = f"{(now - oldest).total_seconds():.0f}s" if oldest is not None and oldest <= now else "none"
        length = queue_length()
        self.stdout.write(
            f"Owed: {counts.get(SyncStatus.PENDING, 0)} pending, {counts.get(SyncStatus.RETRYING, 0)} retrying "
            f"({due} due now); oldest owed push waiting {waiting}; {held} being pushed; {failed} failed; "
            f"task queue: {'unknown' if length is None else length} tasks waiting."
        )
        deletions = dict(
            CustomerDeletion.objects.filter(state__in=[*OWED_DELETION_STATES, DeletionState.FAILED])
            .values_list("state")
            .annotate(n=Count("pk"))
            .order_by()
        )
        if deletions:
            self.stdout.write(
                f"Deletions owed to FluentCart: {deletions.get(DeletionState.PENDING, 0)} pending, "
                f"{deletions.get(DeletionState.RETRYING, 0)} retrying; {deletions.get(DeletionState.FAILED, 0)} failed."
            )
        if circuit.is_open():
            self.stdout.write(f"Pushes paused: {circuit.state().reason}")


def queue_length() -> int | None:
    """Tasks waiting in the push tasks' queue, for the two production backends; None for others."""
    from fluentcart_sync.conf import app_settings
    from fluentcart_sync.tasks import task_backends

    try:
        backend = task_backends[app_settings.TASK_BACKEND]
        name = type(backend).__module__
        if name.startswith("django_tasks_db"):
            from django_tasks_db.models import DBTaskResult

            return DBTaskResult.objects.ready().filter(backend_name=backend.alias).count()
        if name.startswith("django_tasks_rq"):
            import django_rq

            return sum(django_rq.get_queue(queue).count for queue in backend.queues)
    except Exception:  # the status line must not fail because the queue cannot be asked
        return None
    return None
