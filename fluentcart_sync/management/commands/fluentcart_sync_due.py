"""The sweep: find every customer owed a push and get it pushed, so a lost task never drops one.

Without ``--run`` it queues the owed ids in chunks (``push_customers_task``), so that any number of
workers drain a backlog at the backfill's speed; ``--status`` says how much is owed and since when.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.db.models import Count, Q
from django.utils import timezone

from fluentcart_sync import circuit, recovery
from fluentcart_sync.batch import BatchAborted, push_many
from fluentcart_sync.client import get_client
from fluentcart_sync.commands_support import iter_ids
from fluentcart_sync.deletions import DONE, FAILED, RETRY, apply_deletion, due_deletions
from fluentcart_sync.health import status_snapshot
from fluentcart_sync.models import OWED_DELETION_STATES, Customer, CustomerDeletion, DeletionState, SyncRun, SyncStatus
from fluentcart_sync.pull import pull
from fluentcart_sync.runs import record as record_run
from fluentcart_sync.runs import record_pull, recorded_run
from fluentcart_sync.tasks import chunked, enqueue_deletion, enqueue_push_chunk


def due_customers(*, pending_grace_seconds: float = 60):
    """Pending records older than the grace period (their own task has had its chance), records
    whose retry time has come, records that failed before FluentCart last answered (an outage that
    is over: ``recovery.py``), and records whose worker's claim expired."""
    now = timezone.now()
    return Customer.objects.filter(
        Q(sync_status=SyncStatus.PENDING, updated_at__lte=now - timedelta(seconds=pending_grace_seconds))
        | Q(sync_status=SyncStatus.RETRYING, next_attempt_at__lte=now)
        | recovery.recovered(now, recovery.answered_at())
        | Q(claimed_until__lt=now)
    )


