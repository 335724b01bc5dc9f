"""`manage.py fluentcart_import` brings FluentCart's customers in: links by email, never duplicates,
pushes nothing back, and a second run changes nothing."""

import io

import pytest
from django.core.management import call_command

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs: a queued push would show


def run_import(*args):
    out = io.StringIO()
    call_command("fluentcart_import", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_imports_every_page_and_marks_rows_synced_without_pushing_back(fake):
    for n in range(205):  # more than one page of 199
        fake.create_customer(email=f"c{n}@example.com", full_name=f"Cust Omer{n}", status="active", city="Paris")
    text = run_import()
    assert "read 205 FluentCart customers: 205 created" in text
    assert Customer.objects.count() == 205
    lists = list(sent(fake, "GET"))
    assert [r.query["page"] for r in lists] == ["1", "2"]
    assert all(r.query["per_page"] == "199" and r.query["sort_type"] == "asc" for r in lists)
    assert not sent(fake, "POST") and not sent(fake, "PUT"), "importing pushes nothing back"
    customer = Customer.objects.get(email="c7@example.com")
    remote = next(c for c in fake.customers() if c["email"] == "c7@example.com")
    assert customer.fluentcart_id == remote["id"] and customer.sync_status == SyncStatus.SYNCED
    assert (customer.first_name, customer.last_name, customer.city) == ("Cust", "Omer7", "Paris")
    fake.requests_seen.clear()
    assert push_customer(customer).outcome == Outcome.UNCHANGED  # its fingerprint matches
    assert list(fake.requests_seen) == []


def test_links_existing_local_customers_by_email_ignoring_case(fake):
    remote = fake.create_customer(email="Jane.Smith@Example.com", full_name="Jane Smith", status="active")
    with_changes = fake.create_customer(email="bob@example.com", full_name="Bob Old", status="active")
    Customer.objects.bulk_create([  # bulk: no signals, so nothing is pushed before the import
        Customer(email="jane.smith@example.com", full_name="Jane Smith", first_name="Jane", last_name="Smith"),
        Customer(email="BOB@example.com", full_name="Bob New", first_name="Bob", last_name="New"),
    ])
    text = run_import()
    assert "0 created, 2 linked" in text and "(1 of them differ locally" in text
    assert Customer.objects.count() == 2
    jane = Customer.objects.get(email="jane.smith@example.com")
    assert jane.fluentcart_id == remote["id"] and jane.sync_status == SyncStatus.SYNCED
    bob = Customer.objects.get(email="BOB@example.com")
    assert bob.fluentcart_id == with_changes["id"] and bob.sync_status == SyncStatus.PENDING
    assert not sent(fake, "POST") and not sent(fake, "PUT")
    # Django's version is what a push sends: an update of the linked id, never a new customer.
    assert push_customer(bob).outcome == Outcome.UPDATED
    assert fake.count() == 2


def test_second_run_changes_nothing_and_duplicate_remote_emails_make_one_local_row(fake):
    first = fake.create_customer(email="twin@example.com", full_name="Twin One", status="active")
    fake.create_customer(email="TWIN@example.com", full_name="Twin Two", status="active")  # FluentCart's race
    fake.create_customer(email="solo@example.com", full_name="Solo Person", status="active")
    text = run_import()
    assert "2 created" in text and "1 duplicate emails in FluentCart" in text and "merge them in FluentCart" in text
    assert Customer.objects.get(email__iexact="twin@example.com").fluentcart_id == first["id"]
    before = list(Customer.objects.order_by("pk").values())
    text = run_import()
    assert "0 created, 0 linked" in text and "2 already linked" in text
    assert list(Customer.objects.order_by("pk").values()) == before


def test_dry_run_writes_nothing(fake):
    fake.create_customer(email="new@example.com", full_name="New Person", status="active")
    Customer.objects.bulk_create([Customer(email="old@example.com", full_name="Old Person")])
    fake.create_customer(email="old@example.com", full_name="Old Person", status="active")
    text = run_import("--dry-run")
    assert "Dry run, nothing written" in text and "1 created, 1 linked" in text
    assert Customer.objects.count() == 1 and Customer.objects.get().fluentcart_id is None


def test_customers_this_app_cannot_hold_are_skipped_and_listed(fake):
    fake.create_customer(email="ok@example.com", full_name="Fine Person", status="active")
    fake.create_customer(email="odd@example.com", full_name="Odd <b>Name</b>", status="active")
    text = run_import()
    assert "1 created" in text and "1 skipped" in text and "odd@example.com" in text
