"""Errors sorted exactly (issue 18, items 2, 13 and 14): a database error that is not a link collision
keeps the row's FluentCart id, a 403 pauses every push only when the credentials really lack the
permission, and a push that crashes every time backs off and ends ``failed``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db


def edit(pk, **changes):
    """Someone else's save: a fresh instance, as a form or a view would load it."""
    customer = Customer.objects.get(pk=pk)
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.save()


def synced(fake, email, full_name, **fields):
    customer = Customer.objects.create(email=email, full_name=full_name, **fields)
    assert push_customer(customer.pk).outcome == Outcome.CREATED
    return Customer.objects.get(pk=customer.pk)


# -- 2. an IntegrityError that is not a link collision keeps the FluentCart id ---------------------


def test_fluentcarts_email_that_another_local_customer_holds_keeps_the_id_and_names_both(fake):
    amy = synced(fake, "amy@example.com", "Amy Pond", city="Boston")
    rory = Customer.objects.create(email="rory@example.com", full_name="Rory Williams")  # never pushed
    fake.edit_customer(amy.fluentcart_id, email="rory@example.com")  # staff in WordPress
    edit(amy.pk, city="Chicago")

    result = push_customer(amy.pk)  # the merge copies FluentCart's email: taken here by Rory

    row = Customer.objects.get(pk=amy.pk)
    assert result.outcome == Outcome.FAILED and row.sync_status == SyncStatus.FAILED
    assert row.fluentcart_id == amy.fluentcart_id, "the id is kept: a retry must not POST a second customer"
    assert row.email == "amy@example.com" and row.claimed_until is None
    assert f"#{amy.pk}" in row.sync_error and f"#{rory.pk}" in row.sync_error
    assert "rory@example.com" in row.sync_error

    posts = len(sent(fake, "POST"))
    push_customer(amy.pk)  # again, as the admin's "Sync now" would
    assert len(sent(fake, "POST")) == posts and fake.count() == 1
    assert Customer.objects.get(pk=amy.pk).fluentcart_id == amy.fluentcart_id


def test_a_link_whose_fluentcart_id_another_row_took_meanwhile_is_still_a_link_collision(fake, monkeypatch):
    existing = fake.create_customer(email="amy@example.com", full_name="Amy Pond", status="active", city="Paris")
    amy = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    other = Customer.objects.create(email="other@example.com", full_name="Other Person")
    real_update = FluentCartClient.update_customer

    def another_row_links_it_meanwhile(self, *args, **kwargs):
        Customer.objects.filter(pk=other.pk).update_sync_state(fluentcart_id=existing["id"])
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(FluentCartClient, "update_customer", another_row_links_it_meanwhile)
    edit(amy.pk, city="Boston")  # so the link has something to PUT

    result = push_customer(amy.pk)

    row = Customer.objects.get(pk=amy.pk)
    assert result.outcome == Outcome.FAILED and row.fluentcart_id is None
    assert f"#{other.pk}" in row.sync_error and str(existing["id"]) in row.sync_error


# -- 14. a push that crashes every time backs off and ends failed ------------------------------------


def test_a_push_that_crashes_every_time_backs_off_and_ends_failed(fake, fluentcart_settings, monkeypatch):
    fluentcart_settings["MAX_ATTEMPTS"] = None
    fluentcart_settings["RETRY_WINDOW_SECONDS"] = 3600
    customer = synced(fake, "bug@example.com", "Bug Report")
    edit(customer.pk, city="Boston")

    def crash(self, customer_id):
        raise RuntimeError("a bug in the host's code")

    monkeypatch.setattr(FluentCartClient, "get_customer", crash)
    delays = []
    for _ in range(4):
        push_customer(customer.pk)
        row = Customer.objects.get(pk=customer.pk)
        assert row.sync_status == SyncStatus.RETRYING and "RuntimeError" in row.sync_error
        delays.append((row.next_attempt_at - timezone.now()).total_seconds())
    assert row.sync_attempts == 4
    assert delays[-1] > 2 * 30, "backed off like any failure, not every 30 s"

    # The retry window has passed since the first crash: the next one gives up.
    Customer.objects.filter(pk=customer.pk).update_sync_state(failing_since=timezone.now() - timedelta(hours=2))
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.FAILED and row.next_attempt_at is None
    assert "Gave up after 5 attempts" in row.sync_error and "RuntimeError" in row.sync_error
    assert row.fluentcart_id == customer.fluentcart_id


def test_a_create_that_crashes_looks_up_first_and_counts_as_an_attempt(fake, monkeypatch):
    customer = Customer.objects.create(email="bug@example.com", full_name="Bug Report")

    def crash(self, payload):
        raise RuntimeError("a bug in the host's code")

    monkeypatch.setattr(FluentCartClient, "create_customer", crash)
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.RETRYING and row.sync_attempts == 1 and row.failing_since is not None
    assert row.outcome_unknown and row.quarantine_until is not None, "a POST may have gone out"
