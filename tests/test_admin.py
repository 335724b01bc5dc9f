"""Staff see the sync state and push or retry from the admin; pushing needs its own permission."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from fluentcart_sync.models import Customer, SyncStatus

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:fluentcart_sync_customer_changelist")


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer",
                                                                       "add_customer", "sync_customer"]))
    client.force_login(user)
    return client


def test_change_list_shows_status_remote_id_and_last_error(admin_client):
    Customer.objects.create(email="a@example.com", full_name="A A")
    Customer.objects.filter(email="a@example.com").update(
        sync_status=SyncStatus.FAILED, sync_error="FluentCart rejected the customer: city: The city must be a valid text")
    Customer.objects.create(email="b@example.com", full_name="B B")
    Customer.objects.filter(email="b@example.com").update(sync_status=SyncStatus.SYNCED, fluentcart_id=4242)
    page = admin_client.get(CHANGELIST).content.decode()
    assert "4242" in page
    assert "The city must be a valid text" in page
    assert "Failed: needs attention" in page


def test_filter_and_search(admin_client):
    Customer.objects.create(email="find.me@example.com", full_name="Findable Person")
    Customer.objects.create(email="other@example.com", full_name="Other Person")
    page = admin_client.get(CHANGELIST, {"q": "findable"}).content.decode()
    assert "find.me@example.com" in page and "other@example.com" not in page
    page = admin_client.get(CHANGELIST, {"sync_status__exact": "synced"}).content.decode()
    assert "find.me@example.com" not in page


def test_push_action_reports_pushed_already_synced_and_failed(staff_client, fake):
    ok = Customer.objects.create(email="ok@example.com", full_name="Ok Person")
    synced = Customer.objects.create(email="done@example.com", full_name="Done Person")
    from fluentcart_sync.services import push_customer

    push_customer(synced)
    bad = Customer.objects.create(email="bad@example.com", full_name="Bad")
    Customer.objects.filter(pk=bad.pk).update(full_name="<i>Bad</i>")
    response = staff_client.post(CHANGELIST, {"action": "push_to_fluentcart",
                                              "_selected_action": [ok.pk, synced.pk, bad.pk]}, follow=True)
    text = response.content.decode()
    assert "1 pushed, 1 already synced, 1 failed" in text
    ok.refresh_from_db()
    assert ok.sync_status == SyncStatus.SYNCED and ok.fluentcart_id


def test_push_action_needs_the_sync_permission(client, fake):
    user = get_user_model().objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    client.force_login(user)
    customer = Customer.objects.create(email="x@example.com", full_name="X Y")
    page = client.get(CHANGELIST).content.decode()
    assert "push_to_fluentcart" not in page
    client.post(CHANGELIST, {"action": "push_to_fluentcart", "_selected_action": [customer.pk]})
    assert fake.count() == 0


def test_sync_fields_are_read_only_on_the_change_form(admin_client):
    customer = Customer.objects.create(email="ro@example.com", full_name="Read Only")
    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    form = admin_client.get(url).context["adminform"].form
    assert "email" in form.fields
    for name in ("fluentcart_id", "sync_status", "sync_error", "sync_attempts", "synced_at"):
        assert name not in form.fields


@pytest.mark.django_db(transaction=True)
def test_customer_added_in_the_admin_is_pushed_after_commit(admin_client, fake):
    response = admin_client.post(reverse("admin:fluentcart_sync_customer_add"), {
        "email": "added@example.com", "full_name": "Added  In Admin", "first_name": "", "last_name": "",
        "status": "active", "notes": "", "city": "Leeds", "state": "", "postcode": "", "country": "GB",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get(email="added@example.com")
    assert customer.sync_status == SyncStatus.SYNCED
    [remote] = fake.customers()
    assert customer.fluentcart_id == remote["id"]
    assert (remote["full_name"], remote["city"], remote["country"]) == ("Added In Admin", "Leeds", "GB")


def test_bad_input_in_the_admin_form_is_refused_with_a_clear_message(admin_client, fake):
    response = admin_client.post(reverse("admin:fluentcart_sync_customer_add"), {
        "email": "bad@example.com", "full_name": "<b>Bold</b>", "status": "active", "city": "x" * 50,
    })
    assert response.status_code == 200
    text = response.content.decode()
    assert "FluentCart refuses text containing them" in text
    assert "at most 45 characters" in text
    assert not Customer.objects.exists() and fake.count() == 0
