"""fluentcart_sync_due: the sweep finds every customer owed a push, so a lost task never drops one."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fluentcart_sync.models import Customer, SyncStatus

pytestmark = pytest.mark.django_db(transaction=True)


def sweep(*args):
    out = io.StringIO()
    call_command("fluentcart_sync_due", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def owed(fluentcart_settings):
    """Customers in every state the sweep must (or must not) pick up, saved without their own push."""
    fluentcart_settings["AUTO_PUSH"] = False
    # The dead worker's requests ended long ago: no quarantine before its customer is created again.
    fluentcart_settings["QUARANTINE_SECONDS"] = 0
    now = timezone.now()
    rows = {
        "old_pending": {},
        "due_retry": {"sync_status": SyncStatus.RETRYING, "next_attempt_at": now - timedelta(seconds=1)},
        "later_retry": {"sync_status": SyncStatus.RETRYING, "next_attempt_at": now + timedelta(hours=1)},
        "crashed": {"claimed_until": now - timedelta(seconds=1), "claim_token": "dead-worker"},
        "failed": {"sync_status": SyncStatus.FAILED},
    }
    for name, state in rows.items():
        customer = Customer.objects.create(email=f"{name}@example.com", full_name=name.replace("_", " ").title())
        Customer.objects.filter(pk=customer.pk).update(updated_at=now - timedelta(minutes=5), **state)
    fluentcart_settings["AUTO_PUSH"] = True
    return rows


def synced_emails():
    return set(Customer.objects.filter(sync_status=SyncStatus.SYNCED).values_list("email", flat=True))


def test_queues_pending_due_and_crashed_records_but_not_future_retries_or_failures(fake, owed):
    out = sweep("--grace", "60")
    assert "Queued 3 customers" in out
    # The project's default backend runs the queued task at once.
    assert synced_emails() == {"old_pending@example.com", "due_retry@example.com", "crashed@example.com"}
    assert fake.count() == 3


def test_run_pushes_here_and_reports(fake, owed):
    out = sweep("--run", "--concurrency", "2")
    assert "Swept 3 customers: 3 pushed" in out
    assert "later_retry@example.com" not in synced_emails()


def test_pending_records_younger_than_the_grace_are_left_to_their_own_task(fake, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    Customer.objects.create(email="fresh@example.com", full_name="Fresh One")
    assert "Queued 0 customers" in sweep("--grace", "60")
    assert "Queued 1 customers" in sweep("--grace", "0")


def test_a_refused_queue_exits_non_zero_and_leaves_records_due(fake, owed, fluentcart_settings):
    fluentcart_settings["TASK_BACKEND"] = "no-such-backend"
    with pytest.raises(CommandError, match="refused"):
        sweep()
    assert synced_emails() == set()


def test_a_configuration_error_stops_a_run(fake, owed, fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = "wrong"
    with pytest.raises(CommandError, match="Stopped: FluentCart refused the credentials"):
        sweep("--run")


@pytest.mark.parametrize("args", [["--concurrency", "0"], ["--loop", "0"]])
def test_bad_options(args):
    with pytest.raises(CommandError):
        sweep(*args)


def test_loop_keeps_going_after_a_failed_sweep(fake, owed, fluentcart_settings, monkeypatch):
    import fluentcart_sync.management.commands.fluentcart_sync_due as command

    fluentcart_settings["APP_PASSWORD"] = "wrong"
    rounds = []

    def stop_after_two(seconds):
        rounds.append(seconds)
        if len(rounds) == 1:
            fluentcart_settings["APP_PASSWORD"] = "test-only pass word 0000"  # the operator fixed it
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr(command.time, "sleep", stop_after_two)
    err = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("fluentcart_sync_due", "--run", "--concurrency", "1", "--loop", "5", stdout=io.StringIO(), stderr=err)
    assert "Sweep failed" in err.getvalue()
    # The first sweep stopped at the credentials error and paused pushes (nothing became `failed`);
    # the second probed FluentCart, found the fix, and pushed everything owed without a person.
    assert synced_emails() == {"old_pending@example.com", "due_retry@example.com", "crashed@example.com"}
    assert not Customer.objects.filter(sync_status=SyncStatus.FAILED).exclude(email="failed@example.com").exists()


def test_the_loop_pulls_fluentcarts_changes_every_pull_every_seconds(fake, fluentcart_settings, monkeypatch):
    import fluentcart_sync.management.commands.fluentcart_sync_due as command

    guest = fake.create_customer(email="guest@example.com", full_name="Checkout Guest", status="active")
    rounds = []

    def stop_after_two(seconds):
        rounds.append(seconds)
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(command.time, "sleep", stop_after_two)
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("fluentcart_sync_due", "--run", "--loop", "5", "--pull-every", "3600", stdout=out,
                     stderr=io.StringIO())
    assert out.getvalue().count("Pulled 1 FluentCart customers") == 1, "once, then not before an hour"
    assert Customer.objects.get(email="guest@example.com").fluentcart_id == guest["id"]


def test_the_loop_says_nothing_when_there_is_nothing_to_do_and_paused_once(fake, fluentcart_settings, monkeypatch):
    import fluentcart_sync.management.commands.fluentcart_sync_due as command
    from fluentcart_sync import circuit

    rounds = []

    def stop_after(seconds):
        rounds.append(seconds)
        if len(rounds) == 2:
            fluentcart_settings["APP_PASSWORD"] = "wrong"
            circuit.open_circuit("FluentCart refused the credentials")
        if len(rounds) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(command.time, "sleep", stop_after)
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("fluentcart_sync_due", "--run", "--loop", "10", stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Sweeping every 10 s")
    assert not any(line.startswith("Swept 0") for line in lines), "no line for a round with nothing to do"
    assert sum(line.startswith("Pushes paused") for line in lines) == 1, "said once, not every round"
    assert len(lines) == 2
