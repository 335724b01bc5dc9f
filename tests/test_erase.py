"""``manage.py fluentcart_erase EMAIL``: an erasure request answered in one command, for a person found
here only, in FluentCart only, in both, or nowhere; nothing half-done when FluentCart cannot be reached."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.exceptions import FluentCartConnectError
from fluentcart_sync.models import Customer, CustomerDeletion, DeletionState
from fluentcart_sync.services import push_customer

pytestmark = pytest.mark.django_db


def erase(*args):
    out = io.StringIO()
    call_command("fluentcart_erase", *args, stdout=out)
    return out.getvalue()


def remote(fake, fluentcart_id):
    found = [c for c in fake.customers() if c["id"] == fluentcart_id]
    return found[0] if found else None


def pull():
    call_command("fluentcart_pull", "--no-progress", stdout=io.StringIO())


def test_found_in_both_deletes_here_anonymizes_there_and_remembers(fake):
    customer = Customer.objects.create(email="Amy@Example.com", full_name="Amy Pond", city="Leadworth")
    push_customer(customer.pk)
    customer.refresh_from_db()

    text = erase("amy@EXAMPLE.com", "--yes")

    assert "Erased amy@EXAMPLE.com" in text
    assert not Customer.objects.exists()
    record = remote(fake, customer.fluentcart_id)
    assert record["email"] == f"deleted-{customer.fluentcart_id}@anonymized.invalid" and record["city"] is None
    deletion = CustomerDeletion.objects.get()
    assert (deletion.email, deletion.state) == ("amy@example.com", DeletionState.DONE)
    pull()
    assert not Customer.objects.exists()
    # Run again: nothing left, and it says so.
    assert "Nothing left to erase" in erase("amy@example.com", "--yes")


def test_found_in_fluentcart_only_is_anonymized_and_never_pulled_in(fake):
    created = fake.create_customer(email="guest@example.com", full_name="Checkout Guest", city="Paris")
    other = fake.create_customer(email="guest2@example.com", full_name="Other Guest")

    erase("guest@example.com", "--yes")

    assert remote(fake, created["id"])["email"].endswith("@anonymized.invalid")
    assert remote(fake, other["id"]) == other
    pull()
    assert list(Customer.objects.values_list("email", flat=True)) == ["guest2@example.com"]


def test_found_locally_only_is_deleted_and_remembered(fake):
    Customer.objects.create(email="amy@example.com", full_name="Amy Pond")  # never pushed

    text = erase("amy@example.com", "--yes")

    assert "FluentCart: no customer with this email" in text
    assert not Customer.objects.exists()
    assert CustomerDeletion.objects.get().email == "amy@example.com"
    assert [r.method for r in fake.requests_seen] == ["GET"]  # the look-up only


def test_found_nowhere_exits_non_zero_and_changes_nothing(fake):
    with pytest.raises(CommandError, match="Nobody with the email nobody@example.com"):
        erase("nobody@example.com", "--yes")
    assert not CustomerDeletion.objects.exists()


def test_delete_deletes_the_fluentcart_customer_with_its_orders(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    push_customer(customer.pk)
    customer.refresh_from_db()

    text = erase("amy@example.com", "--delete", "--yes")

    assert "DELETED, with its orders" in text
    assert remote(fake, customer.fluentcart_id) is None
    assert CustomerDeletion.objects.get().action == "delete"


def test_dry_run_shows_the_plan_and_changes_nothing(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    push_customer(customer.pk)
    customer.refresh_from_db()

    text = erase("amy@example.com", "--dry-run")

    assert f"Django: customer #{customer.pk}" in text and f"FluentCart: customer {customer.fluentcart_id}" in text
    assert "will be anonymized" in text and "Dry run: nothing was changed." in text
    assert Customer.objects.exists() and not CustomerDeletion.objects.exists()
    assert remote(fake, customer.fluentcart_id)["email"] == "amy@example.com"


def test_without_yes_it_asks_and_a_no_changes_nothing(fake, monkeypatch):
    Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Not confirmed"):
        erase("amy@example.com")
    assert Customer.objects.exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    erase("amy@example.com")
    assert not Customer.objects.exists()


def test_fluentcart_unreachable_changes_nothing(fake, monkeypatch):
    Customer.objects.create(email="amy@example.com", full_name="Amy Pond")

    def refused(self, email):
        raise FluentCartConnectError("Could not connect to FluentCart at https://shop.example.com: refused")

    monkeypatch.setattr(FluentCartClient, "find_by_email", refused)
    with pytest.raises(CommandError, match="FluentCart could not be reached, so nothing was changed"):
        erase("amy@example.com", "--yes")
    assert Customer.objects.exists() and not CustomerDeletion.objects.exists()


def test_fluentcart_failing_midway_is_finished_by_running_it_again(fake, monkeypatch):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", city="Leadworth")
    push_customer(customer.pk)
    customer.refresh_from_db()
    fake.faults = fake.faults.updated({"error_rate": 1.0, "error_after_write_fraction": 0.0})
    real_find = FluentCartClient.find_by_email
    monkeypatch.setattr(FluentCartClient, "find_by_email", lambda self, email: [remote(fake, customer.fluentcart_id)])

    with pytest.raises(CommandError, match="run `fluentcart_erase amy@example.com` again"):
        erase("amy@example.com", "--yes")
    assert not Customer.objects.exists()
    assert CustomerDeletion.objects.get().state == DeletionState.RETRYING
    assert remote(fake, customer.fluentcart_id)["email"] == "amy@example.com"

    fake.faults = fake.faults.updated({"error_rate": 0.0})
    monkeypatch.setattr(FluentCartClient, "find_by_email", real_find)
    assert "Erased" in erase("amy@example.com", "--yes")
    assert remote(fake, customer.fluentcart_id)["email"].endswith("@anonymized.invalid")
    assert CustomerDeletion.objects.get().state == DeletionState.DONE


def test_a_fluentcart_customer_another_local_customer_holds_is_left_alone(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    push_customer(customer.pk)
    customer.refresh_from_db()
    Customer.objects.filter(pk=customer.pk).update(email="amy.pond@example.com")  # not pushed yet

    err = io.StringIO()
    with pytest.raises(CommandError, match="Nobody with the email"):
        call_command("fluentcart_erase", "amy@example.com", "--yes", stdout=io.StringIO(), stderr=err)

    assert f"belongs to local customer #{customer.pk} (amy.pond@example.com)" in err.getvalue()
    assert remote(fake, customer.fluentcart_id)["email"] == "amy@example.com"
    assert Customer.objects.exists()
