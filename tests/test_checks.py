"""manage.py check reports missing or unsafe FluentCart settings with stable ids."""

import pytest

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


# -- one place validates and redacts the URL ----------------------------------------------------------------


def test_url_without_a_scheme_never_echoes_its_password(settings):
    from fluentcart_sync.client import rest_base_url
    from fluentcart_sync.exceptions import FluentCartConfigurationError

    for url in ("user:s3cret-pw@shop.example.com", "https://user:s3cret-pw@shop.example.com",
                "user:s3cr/et-pw@shop.example.com/path", "s3cret-pw@shop.example.com"):
        settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": url}
        messages = check_settings()
        assert "fluentcart_sync.E004" in {m.id for m in messages}, url
        assert all("s3cret" not in str(m) and "s3cr/et" not in str(m) for m in messages), url
        with pytest.raises(FluentCartConfigurationError) as caught:
            rest_base_url(url)
        assert "s3cr" not in str(caught.value)


def test_redact_url():
    from fluentcart_sync.url_safety import redact_url

    assert redact_url("https://shop.example.com/x") == "https://shop.example.com/x"
    assert redact_url("https://u:p@shop.example.com/x") == "https://***@shop.example.com/x"
    assert redact_url("u:p@ss@shop.example.com") == "***@shop.example.com"
    assert redact_url("u:p/w@shop.example.com") == "***@shop.example.com"


# -- production safety -------------------------------------------------------------------------------------


def test_demo_fake_credentials_outside_debug_are_an_error(settings):
    from fluentcart_sync.sandbox.cli import DEFAULT_PASSWORD

    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "URL": "http://127.0.0.1:8765",
                                "USERNAME": "demo", "APP_PASSWORD": DEFAULT_PASSWORD}
    settings.DEBUG = True
    assert "fluentcart_sync.E007" not in ids(settings)
    settings.DEBUG = False
    assert "fluentcart_sync.E007" in ids(settings)


def test_missing_tasks_api_is_a_check_error(monkeypatch):
    from fluentcart_sync import checks

    assert checks.check_tasks_api() == []
    monkeypatch.setattr(checks.importlib.util, "find_spec", lambda name: None)
    messages = checks.check_tasks_api()
    assert [m.id for m in messages] == ["fluentcart_sync.E008"]
    assert "django-tasks" in messages[0].hint


def test_check_command_fails_without_the_tasks_api(monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from fluentcart_sync import checks

    monkeypatch.setattr(checks.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemCheckError, match="fluentcart_sync.E008"):
        call_command("check")


def test_a_quarantine_shorter_than_a_request_is_a_warning(settings):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "TIMEOUT": 10, "QUARANTINE_SECONDS": 5}
    assert "fluentcart_sync.W002" in ids(settings)
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "QUARANTINE_SECONDS": None}
    assert "fluentcart_sync.W002" not in ids(settings)
