"""An outage that is over costs no more time: once FluentCart answers again (a push succeeds, or the
sweep's probe does), every row waiting on a transient failure is due at once, whatever its attempt
count; attempts made by hand during the outage do not push the automatic retry further out."""

import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fluentcart_sync import recovery
from fluentcart_sync.management.commands.fluentcart_sync_due import due_customers
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults
from fluentcart_sync.services import push_customer

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP_EVERY = timedelta(minutes=5)


class Clock:
    """The wall clock the app sees (django.utils.timezone.now), moved by the test."""

    def __init__(self, monkeypatch):
        self.now = datetime(2026, 12, 5, 18, 0, tzinfo=dt_timezone.utc)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, delta):
        self.now += delta


@pytest.fixture
def shipped_retry_policy(fluentcart_settings):
    for name in ("MAX_ATTEMPTS", "LEASE_SECONDS", "TIMEOUT"):
        fluentcart_settings.pop(name, None)  # the defaults, as shipped
    fluentcart_settings.update(AUTO_PUSH=False, QUARANTINE_SECONDS=0)
    return fluentcart_settings


def down(fake):
    fake.faults = Faults(error_rate=1.0, error_after_write_fraction=0.0, seed=3)  # 5xx, nothing stored


def sweep() -> str:
    """One round of `fluentcart_sync_due --run` (exit 1 while something due did not sync)."""
    out = io.StringIO()
    try:
        call_command("fluentcart_sync_due", "--run", "--grace", "0", "--concurrency", "4", stdout=out,
                     stderr=io.StringIO())
    except CommandError:
        pass
    return out.getvalue()


def backfill() -> None:
    with pytest.raises(CommandError, match="did not sync"):
        call_command("fluentcart_backfill", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())


def test_after_an_outage_of_many_attempts_every_owed_row_is_pushed_by_the_next_sweep(
        fake, shipped_retry_policy, monkeypatch):
    clock = Clock(monkeypatch)
    down(fake)
    Customer.objects.bulk_create(Customer(email=f"o{n}@example.com", full_name=f"Out Age {n}") for n in range(30))

    for round_ in range(12 * 6):  # six hours of sweeps every 5 minutes, FluentCart answering 5xx
        sweep()
        if round_ in (3, 4, 5, 6, 7, 8):
            backfill()  # someone presses the button during the outage, six times
        clock.advance(SWEEP_EVERY)
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.RETRYING}
    attempts = list(Customer.objects.values_list("sync_attempts", flat=True))
    assert min(attempts) >= 10, "many attempts each"
    furthest = max(Customer.objects.values_list("next_attempt_at", flat=True))
    assert furthest - clock.now > 2 * SWEEP_EVERY, "the backoff had grown past two sweep intervals"

    fake.faults = Faults()  # FluentCart is back
    for _ in range(2):  # within two sweep intervals of its return
        clock.advance(SWEEP_EVERY)
        sweep()
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert fake.count() == 30


def test_while_fluentcart_is_still_down_a_sweep_sends_one_probe_and_keeps_the_schedule(
        fake, shipped_retry_policy, monkeypatch):
    clock = Clock(monkeypatch)
    down(fake)
    Customer.objects.bulk_create(Customer(email=f"w{n}@example.com", full_name=f"Wait Ing {n}") for n in range(5))
    sweep()
    scheduled = dict(Customer.objects.values_list("pk", "next_attempt_at"))
    assert all(at > clock.now for at in scheduled.values())
    clock.advance(timedelta(seconds=10))
    sent = len(fake.requests_seen)
    sweep()
    assert len(fake.requests_seen) == sent + 1, "one probe, not a push per waiting row"
    assert dict(Customer.objects.values_list("pk", "next_attempt_at")) == scheduled


