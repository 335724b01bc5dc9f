"""Exactly once under faults, over real HTTP: the shipped fake FluentCart answers 5xx, 429 with
Retry-After, slow answers past the client's timeout (after storing the customer), and dropped
connections (before and after storing), while the sweep keeps going until everything is synced, and
customers deleted meanwhile (``ON_DELETE = "anonymize"``) are anonymized there and nothing else is."""

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Min
from django.test import Client
from django.utils import timezone

from fluentcart_sync.deletions import is_anonymized
from fluentcart_sync.models import OWED_DELETION_STATES, Customer, CustomerDeletion, DeletionState, SyncStatus
from fluentcart_sync.payloads import PUSHED_FIELDS, build_payload
from fluentcart_sync.sandbox import Faults
from fluentcart_sync.sandbox.audit import audit, stale_fields

from .e2e_support import exactly_once, make_customers, served_fake
from .editing import AdminFormEditor, Editor, Puller

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 500
CHAOS = Faults(
    rate_limit_rate=0.10, retry_after=1,  # 429 with Retry-After: 1
    error_rate=0.20,  # 500 plugin_exception / 502 / 503, half of them after storing the customer
    drop_rate=0.05,  # connection closed without an answer, half of them after storing
    slow_rate=0.05, slow_seconds=0.8,  # stored, then answered after the client gave up
    seed=20240601,
)


@pytest.fixture
def chaos(fluentcart_settings):
    fake, server = served_fake(CHAOS)
    fluentcart_settings.update(
        URL=server.url, TIMEOUT=0.4, CONNECT_TIMEOUT=2.0, MAX_ATTEMPTS=100, LEASE_SECONDS=60,
        RETRY_BASE_SECONDS=0.05, RETRY_MAX_SECONDS=0.5, AUTO_PUSH=False,
        # The fake shares this process (and, in CI, the machine) with the pushes: it may reach a POST
        # seconds after the client gave up on it, so the quarantine covers that, not just the deadline.
        QUARANTINE_SECONDS=8,
    )
    yield fake
    server.stop()
    fake.close()


def sweep_once() -> None:
    try:
        call_command("fluentcart_sync_due", "--run", "--grace", "0", "--concurrency", "8", stdout=io.StringIO())
    except CommandError:
        pass  # exit 1: some customers are left to retry, which the next run does
    due = min(
        (
            moment
            for moment in (
                Customer.objects.filter(sync_status=SyncStatus.RETRYING).aggregate(due=Min("next_attempt_at"))["due"],
                owed_deletions().aggregate(due=Min("next_attempt_at"))["due"],
            )
            if moment is not None
        ),
        default=None,
    )
    if due is not None:
        time.sleep(min(2.0, max(0.0, (due - timezone.now()).total_seconds())))


def pull_until_complete(attempts: int = 60) -> None:
    """A pull of the 500 customers is 4 requests (the highest id, two ranges, the rest), each failing
    about 40% of the time under CHAOS: one pull in eight is complete."""
    from django.core.management.base import CommandError

    for _ in range(attempts):
        try:
            call_command("fluentcart_pull", "--no-progress", stdout=io.StringIO())
            return
        except CommandError:  # the faults ended the scan early: run it again, as cron would
            continue
    raise AssertionError("no complete pull")


def sweep_until_synced(deadline_seconds: float = 120) -> int:
    """Run the sweep as cron would, waiting for the earliest retry time between runs, until no push
    and no deletion is owed; returns the runs."""
    deadline = time.monotonic() + deadline_seconds
    runs = 0
    while Customer.objects.unsynced().exists() or owed_deletions().exists():
        assert time.monotonic() < deadline, (
            f"not synced in time: {Customer.objects.unsynced().count()} pushes and "
            f"{owed_deletions().count()} deletions left: "
            f"{list(Customer.objects.unsynced().values('pk', 'sync_status', 'sync_error', 'next_attempt_at', 'fluentcart_id', 'unanswered_write', 'outcome_unknown'))}"
        )
        sweep_once()
        runs += 1
    return runs


def owed_deletions():
    return CustomerDeletion.objects.filter(state__in=OWED_DELETION_STATES)


