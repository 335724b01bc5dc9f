"""manage.py check reports missing or unsafe FluentCart settings with stable ids."""

from fluentcart_sync.checks import check_settings


def ids(settings):
    return {message.id for message in check_settings()}


def test_complete_settings_pass(settings):
    assert ids(settings) == set()


def test_missing_settings_are_errors(settings):
    settings.FLUENTCART_SYNC = {"URL": "", "USERNAME": "", "APP_PASSWORD": ""}
    assert {"fluentcart_sync.E001", "fluentcart_sync.E002", "fluentcart_sync.E003"} <= ids(settings)


def test_plain_http_outside_debug_is_an_error_except_on_loopback(settings):
    settings.DEBUG = False
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": "http://shop.example.com"}
    assert "fluentcart_sync.E005" in ids(settings)
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": "http://127.0.0.1:8765"}
    assert "fluentcart_sync.E005" not in ids(settings)
    settings.DEBUG = True
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": "http://shop.example.com"}
    assert "fluentcart_sync.E005" not in ids(settings)


def test_not_a_url_is_an_error(settings):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": "shop.example.com"}
    assert "fluentcart_sync.E004" in ids(settings)


def test_lease_shorter_than_a_push_is_a_warning(settings):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "LEASE_SECONDS": 10, "TIMEOUT": 10}
    assert "fluentcart_sync.W001" in ids(settings)


def test_password_never_appears_in_check_messages(settings):
    settings.DEBUG = False
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": "http://shop.example.com", "APP_PASSWORD": "s3cret-pw"}
    assert all("s3cret-pw" not in str(message) for message in check_settings())
