"""Saves queue a push after commit; a broken FluentCart never breaks a save; new users get a customer."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from fluentcart_sync.models import Customer, SyncStatus

from .conftest import sent

pytestmark = pytest.mark.django_db


def test_new_customer_is_pushed_after_commit(fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    assert fake.count() == 0, "nothing is sent inside the transaction"
    for callback in callbacks:
        callback()
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED
    assert fake.count() == 1


def test_rolled_back_customer_never_reaches_fluentcart(fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                Customer.objects.create(email="rory@example.com", full_name="Rory Williams")
                raise RuntimeError("the view failed after the save")
        except RuntimeError:
            pass
    assert fake.count() == 0
    assert not Customer.objects.exists()


def test_save_succeeds_when_fluentcart_is_down(django_capture_on_commit_callbacks, fluentcart_settings):
    fluentcart_settings["URL"] = "http://127.0.0.1:9"  # nothing listens there: connection refused
    with django_capture_on_commit_callbacks(execute=True):
        customer = Customer.objects.create(email="clara@example.com", full_name="Clara Oswald")
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.RETRYING
    assert "connect" in customer.sync_error.lower()
    assert customer.next_attempt_at is not None


def test_enqueue_failure_leaves_the_row_pending_for_the_sweep(fake, django_capture_on_commit_callbacks, settings):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "TASK_BACKEND": "no-such-backend"}
    with django_capture_on_commit_callbacks(execute=True):
        customer = Customer.objects.create(email="river@example.com", full_name="River Song")
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.PENDING
    assert fake.count() == 0


def test_editing_a_synced_customer_queues_an_update_and_an_unchanged_save_sends_nothing(
        fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        customer = Customer.objects.create(email="donna@example.com", full_name="Donna Noble")
    requests_after_create = len(fake.requests_seen)
    with django_capture_on_commit_callbacks(execute=True):
        customer.refresh_from_db()
        customer.save()
    assert len(fake.requests_seen) == requests_after_create
    with django_capture_on_commit_callbacks(execute=True):
        customer.city = "Chiswick"
        customer.save()
    [put] = sent(fake, "PUT")
    assert put.body["city"] == "Chiswick"
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED


def test_new_user_gets_a_synced_customer(fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = get_user_model().objects.create_user(
            "martha", email="martha@example.com", password="x", first_name="Martha", last_name="Jones")
    customer = Customer.objects.get(user=user)
    assert customer.full_name == "Martha Jones"
    assert customer.sync_status == SyncStatus.SYNCED
    assert fake.customers()[0]["email"] == "martha@example.com"


def test_staff_users_are_skipped_unless_enabled(fake, django_capture_on_commit_callbacks, fluentcart_settings):
    User = get_user_model()
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.create_user("staff", email="staff@example.com", password="x", is_staff=True)
        User.objects.create_superuser("root", email="root@example.com", password="x")
    assert not Customer.objects.exists()
    fluentcart_settings["INCLUDE_STAFF_USERS"] = True
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.create_user("staff2", email="staff2@example.com", password="x", is_staff=True)
    assert Customer.objects.filter(email="staff2@example.com").exists()


def test_creating_customers_for_users_can_be_switched_off(fluentcart_settings):
    fluentcart_settings["CREATE_CUSTOMER_FOR_NEW_USERS"] = False
    get_user_model().objects.create_user("bill", email="bill@example.com", password="x")
    assert not Customer.objects.exists()


def test_new_user_is_linked_to_an_existing_customer_with_the_same_email():
    customer = Customer.objects.create(email="Yaz@Example.com", full_name="Yasmin Khan")
    user = get_user_model().objects.create_user("yaz", email="yaz@example.com", password="x")
    customer.refresh_from_db()
    assert customer.user == user
    assert Customer.objects.count() == 1


def test_loading_fixtures_pushes_nothing(fake, django_capture_on_commit_callbacks):
    from django.core import serializers

    data = '[{"model": "fluentcart_sync.customer", "pk": 50, "fields": {"email": "f@example.com", "full_name": "F X", ' \
           '"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}]'
    with django_capture_on_commit_callbacks(execute=True):
        for obj in serializers.deserialize("json", data):
            obj.save()
    assert fake.count() == 0


@pytest.mark.parametrize(
    "first, last",
    [("F" * 150, "L" * 150), ("Jean " * 29 + "Luc", "Picard " * 21), ("é" * 150, "ü" * 40), ("名" * 100, "")],
)
def test_customer_for_user_never_builds_a_name_the_columns_or_fluentcart_refuse(fake, first, last):
    """first_name + last_name (150 each) can add up to 301 characters: the customer's name is cut to
    its column (192) and FluentCart's 255 bytes, on a word boundary when there is one."""
    from fluentcart_sync.services import customer_for_user

    user = get_user_model().objects.create_user("long", email="long@example.com", password="x",
                                                first_name=first[:150], last_name=last[:150])
    Customer.objects.filter(user=user).delete()
    customer = customer_for_user(user)
    customer.full_clean()
    for name in ("full_name", "first_name", "last_name"):
        value = getattr(customer, name)
        assert len(value) <= 192 and len(value.encode()) <= 255, name
    if " " in customer.full_name:
        assert user.get_full_name().startswith(customer.full_name)
        assert user.get_full_name()[len(customer.full_name)] == " ", "cut between words"


def test_fit_name():
    from fluentcart_sync.names import fit_name

    assert fit_name("Ada  Lovelace", 192) == "Ada Lovelace"
    assert fit_name("Ada Lovelace", 10) == "Ada"
    assert fit_name("Ada Lovelace", 12) == "Ada Lovelace"
    assert fit_name("A" * 20, 10) == "A" * 10
    assert fit_name("é" * 200, 192) == "é" * 127  # 254 bytes: within FluentCart's 255
    assert fit_name("é" * 200, 150, max_bytes=None) == "é" * 150