def test_every_customer_is_synced_exactly_once_despite_faults_and_concurrent_edits(
    chaos, fluentcart_settings, django_user_model
):
    fluentcart_settings["ON_DELETE"] = "anonymize"
    make_customers(CUSTOMERS)
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("staff", "staff@example.com", "x"))
    ids = list(Customer.objects.values_list("pk", flat=True))
    # While the faults run, someone keeps editing random customers (city, notes, email) and deletes one
    # now and then (its FluentCart customer is owed an anonymization, even mid-push), staff save change
    # forms opened a moment earlier, and pulls bring FluentCart's records back.
    with Editor(ids, seed=9, delete_every=7) as editor, AdminFormEditor(
        ids, staff, seed=11, pause=0.02
    ) as forms, Puller(ids, pause=0.2) as puller:
        for _ in range(4):
            sweep_once()
    for worker in (editor, forms, puller):
        assert not worker.errors, worker.errors
    assert editor.edits > 20 and editor.deleted, editor.edits
    assert forms.edits > 5 and puller.edits >= 1, (forms.edits, puller.edits)
    runs = 4 + sweep_until_synced()
    pull_until_complete()
    assert not Customer.objects.unsynced().exists()

    # Every edit arrived: each FluentCart record equals its customer's final local data.
    local = [{"fluentcart_id": c.fluentcart_id, **build_payload(c)} for c in Customer.objects.all()]
    assert stale_fields(local, chaos.customers(), PUSHED_FIELDS) == {}

    # Every deleted customer's FluentCart record holds no personal data; no other was touched (above:
    # each holds its own customer's data), and FluentCart holds nobody else.
    deleted = CustomerDeletion.objects.filter(customer_id__in=editor.deleted)
    assert deleted.count() == len(editor.deleted)
    assert set(deleted.values_list("state", flat=True)) <= {DeletionState.DONE, DeletionState.NOTHING}, list(
        deleted.exclude(state__in=[DeletionState.DONE, DeletionState.NOTHING]).values("pk", "state", "attempts", "error")
    )
    remote_by_id = {c["id"]: c for c in chaos.customers()}
    anonymized = {c["id"] for c in remote_by_id.values() if c["email"].endswith("@anonymized.invalid")}
    for deletion in deleted.exclude(fluentcart_id=None):
        record = remote_by_id[deletion.fluentcart_id]
        assert is_anonymized(deletion.fluentcart_id, record), record
    assert anonymized == set(deleted.exclude(fluentcart_id=None).values_list("fluentcart_id", flat=True))
    assert deleted.filter(attempts__gt=1).exists()  # deletions met the faults too, and were retried
    remaining = [c for c in chaos.customers() if c["id"] not in anonymized]

    result = audit(Customer.objects.values_list("email", "fluentcart_id", "sync_status"), remaining)
    assert result.ok, result.summary() + f"; duplicated: {list(result.duplicated.items())[:5]}"
    assert result.synced == CUSTOMERS - len(editor.deleted) == len(remaining)
    assert runs > 1  # retries were needed, and the sweep found them

    # The faults really happened, on creates too.
    statuses = {r.status for r in chaos.requests_seen}
    assert {429, 500, 0} <= statuses and statuses & {502, 503}
    posts = [r for r in chaos.requests_seen if r.method == "POST"]
    assert len(posts) > CUSTOMERS and any(r.status == 0 for r in posts)

    # Every record knows FluentCart's id, and nothing is left owing a push or claimed.
    assert not Customer.objects.filter(fluentcart_id__isnull=True).exists()
    assert not Customer.objects.filter(claimed_until__isnull=False).exists()
    assert not Customer.objects.filter(outcome_unknown=True).exists()


def test_retry_after_is_honoured_by_the_sweep(chaos):
    chaos.faults = Faults(rate_limit_rate=1.0, retry_after=2)
    make_customers(3)
    with pytest.raises(CommandError, match="3 customers did not sync"):
        call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.RETRYING}
    earliest = Customer.objects.aggregate(due=Min("next_attempt_at"))["due"]
    assert (earliest - timezone.now()).total_seconds() > 1.5  # the server's 2 s, not our 0.05 s base

    chaos.faults = Faults()
    seen = len(chaos.requests_seen)
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert len(chaos.requests_seen) == seen  # not due yet: nothing sent
    time.sleep(max(0.0, (earliest - timezone.now()).total_seconds()) + 0.1)
    sweep_until_synced(10)
    assert exactly_once(chaos).ok
