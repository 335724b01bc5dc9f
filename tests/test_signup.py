"""/signup/ creates the user, logs them in, and their customer is synced."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from fluentcart_sync.models import Customer, SyncStatus

pytestmark = pytest.mark.django_db(transaction=True)  # let on_commit run as in production

FORM = {"email": "New.Person@example.com", "full_name": "New  Person", "password1": "a-Long-passw0rd!",
        "password2": "a-Long-passw0rd!"}


def test_signup_creates_logs_in_and_syncs(client, fake):
    response = client.post(reverse("signup"), FORM)
    assert response.status_code == 302
    user = get_user_model().objects.get(email="New.Person@example.com")
    assert (user.first_name, user.last_name) == ("New", "Person")
    assert client.session["_auth_user_id"] == str(user.pk)
    customer = Customer.objects.get(user=user)
    assert customer.sync_status == SyncStatus.SYNCED
    assert fake.customers()[0]["email"] == "New.Person@example.com"
    done = client.get(response["Location"]).content.decode()
    assert "has been created" in done


def test_signup_form_uses_the_documented_field_names(client):
    page = client.get(reverse("signup")).content.decode()
    for name in ("email", "full_name", "password1", "password2", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in page


def test_duplicate_email_is_refused_ignoring_case(client, fake):
    get_user_model().objects.create_user("someone", email="new.person@EXAMPLE.com", password="x")
    response = client.post(reverse("signup"), FORM)
    assert response.status_code == 200
    assert "An account with this email already exists." in response.content.decode()
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"password2": "different-passw0rd!"}, "The two password fields didn"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"full_name": "<script>x</script>"}, "FluentCart refuses"),
        ({"full_name": ""}, "This field is required."),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_created(client, fake, changes, message):
    response = client.post(reverse("signup"), {**FORM, **changes})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not get_user_model().objects.exists()
    assert fake.count() == 0


def test_signup_succeeds_even_when_fluentcart_is_down(client, fluentcart_settings):
    fluentcart_settings["URL"] = "http://127.0.0.1:9"
    response = client.post(reverse("signup"), FORM)
    assert response.status_code == 302
    customer = Customer.objects.get(email="New.Person@example.com")
    assert customer.sync_status == SyncStatus.RETRYING


def test_signup_without_a_csrf_token_is_refused(fake):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(reverse("signup"), FORM)
    assert response.status_code == 403
    assert not get_user_model().objects.exists() and fake.count() == 0


def test_form_errors_are_summarised_and_marked_on_their_fields(client):
    page = client.post(reverse("signup"), {**FORM, "email": "not-an-email"}).content.decode()
    assert "Please correct the error below." in page
    assert 'aria-invalid="true"' in page


def test_overlong_email_is_refused_on_the_form(client, fake):
    response = client.post(reverse("signup"), {**FORM, "email": "a" * 140 + "@example.com"})
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("full_name", ["A" * 192, "Jean " + "B" * 186, "C" * 160 + " Lastname", "Word " * 38])
def test_a_long_name_signs_up_and_fits_every_column(client, fake, full_name):
    """On PostgreSQL an over-long first_name is a DataError (a 500): the form splits within User's 150."""
    full_name = full_name[:192]
    response = client.post(reverse("signup"), {**FORM, "full_name": full_name})
    assert response.status_code == 302, response.content.decode()[:500]
    user = get_user_model().objects.get(email="New.Person@example.com")
    assert len(user.first_name) <= 150 and len(user.last_name) <= 150
    customer = Customer.objects.get(user=user)
    assert len(customer.full_name) <= 192 and len(customer.full_name.encode()) <= 255
    assert customer.sync_status == SyncStatus.SYNCED


def test_password_rules_are_shown_before_they_fail(client):
    page = client.get(reverse("signup")).content.decode()
    assert "at least 8 characters" in page and "entirely numeric" in page


def test_a_weak_password_is_reported_under_the_password_not_the_confirmation(client):
    response = client.post(reverse("signup"), {**FORM, "password1": "12345678", "password2": "12345678"})
    form = response.context["form"]
    assert "This password is entirely numeric." in form.errors["password1"]
    assert "password2" not in form.errors
    page = response.content.decode()
    password_field = page.split('id="field-password1"', 1)[1].split('id="field-password2"', 1)[0]
    assert "This password is entirely numeric." in password_field
    # A mismatch is still the confirmation's error, and the only one.
    response = client.post(reverse("signup"), {**FORM, "password2": "other-Long-passw0rd!"})
    assert list(response.context["form"].errors) == ["password2"]


def test_an_invalid_email_shows_one_error(client):
    response = client.post(reverse("signup"), {**FORM, "email": "not-an-email"})
    form = response.context["form"]
    assert form.errors["email"] == ["Enter a valid email address."]
    response = client.post(reverse("signup"), {**FORM, "email": "ada@localhost.x-"})
    assert len(response.context["form"].errors["email"]) == 1


def test_a_297_character_name_gets_one_error_on_the_name(client, fake):
    response = client.post(reverse("signup"), {**FORM, "full_name": "N" * 297})
    errors = response.context["form"].errors
    assert list(errors) == ["full_name"] and len(errors["full_name"]) == 1, errors
    assert "at most 192 characters" in errors["full_name"][0]
    assert not get_user_model().objects.exists() and fake.count() == 0


def test_no_input_is_cut_by_the_browser_and_the_limits_are_said(client):
    page = client.get(reverse("signup")).content.decode()
    assert "maxlength" not in page
    assert "At most 192 characters" in page and "At most 150 characters" in page


def test_a_cjk_name_over_255_bytes_is_refused_before_anything_is_created(client, fake):
    response = client.post(reverse("signup"), {**FORM, "full_name": "王" * 90})
    errors = response.context["form"].errors
    assert list(errors) == ["full_name"] and "255 bytes" in errors["full_name"][0]
    assert not get_user_model().objects.exists() and fake.count() == 0


def test_signup_follows_the_browsers_language(client, fake):
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert '<html lang="de">' in page and "Konto anlegen" in page and "Registrieren" in page
    assert "Vollständiger Name" in page and "Höchstens 192 Zeichen" in page
    response = client.post(reverse("signup"), {**FORM, "email": "not-an-email"}, HTTP_ACCEPT_LANGUAGE="de")
    assert "Bitte korrigieren Sie den Fehler unten." in response.content.decode()
    assert "Create your account" in client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.parametrize(
    "status, says",
    [
        (SyncStatus.SYNCED, "is ready"),
        (SyncStatus.PENDING, "is being set up"),
        (SyncStatus.RETRYING, "is being set up"),
        (SyncStatus.FAILED, "could not be set up yet"),
    ],
)
def test_the_welcome_page_tells_the_customers_true_state(client, fake, status, says):
    client.post(reverse("signup"), FORM)
    Customer.objects.filter(email=FORM["email"]).update(sync_status=status)
    page = client.get(reverse("signup-done")).content.decode()
    assert says in page
    assert page.count("Your customer profile") == 1
    # While it is being set up, the page rereads the state by itself.
    assert ('http-equiv="refresh"' in page) == (says == "is being set up")


def test_the_welcome_page_in_german(client, fake):
    client.post(reverse("signup"), FORM)
    page = client.get(reverse("signup-done"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Willkommen, New!" in page and "Ihr Kundenprofil in unserem Shop ist bereit." in page