def test_a_push_that_succeeds_makes_the_rows_that_failed_before_it_due(fake, shipped_retry_policy, monkeypatch):
    clock = Clock(monkeypatch)
    down(fake)
    waiting = Customer.objects.create(email="waiting@example.com", full_name="Wait Ing")
    push_customer(waiting.pk)
    assert not due_customers(pending_grace_seconds=0).filter(pk=waiting.pk).exists()

    fake.faults = Faults()
    clock.advance(timedelta(seconds=5))
    fresh = Customer.objects.create(email="fresh@example.com", full_name="Fresh Start")
    call_command("fluentcart_backfill", "--no-progress", "--limit", "0", stdout=io.StringIO())  # nothing pushed
    assert not due_customers(pending_grace_seconds=0).filter(pk=waiting.pk).exists()
    from fluentcart_sync.batch import push_many

    push_many([fresh.pk])  # FluentCart answers this push
    assert recovery.answered_at() == clock.now
    assert due_customers(pending_grace_seconds=0).filter(pk=waiting.pk).exists(), "due at once"


def test_attempts_by_hand_during_an_outage_do_not_push_the_automatic_retry_further_out(
        fake, shipped_retry_policy, monkeypatch):
    clock = Clock(monkeypatch)
    down(fake)
    customer = Customer.objects.create(email="hand@example.com", full_name="By Hand")
    push_customer(customer.pk)  # the first automatic attempt fails
    scheduled = Customer.objects.get(pk=customer.pk).next_attempt_at
    for _ in range(6):  # six backfills before the automatic retry (15 to 30 s after the first failure)
        clock.advance(timedelta(seconds=2))
        push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_attempts == 7
    assert row.next_attempt_at <= scheduled, "a retry by hand never moves the automatic one later"

    clock.now = max(clock.now, scheduled)  # the automatic attempt, on schedule, fails again
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    outage_so_far = clock.now - row.failing_since
    # Without the rule: attempt 8's backoff, up to 30 s * 2^7 = 64 minutes away.
    assert row.next_attempt_at - clock.now <= outage_so_far + timedelta(seconds=30)


def test_a_row_in_quarantine_waits_for_it_to_end_even_after_fluentcart_answers(fake, shipped_retry_policy):
    customer = Customer.objects.create(email="q@example.com", full_name="Quar Antine")
    long_ago = timezone.now() - timedelta(minutes=10)
    Customer.objects.filter(pk=customer.pk).update(
        sync_status=SyncStatus.RETRYING,
        last_attempt_at=long_ago,
        next_attempt_at=timezone.now() + timedelta(hours=1),
        quarantine_until=timezone.now() + timedelta(minutes=1),
    )
    recovery.note_answered(timezone.now())
    assert not due_customers(pending_grace_seconds=0).filter(pk=customer.pk).exists()
    Customer.objects.filter(pk=customer.pk).update(quarantine_until=long_ago)
    assert due_customers(pending_grace_seconds=0).filter(pk=customer.pk).exists()


def test_the_sweep_spreads_its_pushes_by_the_rate_given(fake, shipped_retry_policy, monkeypatch):
    from fluentcart_sync.management.commands import fluentcart_sync_due

    seen = {}

    def fake_push_many(ids, **kwargs):
        seen.update(kwargs)
        from fluentcart_sync.batch import BatchSummary

        return BatchSummary()

    monkeypatch.setattr(fluentcart_sync_due, "push_many", fake_push_many)
    call_command("fluentcart_sync_due", "--run", "--rate", "5", stdout=io.StringIO())
    assert seen["rate"] == 5


def test_a_retry_after_fluentcart_gave_is_waited_out_even_once_it_answers(fake, shipped_retry_policy, monkeypatch):
    clock = Clock(monkeypatch)
    fake.faults = Faults(rate_limit_rate=1.0, retry_after=120)
    limited = Customer.objects.create(email="limited@example.com", full_name="Rate Limited")
    push_customer(limited.pk)
    assert Customer.objects.get(pk=limited.pk).retry_not_before == clock.now + timedelta(seconds=120)

    fake.faults = Faults()
    clock.advance(timedelta(seconds=10))
    recovery.note_answered(clock.now)  # another customer's push went through
    sent = len(fake.requests_seen)
    sweep()
    assert len(fake.requests_seen) == sent, "no probe and no push before the Retry-After"
    assert Customer.objects.get(pk=limited.pk).sync_status == SyncStatus.RETRYING
    clock.advance(timedelta(seconds=111))
    sweep()
    assert Customer.objects.get(pk=limited.pk).sync_status == SyncStatus.SYNCED
