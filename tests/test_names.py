"""Names as FluentCart stores them (issue 18, items 15-17). FluentCart holds one name: in its default
full-name mode it splits ``full_name`` at the last space (``Mary van Dyke`` is ``Mary van`` /
``Dyke``), in first/last mode it joins the two. The row records what FluentCart shows, an edit of one
part of the name is an edit of the name, and a name conflict is resolved as one name."""

import pytest
from django.urls import reverse

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer

pytestmark = pytest.mark.django_db

MODES = ["full_name", "first_last"]
FORM = {"email": "amy@example.com", "full_name": "Amy Pond", "first_name": "Amy", "last_name": "Pond",
        "status": "active", "notes": "", "city": "Leadworth", "state": "", "postcode": "", "country": "GB",
        "user": ""}


def remote(fake, fluentcart_id):
    [record] = [c for c in fake.customers() if c["id"] == fluentcart_id]
    return record


def edit(pk, **changes):
    customer = Customer.objects.get(pk=pk)
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.save()


def name_of(record):
    return record["full_name"], record["first_name"], record["last_name"]


# -- 15. FluentCart's split is recorded -----------------------------------------------------------


def test_a_create_records_fluentcarts_split_and_a_later_edit_syncs(fake):
    customer = Customer.objects.create(email="mary@example.com", full_name="Mary van Dyke", first_name="Mary",
                                       last_name="van Dyke")

    assert push_customer(customer.pk).outcome == Outcome.CREATED

    row = Customer.objects.get(pk=customer.pk)
    assert name_of(remote(fake, row.fluentcart_id)) == ("Mary van Dyke", "Mary van", "Dyke")
    assert (row.full_name, row.first_name, row.last_name) == ("Mary van Dyke", "Mary van", "Dyke")
    assert row.sync_status == SyncStatus.SYNCED

    edit(customer.pk, city="Amsterdam")  # an unrelated edit
    result = push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert result.outcome == Outcome.UPDATED and row.sync_status == SyncStatus.SYNCED, row.sync_error
    assert remote(fake, row.fluentcart_id)["city"] == "Amsterdam"


def test_an_update_records_fluentcarts_split_instead_of_failing(fake):
    customer = Customer.objects.create(email="mary@example.com", full_name="Mary Smith")
    push_customer(customer.pk)
    edit(customer.pk, full_name="Mary van Dyke", first_name="Mary", last_name="van Dyke")  # all three at once

    result = push_customer(customer.pk)

    row = Customer.objects.get(pk=customer.pk)
    assert result.outcome == Outcome.UPDATED and row.sync_status == SyncStatus.SYNCED, row.sync_error
    assert (row.full_name, row.first_name, row.last_name) == ("Mary van Dyke", "Mary van", "Dyke")
    edit(customer.pk, notes="Prefers email")
    assert push_customer(customer.pk).outcome == Outcome.UPDATED
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.SYNCED


# -- 16. changing only the first or the last name in the admin syncs, in both name modes ---------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("changed, expected", [
    ({"first_name": "Amelia"}, ("Amelia Pond", "Amelia", "Pond")),
    ({"last_name": "Williams"}, ("Amy Williams", "Amy", "Williams")),
    ({"full_name": "Amelia Jessica Pond"}, ("Amelia Jessica Pond", "Amelia Jessica", "Pond")),
], ids=["first", "last", "full"])
def test_changing_one_part_of_the_name_in_the_admin_syncs(fake, admin_client, mode, changed, expected):
    fake.name_mode = mode
    customer = Customer.objects.create(**{k: v for k, v in FORM.items() if k != "user"})
    push_customer(customer.pk)

    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    assert admin_client.post(url, {**FORM, **changed}).status_code == 302
    result = push_customer(customer.pk)  # what the task does once the admin's transaction commits

    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.SYNCED and result.outcome == Outcome.UPDATED, row.sync_error
    assert (row.full_name, row.first_name, row.last_name) == expected
    assert name_of(remote(fake, row.fluentcart_id)) == expected


# -- 17. a name conflict is resolved as one name ---------------------------------------------------


@pytest.mark.parametrize("clicked", ["full_name", "last_name"])
def test_use_fluentcarts_value_on_a_name_conflict_takes_the_whole_name(fake, admin_client, clicked):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    push_customer(customer.pk)
    fake.edit_customer(Customer.objects.get(pk=customer.pk).fluentcart_id, full_name="Amy Jones")
    edit(customer.pk, full_name="Amy Smith")
    push_customer(customer.pk)  # both changed the name: Django's is kept, the conflict recorded
    row = Customer.objects.get(pk=customer.pk)
    assert {"full_name", "last_name"} <= set(row.sync_conflicts)

    url = reverse("admin:fluentcart_sync_customer_resolve_conflict", args=[customer.pk, clicked])
    assert admin_client.post(url, {"choice": "use"}).status_code == 302

    row = Customer.objects.get(pk=customer.pk)
    assert (row.full_name, row.first_name, row.last_name) == ("Amy Jones", "Amy", "Jones")
    assert not set(row.sync_conflicts) & {"full_name", "first_name", "last_name"}, "the name is resolved whole"
    push_customer(customer.pk)
    assert name_of(remote(fake, row.fluentcart_id)) == ("Amy Jones", "Amy", "Jones")
