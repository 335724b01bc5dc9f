"""Local validation refuses what FluentCart would refuse or silently change (issue 11's examples)."""

import pytest
from django.core.exceptions import ValidationError

from fluentcart_sync.models import Customer
from fluentcart_sync.validation import validate_notes, validate_plain_text, validate_wordpress_email

pytestmark = pytest.mark.django_db


def _errors(**fields) -> dict[str, list[str]]:
    customer = Customer(**{"email": "ok@example.com", "full_name": "Ok Name", **fields})
    try:
        customer.full_clean()
    except ValidationError as err:
        return err.message_dict
    return {}


def test_notes_that_fluentcart_would_rewrite_are_refused():
    # FluentCart stores this as "Line one Line two: VIP, 100 sure" (tags, newline and %25 gone).
    errors = _errors(notes="Line one\nLine two: <b>VIP</b>, 100%25 sure")
    assert "notes" in errors
    assert "<" in errors["notes"][0]


@pytest.mark.parametrize(
    ("notes", "hint"),
    [("Line one\nLine two", "single spaces"), ("100%25 sure", "%25"), ("two  spaces", "single spaces"),
     (" padded", "single spaces"), ("tab\there", "single spaces"), ("<i>x</i>", "HTML")],
)
def test_each_rewrite_of_notes_has_its_own_message(notes, hint):
    with pytest.raises(ValidationError) as caught:
        validate_notes(notes)
    assert hint in caught.value.messages[0]


@pytest.mark.parametrize("notes", ["", "VIP & friends, 100% sure > 99", "Zoë 李 😀 -- 'quoted'"])
def test_plain_notes_pass(notes):
    validate_notes(notes)


def test_email_with_a_percent_octet_is_refused_without_talking_about_a_less_than():
    errors = _errors(email="x%41y@example.com")
    assert "email" in errors
    assert "%41" in errors["email"][0]
    assert "<" not in errors["email"][0]
    validate_wordpress_email("100%sure@example.com")  # a "%" not followed by two hex digits is fine


def test_percent_octet_message_in_a_name_does_not_talk_about_a_less_than():
    with pytest.raises(ValidationError) as caught:
        validate_plain_text("x%41y")
    assert "<" not in caught.value.messages[0] and "%41" in caught.value.messages[0]


def test_names_are_limited_in_utf8_bytes_like_fluentcart():
    name = "李" * 103  # 103 characters under the 192 limit, but 309 bytes over FluentCart's 255
    errors = _errors(full_name=name)
    assert "255 bytes" in errors["full_name"][0] and "309" in errors["full_name"][0]
    assert not _errors(full_name="李" * 85)  # 255 bytes exactly


def test_first_and_last_names_are_limited_in_bytes_too():
    errors = _errors(full_name="", first_name="é" * 100, last_name="e" * 100)
    assert "first_name" not in errors  # 200 bytes
    assert "full_name" in errors  # the joined name is 301 bytes


def test_the_same_data_is_validated_once_not_on_every_attempt(monkeypatch):
    from fluentcart_sync import payloads

    monkeypatch.setattr(payloads, "_verdicts", {})
    judged = []
    clean_fields = Customer.clean_fields

    def counting(self, exclude=None):
        judged.append(self.email)
        return clean_fields(self, exclude=exclude)

    monkeypatch.setattr(Customer, "clean_fields", counting)
    customer = Customer.objects.create(email="once@example.com", full_name="Once Only")
    assert payloads.local_field_errors(customer) == {}
    assert payloads.local_field_errors(Customer.objects.get(pk=customer.pk)) == {}  # a retry: not judged again
    assert len(judged) == 1

    customer.notes = "<b>VIP</b>"  # other data: judged
    errors = payloads.local_field_errors(customer)
    assert "notes" in errors and len(judged) == 2
    errors["notes"].append("changed by the caller")
    assert payloads.local_field_errors(customer)["notes"] != errors["notes"], "each caller gets its own copy"
    assert len(judged) == 2