class Command(BaseCommand):
    help = "Queue (or with --run, push) every customer that is pending or due for a retry. Cron- and worker-friendly."

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="Push here and now instead of queueing tasks.")
        parser.add_argument("--concurrency", type=int, default=2, metavar="N", help="With --run: requests in flight.")
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            metavar="R",
            help="With --run: at most R requests started per second (spreads the rows an outage held back).",
        )
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
        parser.add_argument("--json", action="store_true", help="With --status: one JSON object, for scripts.")
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
        if options["rate"] is not None and options["rate"] <= 0:
            raise CommandError("--rate must be a positive number of requests per second.")
        if options["json"] and not options["status"]:
            raise CommandError("--json goes with --status.")
        if options["status"]:
            self.status(options)
            return
        self.quiet_when_idle = options["loop"] is not None
        self.last_paused_message = ""
        if options["loop"] is None:
            unfinished = self.sweep(options)
            if unfinished:
                # 0 only when everything owed and due was pushed: cron must see the rest.
                raise CommandError(unfinished)
            return
        if options["loop"] <= 0:
            raise CommandError("--loop must be a positive number of seconds.")
        if options["pull_every"] is not None and options["pull_every"] <= 0:
            raise CommandError("--pull-every must be a positive number of seconds.")
        next_pull = time.monotonic()
        self.stdout.write(
            f"Sweeping every {options['loop']:g} s; a round with nothing to do says nothing (its last result is "
            "on the admin's Sync health page)."
        )
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
        started = time.monotonic()
        try:
            summary = pull()
        except Exception as err:
            record_run(
                SyncRun.PULL, ok=False, result=f"{type(err).__name__}: {err}", duration=time.monotonic() - started
            )
            self.stderr.write(f"Pull failed: {err}")
            return
        record_pull(summary)
        counts = summary.counts
        self.stdout.write(
            f"Pulled {summary.read} FluentCart customers: {counts['linked']} linked, {counts['updated']} updated, "
            f"{counts['created']} created, {summary.conflicts} conflicts, {summary.deleted_remotely} deleted remotely."
        )
        if summary.error:
            self.stderr.write(f"Pull incomplete: {summary.error}")

    def say(self, message: str, *, news: bool = True) -> None:
        """A line of the sweep's log; in a loop, a round with nothing to do says nothing."""
        if news or not self.quiet_when_idle:
            self.stdout.write(message)

    def sweep(self, options) -> str:
        """One round, recorded for the health page. Returns what is left undone ("" if nothing)."""
        with recorded_run(SyncRun.SWEEP) as run:
            run.result = self.sweep_once(options)
            unfinished = run.result if run.result.startswith("!") else ""
            run.ok = not unfinished
            run.result = run.result.lstrip("!")
        return unfinished.lstrip("!")

    def sweep_once(self, options) -> str:
        """Returns the round's result; one starting with "!" is something left undone."""
        circuit.forget_cached_state()
        if circuit.is_open():
            # Pushes are paused: one request tells whether FluentCart accepts us again.
            if not circuit.probe(get_client()):
                message = f"Pushes paused, FluentCart still refuses: {circuit.state().reason}"
                self.say(message, news=message != self.last_paused_message)
                self.last_paused_message = message
                return f"!{message}"
            self.last_paused_message = ""
            self.stdout.write("FluentCart answers again: pushes resumed.")
        else:
            answered = recovery.probe_if_waiting(get_client())
            if answered:
                # Rows wait on a backoff that an outage stretched: FluentCart is back, so they are due now.
                self.stdout.write("FluentCart answers again: every customer waiting to retry is due now.")
            elif answered is False and circuit.is_open():  # the probe was refused the configuration
                raise CommandError(f"Stopped: {circuit.state().reason}")
        self.sweep_deletions(options)
        ids = iter_ids(due_customers(pending_grace_seconds=options["grace"]))
        if options["run"]:
            try:
                summary = push_many(ids, concurrency=options["concurrency"], rate=options["rate"])
            except BatchAborted as aborted:
                raise CommandError(str(aborted)) from aborted
            counts = summary.counts
            message = (
                f"Swept {summary.total} customers: {summary.pushed} pushed, {counts['retry']} to retry, "
                f"{counts['failed']} failed"
                + (f", {counts['missing_remote']} deleted in FluentCart" if counts["missing_remote"] else "")
                + (f", {counts['paused']} paused" if counts["paused"] else "")
                + "."
            )
            self.say(message, news=bool(summary.total))
            if summary.configuration_error:
                raise CommandError(f"Stopped: {summary.configuration_error}")
            if summary.failed or summary.owed:
                return f"!{message} {summary.failed + summary.owed} customers did not sync."
            return message
        queued = refused = tasks = 0
        for chunk in chunked(ids):
            if enqueue_push_chunk(chunk):
                queued += len(chunk)
                tasks += 1
            else:
                refused += len(chunk)
        message = f"Queued {queued} customers for a push in {tasks} task{'' if tasks == 1 else 's'}" + (
            f"; the queue refused {refused}." if refused else "."
        )
        self.say(message, news=bool(queued or refused))
        if refused:
            raise CommandError("The task queue refused some pushes; they stay due and the next sweep tries again.")
        return message

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
        status = status_snapshot(pending_grace_seconds=options["grace"], queue_length=queue_length())
        if options["json"]:
            self.stdout.write(json.dumps(status, sort_keys=True))
            return
        waiting = status["oldest_owed_push_age_seconds"]
        length = status["task_queue_length"]
        self.stdout.write(
            f"Owed: {status['pending']} pending, {status['retrying']} retrying ({status['due']} due now); oldest owed "
            f"push waiting {'none' if waiting is None else f'{waiting:.0f}s'}; {status['being_pushed']} being "
            f"pushed; {status['failed']} failed; task queue: {'unknown' if length is None else length} tasks waiting."
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
        if status["pushes_paused"]:
            self.stdout.write(f"Pushes paused: {status['paused_reason']}")


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
