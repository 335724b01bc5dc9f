"""Bad input is refused in Django, with a clear message, before it can fail or be cut remotely."""

import pytest
from django.core.exceptions import ValidationError

from fluentcart_sync.models import Customer

pytestmark = pytest.mark.django_db


def test_whitespace_is_folded_and_names_fill_each_other():
    customer = Customer(email="  ann@example.com ", full_name="Mary\t Ann   Lee")
    customer.full_clean()
    assert customer.email == "ann@example.com"
    assert customer.full_name == "Mary Ann Lee"
    assert (customer.first_name, customer.last_name) == ("Mary Ann", "Lee")
    other = Customer(email="b@example.com", first_name="Bo", last_name="Diddley")
    other.full_clean()
    assert other.full_name == "Bo Diddley"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("email", "a" * 181 + "@example.com", "at most 192"),
        ("email", "zoë@exämple.com", "WordPress accepts"),
        ("email", "a@localhost", "WordPress accepts"),
        ("full_name", "<b>Bold</b> Name", "<"),
        ("city", "Paris %41", "%XX"),
        ("city", "x" * 46, "at most 45"),
        ("postcode", "1" * 46, "at most 45"),
        ("first_name", "y" * 193, "at most 192"),
    ],
)
def test_values_fluentcart_would_refuse_or_cut_are_refused(field, value, message):
    customer = Customer(email="ok@example.com", full_name="Ok Name")
    setattr(customer, field, value)
    with pytest.raises(ValidationError) as caught:
        customer.full_clean()
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])


def test_email_is_unique_ignoring_case():
    Customer.objects.create(email="jane@example.com", full_name="Jane")
    duplicate = Customer(email="JANE@example.com", full_name="Jane Again")
    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()
    assert "already exists" in str(caught.value)
