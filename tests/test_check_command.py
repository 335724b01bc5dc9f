"""`manage.py fluentcart_check` gives the right verdict, cause and fix for each way a set-up fails,
against the fake FluentCart configured to fail that way; it never prints the password."""

import io
import socket

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError

from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

from .conftest import APP_PASSWORD, USERNAME

# The check reads whether pushes are paused from the database.
pytestmark = pytest.mark.django_db

def run_check():
    """(passed, output)."""
    out = io.StringIO()
    try:
        call_command("fluentcart_check", stdout=out)
    except CommandError as err:
        text = out.getvalue()
        assert APP_PASSWORD not in text and APP_PASSWORD not in str(err)
        return False, text
    assert APP_PASSWORD not in out.getvalue()
    return True, out.getvalue()


def test_everything_works(fake):
    fake.create_customer(email="a@example.com", full_name="A A")
    passed, text = run_check()
    assert passed
    assert "Verdict: OK" in text and "holds 1 customers" in text
    assert "Password:  set (hidden)" in text


def test_missing_settings_are_reported_before_any_request(fake, fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = ""
    passed, text = run_check()
    assert not passed
    assert "[FAIL] settings" in text and "fluentcart_sync.E003" in text
    assert list(fake.requests_seen) == []


def test_plugin_inactive_or_wrong_url_gives_rest_no_route(fake):
    fake.mode = "no_route"
    passed, text = run_check()
    assert not passed
    assert "[ok]   reach the server" in text
    assert "[FAIL] find FluentCart's API" in text and "rest_no_route" in text
    assert "FluentCart plugin is not active" in text and "Activate FluentCart" in text


def test_wrong_password(fake, fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = "wrong pass word 9999"
    passed, text = run_check()
    assert not passed
    assert "[FAIL] authenticate" in text and "HTTP 401" in text
    assert "Application Passwords" in text and "wrong username or application password" in text
    assert "wrong pass word 9999" not in text


def test_plain_http_where_application_passwords_are_unavailable(fluentcart_settings, settings):
    # Over http:// on a non-local site WordPress ignores application passwords: every call is a 401.
    # (Outside DEBUG the settings check already refuses http://; in DEBUG the request shows why.)
    settings.DEBUG = True
    fluentcart_settings["URL"] = "http://shop.example.com"
    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD, mode="unauthorized")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.register(rsps, "http://shop.example.com/wp-json/fluent-cart/v2")
        passed, text = run_check()
    assert not passed
    assert "[FAIL] authenticate" in text and "over plain http://" in text
    assert "only over HTTPS" in text and "https://" in text


def test_user_without_fluentcart_permissions(fake):
    fake.mode = "forbidden"
    passed, text = run_check()
    assert not passed
    assert "[ok]   authenticate" in text
    assert "[FAIL] read customers" in text and "HTTP 403" in text and "Manager" in text


def test_timeout(fake):
    fake.faults.slow_rate = 1.0
    passed, text = run_check()
    assert not passed
    assert "[FAIL] reach the server" in text and "did not answer within 5s" in text
    assert "FLUENTCART_TIMEOUT" in text


@pytest.fixture
def sandbox():
    with SandboxServer(FakeFluentCart(username=USERNAME, password=APP_PASSWORD)) as server:
        yield server


def test_works_over_real_http_against_the_sandbox(sandbox, fluentcart_settings):
    fluentcart_settings["URL"] = sandbox.url
    passed, text = run_check()
    assert passed and "Verdict: OK" in text


def test_plugin_inactive_over_real_http(sandbox, fluentcart_settings):
    import requests

    requests.post(sandbox.url + "/__sandbox__/mode", json={"mode": "no_route"}, timeout=5)
    fluentcart_settings["URL"] = sandbox.url
    passed, text = run_check()
    assert not passed and "FluentCart plugin is not active" in text


def test_tls_error(sandbox, fluentcart_settings):
    # https:// to a server that speaks plain HTTP: the TLS handshake fails, as with a broken certificate.
    fluentcart_settings["URL"] = f"https://127.0.0.1:{sandbox.port}"
    passed, text = run_check()
    assert not passed
    assert "[FAIL] reach the server" in text and "TLS error" in text and "certificate" in text


def test_connection_refused(fluentcart_settings):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fluentcart_settings["URL"] = f"http://127.0.0.1:{port}"
    passed, text = run_check()
    assert not passed
    assert "[FAIL] reach the server" in text and "connection refused" in text


def test_url_without_a_scheme_is_never_printed_with_its_password(fluentcart_settings):
    fluentcart_settings["URL"] = "django-sync:s3cret-in-url@shop.example.com"
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("fluentcart_check", stdout=out)
    text = out.getvalue() + str(caught.value)
    assert "s3cret-in-url" not in text
    assert "***@shop.example.com" in text and "fluentcart_sync.E004" in text


@responses.activate
def test_a_redirect_is_reported_with_where_it_went(fluentcart_settings):
    fluentcart_settings["URL"] = "https://shop.example.com/nothing-here"
    responses.get("https://shop.example.com/nothing-here/wp-json/fluent-cart/v2/customers", status=301,
                  headers={"Location": "https://shop.example.com/nothing-here-2/"})
    responses.get("https://shop.example.com/nothing-here-2/", body="<html>a post</html>")  # never followed
    passed, text = run_check()
    assert not passed
    assert "[FAIL] find FluentCart's API" in text and "redirects (HTTP 301) to https://shop.example.com/nothing-here-2/" in text
    assert "caching plugin" not in text
    assert len(responses.calls) == 1


@responses.activate
def test_a_404_web_page_is_a_wrong_url():
    responses.get("https://shop.example.com/wp-json/fluent-cart/v2/customers", status=404,
                  body="<html>Page not found</html>", content_type="text/html")
    passed, text = run_check()
    assert not passed
    assert "[FAIL] find FluentCart's API" in text and "a 404 web page, not JSON" in text


@responses.activate
@pytest.mark.parametrize("body", [{"unexpected": True}, [1, 2], {"customers": "nope"}])
def test_a_200_with_unexpected_json_is_diagnosed_not_a_crash(body):
    responses.get("https://shop.example.com/wp-json/fluent-cart/v2/customers", json=body)
    passed, text = run_check()
    assert not passed
    assert "[FAIL] find FluentCart's API" in text and "not FluentCart's customer list" in text


def test_from_the_command_line_a_failure_exits_1_without_repeating_the_verdict():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {key: value for key, value in os.environ.items() if not key.startswith("FLUENTCART_")}
    env.update(DJANGO_SETTINGS_MODULE="project.settings", FLUENTCART_URL="http://127.0.0.1:9",
               FLUENTCART_USERNAME="someone", FLUENTCART_APP_PASSWORD="")
    done = subprocess.run([sys.executable, "manage.py", "fluentcart_check"], cwd=Path(__file__).resolve().parent.parent,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Verdict: FAILED" in done.stdout and done.stdout.count("Verdict") == 1
    assert "CommandError" not in done.stdout + done.stderr
