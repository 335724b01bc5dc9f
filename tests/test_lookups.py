"""Look-ups that do not scan the store (issue 18): FluentCart's search is a substring match in which
``%`` and ``_`` are wildcards, so an email holding them can match most of the store. One look-up
stays within two GETs: the whole email is the search (the narrowest FluentCart allows), and what it
still cannot narrow down is refused with a message, never read page after page."""

import pytest

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db


def gets(fake):
    return [r for r in sent(fake, "GET") if r.path == "/customers"]


def shop_with(fake, emails):
    for n, email in enumerate(emails):
        fake.create_customer(email=email, full_name=f"Shop Customer{n}", status="active")


def test_an_email_with_a_percent_that_matches_the_whole_store_is_refused_within_two_gets(fake):
    shop_with(fake, [f"user{n}@gmail.com" for n in range(2000)])
    existing = fake.create_customer(email="%@gmail.com", full_name="Percy Cent", status="active")
    customer = Customer.objects.create(email="%@gmail.com", full_name="Percy Cent")

    result = push_customer(customer.pk)  # the POST answers "exists": the email is looked up

    assert len(gets(fake)) <= 2, "today: 11 pages of FluentCart's search"
    row = Customer.objects.get(pk=customer.pk)
    assert result.outcome == Outcome.FAILED and row.sync_status == SyncStatus.FAILED
    assert "wildcard" in row.sync_error and "email" in row.sync_field_errors
    assert row.fluentcart_id is None and fake.count() == 2001, "nothing linked by guess, nothing created"
    assert existing["id"] not in {c.fluentcart_id for c in Customer.objects.all()}


def test_an_email_with_a_percent_in_a_small_store_is_still_found(fake):
    shop_with(fake, [f"user{n}@gmail.com" for n in range(150)])
    existing = fake.create_customer(email="%@gmail.com", full_name="Percy Cent", status="active")
    customer = Customer.objects.create(email="%@gmail.com", full_name="Percy Cent")

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.LINKED and result.fluentcart_id == existing["id"]
    assert len(gets(fake)) == 1


def test_an_email_with_an_underscore_is_searched_whole_not_by_its_longest_part(fake):
    # "_" matches one character: the whole email matches a handful, "smith@example.com" the whole store.
    shop_with(fake, [f"user{n}smith@example.com" for n in range(2000)] + ["jane.smith@example.com"])
    existing = fake.create_customer(email="Jane_Smith@example.com", full_name="Jane Smith", status="active")
    customer = Customer.objects.create(email="jane_smith@example.com", full_name="Jane Smith")

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.LINKED and result.fluentcart_id == existing["id"]
    assert [r.query["search"] for r in gets(fake)] == ["jane_smith@example.com"]


def test_an_email_fluentcart_reads_as_an_id_filter_is_refused_without_a_search(fake):
    # FluentCart turns a search of the form id=..., id>..., id::... into a filter on ids.
    fake.create_customer(email="id=7@example.com", full_name="Odd Address", status="active")
    customer = Customer.objects.create(email="id=7@example.com", full_name="Odd Address")

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.FAILED and not gets(fake)
    assert "id=" in Customer.objects.get(pk=customer.pk).sync_error
