"""Honest exit codes: fluentcart_backfill, fluentcart_sync_due --run and fluentcart_pull exit 0 only
when everything they were asked to do is done; cron and CI see the rest as a failure (exit 1).

Each command runs as `manage.py` runs it (``run_from_argv``), so the code checked is the process's."""

from datetime import timedelta

import pytest
from django.core.management import load_command_class
from django.utils import timezone

from fluentcart_sync import circuit
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults

pytestmark = pytest.mark.django_db(transaction=True)


def exit_code(name, *args, capsys=None):
    """The exit code of `manage.py <name> <args>`, and what it printed."""
    command = load_command_class("fluentcart_sync", name)
    try:
        command.run_from_argv(["manage.py", name, *args])
    except SystemExit as stop:
        code = stop.code
    else:
        code = 0
    return code, capsys.readouterr() if capsys else None


@pytest.fixture
def customers(fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    fluentcart_settings["QUARANTINE_SECONDS"] = 0
    Customer.objects.bulk_create(Customer(email=f"c{n}@example.com", full_name=f"Cust Omer {n}") for n in range(2))
    long_ago = timezone.now() - timedelta(minutes=5)
    Customer.objects.update(updated_at=long_ago)  # past the sweep's grace
    return Customer.objects.all()


def fluentcart_down(fake):
    fake.faults = Faults(error_rate=1.0, error_after_write_fraction=0.0, seed=1)  # 5xx, nothing stored


# -- fluentcart_backfill ---------------------------------------------------------------------------


def test_backfill_everything_synced_exits_0(fake, customers, capsys):
    code, out = exit_code("fluentcart_backfill", "--no-progress", capsys=capsys)
    assert code == 0 and "2 pushed" in out.out


def test_backfill_with_fluentcart_down_exits_1_every_run(fake, customers, capsys):
    fluentcart_down(fake)
    for _ in range(3):  # the report: "0 pushed, 2 to retry" and exit 0, three runs in a row
        code, out = exit_code("fluentcart_backfill", "--no-progress", capsys=capsys)
        assert code == 1, out.out
        assert "0 pushed" in out.out and "2 to retry" in out.out
        assert "2 customers did not sync (0 failed or deleted in FluentCart, 2 left to retry)" in out.err


def test_backfill_with_a_customer_fluentcart_refuses_exits_1(fake, customers, capsys):
    Customer.objects.filter(email="c1@example.com").update(city="<b>x</b>")
    code, out = exit_code("fluentcart_backfill", "--no-progress", capsys=capsys)
    assert code == 1 and "1 failed" in out.out


def test_backfill_with_a_customer_deleted_in_fluentcart_exits_1(fake, customers, capsys):
    assert exit_code("fluentcart_backfill", "--no-progress", capsys=capsys)[0] == 0
    gone = Customer.objects.get(email="c0@example.com")
    fake.store.delete([gone.fluentcart_id])
    Customer.objects.filter(pk=gone.pk).update(city="Paris")  # an edit owes FluentCart an update
    code, out = exit_code("fluentcart_backfill", "--no-progress", capsys=capsys)
    assert code == 1 and "1 deleted in FluentCart" in out.out


def test_backfill_while_fluentcart_refuses_the_credentials_exits_1(fake, customers, fluentcart_settings, capsys):
    fluentcart_settings["APP_PASSWORD"] = "wrong"
    code, out = exit_code("fluentcart_backfill", "--no-progress", capsys=capsys)
    assert code == 1 and "Stopped: FluentCart refused the credentials" in out.err


# -- fluentcart_sync_due --run -----------------------------------------------------------------------


def test_sweep_that_pushes_everything_due_exits_0(fake, customers, capsys):
    code, out = exit_code("fluentcart_sync_due", "--run", capsys=capsys)
    assert code == 0 and "Swept 2 customers: 2 pushed" in out.out


def test_sweep_with_nothing_due_exits_0(fake, customers, capsys):
    Customer.objects.update(updated_at=timezone.now())  # young: left to their own task
    code, out = exit_code("fluentcart_sync_due", "--run", capsys=capsys)
    assert code == 0 and "Swept 0 customers" in out.out


def test_sweep_with_fluentcart_down_exits_1(fake, customers, capsys):
    fluentcart_down(fake)
    code, out = exit_code("fluentcart_sync_due", "--run", capsys=capsys)
    assert code == 1 and "2 to retry" in out.out and "2 customers did not sync" in out.err


def test_sweep_with_a_customer_fluentcart_refuses_exits_1(fake, customers, capsys):
    Customer.objects.filter(email="c1@example.com").update(city="<b>x</b>", updated_at=timezone.now() - timedelta(hours=1))
    code, out = exit_code("fluentcart_sync_due", "--run", capsys=capsys)
    assert code == 1 and "1 pushed" in out.out and "1 failed" in out.out


def test_sweep_while_pushes_are_paused_exits_1(fake, customers, fluentcart_settings, capsys):
    fluentcart_settings["APP_PASSWORD"] = "wrong"
    circuit.open_circuit("FluentCart refused the credentials")
    code, out = exit_code("fluentcart_sync_due", "--run", capsys=capsys)
    assert code == 1 and "Pushes paused" in out.err
    assert not Customer.objects.filter(sync_status=SyncStatus.SYNCED).exists()


def test_queueing_sweep_exits_0_when_everything_due_was_queued(fake, customers, capsys):
    code, out = exit_code("fluentcart_sync_due", capsys=capsys)
    assert code == 0 and "Queued 2 customers" in out.out


# -- fluentcart_pull ---------------------------------------------------------------------------------


def test_a_complete_pull_exits_0(shop, capsys):
    shop.create_customer(email="shop@example.com", full_name="Shop Person", status="active")
    code, out = exit_code("fluentcart_pull", "--no-progress", capsys=capsys)
    assert code == 0 and "1 created" in out.out


def test_a_pull_that_could_not_read_everything_exits_1(shop, capsys):
    shop.create_customer(email="shop@example.com", full_name="Shop Person", status="active")
    fluentcart_down(shop)
    code, out = exit_code("fluentcart_pull", "--no-progress", capsys=capsys)
    assert code == 1 and "run the pull again" in out.err


def test_a_pull_that_leaves_customers_for_a_person_exits_1(shop, capsys):
    shop.create_customer(email="twin@example.com", full_name="Twin One", status="active")
    shop.create_customer(email="TWIN@example.com", full_name="Twin Two", status="active")
    code, out = exit_code("fluentcart_pull", "--no-progress", capsys=capsys)
    assert code == 1 and "1 duplicate emails in FluentCart" in out.out and "need a person" in out.err
