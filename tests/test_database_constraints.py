"""The database itself refuses a second customer with the same email, ignoring case, on every
supported database (on MariaDB through migration 0002's index, since it has no expression indexes)."""

import pytest
from django.db import IntegrityError, transaction

from fluentcart_sync.models import Customer

pytestmark = pytest.mark.django_db


def test_the_database_refuses_an_email_that_differs_only_in_case():
    Customer.objects.bulk_create([Customer(email="Ada@Example.com", full_name="Ada Lovelace")])
    with pytest.raises(IntegrityError), transaction.atomic():
        # bulk_create skips model validation: only the database can refuse it.
        Customer.objects.bulk_create([Customer(email="ada@example.COM", full_name="Ada Again")])
    assert Customer.objects.count() == 1


def test_different_emails_are_fine():
    Customer.objects.bulk_create([Customer(email="one@example.com"), Customer(email="two@example.com")])
    assert Customer.objects.count() == 2
