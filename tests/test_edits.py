"""Edits made in Django reach FluentCart as a full PUT; nothing is sent when nothing changed; a
customer deleted in FluentCart is never silently created again; deleting in Django deletes nothing there."""

import pytest
from django.urls import reverse

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db

FORM = {"email": "jane@example.com", "full_name": "Jane Smith", "first_name": "Jane", "last_name": "Smith",
        "status": "active", "notes": "vip", "city": "Boston", "state": "MA", "postcode": "02101", "country": "US",
        "user": ""}


@pytest.fixture
def synced(fake):
    customer = Customer.objects.create(**{k: v for k, v in FORM.items() if k != "user"})
    push_customer(customer)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED
    fake.requests_seen.clear()
    return customer


def save_in_admin(admin_client, customer, django_capture_on_commit_callbacks, **changes):
    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {**FORM, **changes})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_an_edit_in_the_admin_sends_a_full_put_with_the_id_in_the_body(
        admin_client, fake, synced, django_capture_on_commit_callbacks):
    save_in_admin(admin_client, synced, django_capture_on_commit_callbacks, email="jane.q@example.com", city="Cambridge")
    [put] = sent(fake, "PUT")
    assert put.path == f"/customers/{synced.fluentcart_id}"
    assert put.body["id"] == synced.fluentcart_id
    # A PUT replaces the whole record: every field goes, not just the changed ones.
    for name in ("email", "full_name", "first_name", "last_name", "status", "country", "city", "state", "postcode", "notes"):
        assert name in put.body, name
    assert not sent(fake, "POST")
    remote = fake.customers()[0]
    assert (remote["email"], remote["city"], remote["state"], remote["notes"]) == (
        "jane.q@example.com", "Cambridge", "MA", "vip")
    synced.refresh_from_db()
    assert synced.sync_status == SyncStatus.SYNCED


def test_an_update_keeps_the_wordpress_user_link_and_aov_fluentcart_holds(fake, synced):
    # Set on the FluentCart side (a WordPress user linked, an order placed): this app does not manage them.
    fake.store.replace(synced.fluentcart_id, {**fake.store.get(synced.fluentcart_id), "user_id": 7, "aov": "42.00"})
    fake.wordpress_user_ids.add(7)  # that WordPress user exists (the fake refuses PUTs for unknown ones)
    Customer.objects.filter(pk=synced.pk).update(city="Cambridge", sync_status=SyncStatus.PENDING)
    push_customer(synced.pk)
    [put] = sent(fake, "PUT")
    assert put.body["user_id"] == 7 and put.body["aov"] == "42.00"
    remote = fake.customers()[0]
    assert remote["user_id"] == "7" and remote["aov"] == "42.00" and remote["city"] == "Cambridge"


def test_an_unchanged_save_in_the_admin_sends_nothing(admin_client, fake, synced, django_capture_on_commit_callbacks):
    save_in_admin(admin_client, synced, django_capture_on_commit_callbacks)
    assert list(fake.requests_seen) == []


def test_customer_deleted_in_fluentcart_before_an_edit_is_flagged_not_duplicated(
        admin_client, fake, synced, django_capture_on_commit_callbacks):
    fake.store.delete([synced.fluentcart_id])
    save_in_admin(admin_client, synced, django_capture_on_commit_callbacks, city="Cambridge")
    synced.refresh_from_db()
    assert synced.sync_status == SyncStatus.MISSING_REMOTE
    assert fake.count() == 0 and not sent(fake, "POST")
    # A later edit does not re-create it either: that is a person's explicit "Sync now".
    save_in_admin(admin_client, synced, django_capture_on_commit_callbacks, city="Somerville")
    assert fake.count() == 0 and not sent(fake, "POST")


def test_customer_deleted_between_the_read_and_the_put_is_flagged_not_duplicated(fake, synced, monkeypatch):
    real_get = FluentCartClient.get_customer

    def get_then_vanish(self, customer_id):
        remote = real_get(self, customer_id)
        fake.store.delete([customer_id])  # deleted in FluentCart a moment later
        return remote

    monkeypatch.setattr(FluentCartClient, "get_customer", get_then_vanish)
    Customer.objects.filter(pk=synced.pk).update(city="Cambridge", sync_status=SyncStatus.PENDING)
    push_customer(synced.pk)
    synced.refresh_from_db()
    [put] = sent(fake, "PUT")
    assert put.status == 500  # FluentCart's "Customer not found, please reload the page"
    assert synced.sync_status == SyncStatus.MISSING_REMOTE
    assert fake.count() == 0 and not sent(fake, "POST")


def test_deleting_in_django_does_not_delete_in_fluentcart(admin_client, fake, synced):
    url = reverse("admin:fluentcart_sync_customer_delete", args=[synced.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Customer.objects.exists()
    assert list(fake.requests_seen) == [] and fake.count() == 1
