"""The admin's customer form: every FluentCart limit is said before typing and refused with an error on
the field that causes it; nothing is saved that FluentCart would refuse or store differently, and
nothing is shortened by the browser."""

import re

import pytest
from django.urls import reverse

from fluentcart_sync.models import Customer

pytestmark = pytest.mark.django_db

ADD = reverse("admin:fluentcart_sync_customer_add")
VALID = {"email": "ada@example.com", "full_name": "Ada Lovelace", "status": "active"}


def post(admin_client, **fields):
    response = admin_client.post(ADD, {**VALID, **fields})
    errors = {}
    if response.status_code == 200:
        form = response.context["adminform"].form
        errors = {name: list(messages) for name, messages in form.errors.items()}
    return response, errors


def test_no_input_carries_a_maxlength_and_every_limit_is_in_the_help_text(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert "maxlength" not in page
    form = admin_client.get(ADD).context["adminform"].form
    for name in ("full_name", "first_name", "last_name"):
        assert "At most 192 characters and 255 bytes" in str(form.fields[name].help_text), name
    for name in ("city", "state", "postcode"):
        assert "At most 45 characters" in str(form.fields[name].help_text), name
    assert "192 characters" in str(form.fields["email"].help_text)
    assert "line breaks into spaces" in str(form.fields["notes"].help_text)
    assert "Needed by FluentCart" in str(form.fields["full_name"].help_text)


def test_a_60_character_city_is_refused_on_the_city_not_cut(admin_client, fake):
    response, errors = post(admin_client, city="C" * 60)
    assert list(errors) == ["city"]
    assert "at most 45 characters" in errors["city"][0]
    assert not Customer.objects.exists() and fake.count() == 0


def test_a_customer_without_a_name_is_refused_on_the_full_name(admin_client, fake):
    response, errors = post(admin_client, full_name="")
    assert errors == {"full_name": ["FluentCart needs a name: enter a full name, or a first name."]}
    assert not Customer.objects.exists() and fake.count() == 0


def test_a_last_name_alone_is_not_enough_for_fluentcart(admin_client):
    _, errors = post(admin_client, full_name="", last_name="Lovelace")
    assert list(errors) == ["full_name"]


def test_a_first_name_alone_is_enough(admin_client, fake):
    response, errors = post(admin_client, full_name="", first_name="Ada")
    assert response.status_code == 302, errors
    assert Customer.objects.get().full_name == "Ada"


def test_first_and_last_name_too_long_together_is_reported_on_the_longer_one_typed(admin_client):
    _, errors = post(admin_client, full_name="", first_name="F" * 100, last_name="L" * 120)
    assert list(errors) == ["last_name"], errors
    assert "221 characters" in errors["last_name"][0] and "at most 192 characters" in errors["last_name"][0]
    assert not Customer.objects.exists()


def test_a_cjk_full_name_over_255_bytes_is_reported_on_the_full_name_only(admin_client):
    name = "王" * 90  # 90 characters, 270 bytes
    _, errors = post(admin_client, full_name=name)
    assert list(errors) == ["full_name"], errors
    assert "at most 255 bytes" in errors["full_name"][0] and "270" in errors["full_name"][0]


def test_cjk_first_and_last_names_over_255_bytes_together_are_reported_on_the_longer(admin_client):
    _, errors = post(admin_client, full_name="", first_name="王" * 40, last_name="李" * 50)
    assert list(errors) == ["last_name"], errors
    assert "271 bytes" in errors["last_name"][0]


def test_a_less_than_sign_in_the_full_name_flags_only_the_full_name(admin_client):
    _, errors = post(admin_client, full_name="Ada <b>Lovelace</b>")
    assert list(errors) == ["full_name"], errors
    assert "Remove every “<” character" in errors["full_name"][0]


def test_a_297_character_full_name_gets_one_error(admin_client):
    _, errors = post(admin_client, full_name="N" * 297)
    assert list(errors) == ["full_name"] and len(errors["full_name"]) == 1, errors


@pytest.mark.django_db(transaction=True)  # let on_commit push, as in production
def test_the_country_is_an_iso_code_from_a_list(admin_client, fake):
    _, errors = post(admin_client, country="Deutschland")
    assert list(errors) == ["country"]
    assert "Select a valid choice" in errors["country"][0]
    response, errors = post(admin_client, country="DE")
    assert response.status_code == 302, errors
    assert Customer.objects.get().country == "DE"
    assert fake.customers()[0]["country"] == "DE"


def test_the_country_list_shows_names_and_sends_codes(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert re.search(r'<option value="DE">Germany</option>', page)
    assert '<option value="US">United States of America</option>' in page


def test_a_country_saved_before_the_list_is_kept_until_someone_chooses(admin_client):
    customer = Customer.objects.create(email="old@example.com", full_name="Old Timer", country="Deutschland")
    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    page = admin_client.get(url).content.decode()
    assert '<option value="Deutschland" selected>Deutschland (not a country code: choose one)</option>' in page
    response = admin_client.post(url, {"email": "old@example.com", "full_name": "Old Timer", "status": "active",
                                       "country": "Deutschland", "city": "Bonn"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.country, customer.city) == ("Deutschland", "Bonn")


@pytest.mark.django_db(transaction=True)
def test_line_breaks_in_notes_are_shown_folded_before_saving(admin_client, fake):
    notes = "Prefers email.\r\nCall after 5pm.\r\n\r\nVIP"
    response, errors = post(admin_client, notes=notes)
    assert list(errors) == ["notes"]
    assert "the line breaks are now spaces" in errors["notes"][0]
    assert not Customer.objects.exists()
    # The box now holds what FluentCart will store; saving it again is accepted as it is.
    shown = response.context["adminform"].form["notes"].value()
    assert shown == "Prefers email. Call after 5pm. VIP"
    assert re.search(r">\s*Prefers email\. Call after 5pm\. VIP</textarea>", response.content.decode())
    response, errors = post(admin_client, notes=shown)
    assert response.status_code == 302, errors
    assert Customer.objects.get().notes == shown == fake.customers()[0]["notes"]


def test_html_in_notes_is_still_refused(admin_client):
    _, errors = post(admin_client, notes="<b>bold</b>")
    assert list(errors) == ["notes"]
    assert "FluentCart strips them" in errors["notes"][0]


@pytest.mark.django_db(transaction=True)
def test_the_model_stays_permissive_for_host_code(fake):
    """Host code can still save what the form refuses; the push then fails with FluentCart's message."""
    customer = Customer.objects.create(email="host@example.com", full_name="")
    customer.refresh_from_db()
    assert customer.pk and customer.sync_status == "failed"
    assert "Full Name is required" in customer.sync_error or "full_name" in customer.sync_error
