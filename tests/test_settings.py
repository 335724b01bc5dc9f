"""The FLUENTCART_SYNC settings: defaults, lazy reads, the timeout pair, and checks on bad values."""

import pytest

from fluentcart_sync.checks import check_settings
from fluentcart_sync.conf import DEFAULTS, app_settings
from fluentcart_sync.validation import validate_plain_text, validate_wordpress_email


def test_unset_keys_fall_back_to_defaults_and_changes_apply_without_reimport(settings):
    settings.FLUENTCART_SYNC = {"URL": "https://shop.example.com"}
    assert app_settings.MAX_ATTEMPTS == DEFAULTS["MAX_ATTEMPTS"]
    settings.FLUENTCART_SYNC = {"URL": "https://shop.example.com", "MAX_ATTEMPTS": 3}
    assert app_settings.MAX_ATTEMPTS == 3


def test_a_misspelt_setting_name_is_an_error_not_a_silent_default():
    with pytest.raises(AttributeError, match="Unknown fluentcart_sync setting: MAX_ATEMPTS"):
        app_settings.MAX_ATEMPTS  # noqa: B018


def test_timeout_is_a_read_timeout_or_a_connect_read_pair(settings):
    settings.FLUENTCART_SYNC = {"TIMEOUT": 7}
    assert app_settings.timeout == (DEFAULTS["CONNECT_TIMEOUT"], 7.0)
    settings.FLUENTCART_SYNC = {"TIMEOUT": (2, 20)}
    assert app_settings.timeout == (2.0, 20.0)


@pytest.mark.parametrize("timeout", ["soon", (1,), None])
def test_a_timeout_that_is_not_seconds_is_reported_by_check(settings, timeout):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "TIMEOUT": timeout}
    assert "fluentcart_sync.E006" in {message.id for message in check_settings()}


@pytest.mark.parametrize("timeout", [0, (0, 5), (3, -1)])
def test_a_timeout_that_is_not_positive_is_reported_by_check(settings, timeout):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "TIMEOUT": timeout}
    assert "fluentcart_sync.E006" in {message.id for message in check_settings()}


@pytest.mark.parametrize("email", ["ada@example..com", "ada@.example.com", "ada@example.com.", "ada@localhost"])
def test_wordpress_refuses_emails_with_empty_domain_labels(email):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_wordpress_email(email)


def test_validators_compare_equal_so_migrations_stay_stable():
    # makemigrations compares field validators: a new instance must equal the shipped one.
    assert type(validate_plain_text)() == validate_plain_text
    assert type(validate_wordpress_email)() == validate_wordpress_email
    assert validate_plain_text != validate_wordpress_email
