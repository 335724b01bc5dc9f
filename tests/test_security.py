"""The application password stays secret (logs at DEBUG, errors, reprs, the admin, Django's error
pages), and TLS verification is never off: a certificate nobody vouches for stops the push."""

import base64
import json
import logging
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.views.debug import SafeExceptionReporterFilter

from fluentcart_sync import exceptions as exc
from fluentcart_sync.checks import check_settings
from fluentcart_sync.client import FluentCartClient, get_client
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults
from fluentcart_sync.services import push_customer

from .conftest import APP_PASSWORD, USERNAME
from .e2e_support import served_fake

SECRET = "Sup3r s3cr3t aPP pw 9999"  # spaces, like a real Application Password


def leaks(text: str) -> list[str]:
    """The forms in which the password could leak: as is, without spaces, or inside a Basic header."""
    forms = {
        "password": SECRET,
        "password without spaces": SECRET.replace(" ", ""),
        "Basic token": base64.b64encode(f"{USERNAME}:{SECRET}".encode()).decode(),
    }
    return [name for name, form in forms.items() if form in text]


@pytest.fixture
def live(fluentcart_settings):
    """The fake over real HTTP, with the secret as its password; every kind of failure on the menu."""
    fake, server = served_fake()
    fake.password = SECRET
    fluentcart_settings.update(URL=server.url, APP_PASSWORD=SECRET, TIMEOUT=0.3, MAX_ATTEMPTS=3,
                               RETRY_BASE_SECONDS=0)
    yield fake, server
    server.stop()
    fake.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_password_never_reaches_logs_errors_or_reprs_whatever_happens(live, fluentcart_settings, caplog):
    fake, server = live
    for name in (None, "fluentcart_sync", "urllib3"):  # everything, urllib3's request lines included
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []
    client = get_client()

    def attempt(call):
        try:
            call()
        except exc.FluentCartError as err:
            errors.append(err)

    customer = Customer.objects.create(email="jane@example.com", full_name="Jane Doe")
    for faults in (Faults(), Faults(error_rate=1.0, seed=1), Faults(rate_limit_rate=1.0),
                   Faults(drop_rate=1.0), Faults(slow_rate=1.0, slow_seconds=0.6)):
        fake.faults = faults
        attempt(lambda: client.create_customer({"email": "x@example.com", "full_name": "X"}))
        attempt(lambda: client.find_by_email("jane@example.com"))
        Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.PENDING)
        push_customer(customer.pk)
    fake.faults = Faults()
    for mode in ("unauthorized", "forbidden", "no_route"):
        fake.mode = mode
        attempt(lambda: client.get_customer(1))
    fake.mode = "ok"
    attempt(lambda: client.create_customer({"email": "not-an-email", "full_name": ""}))
    attempt(lambda: FluentCartClient("http://127.0.0.1:9", USERNAME, SECRET).get_customer(1))  # refused
    fluentcart_settings["APP_PASSWORD"] = SECRET + " wrong"
    Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.PENDING)
    push_customer(customer.pk)

    assert {type(err) for err in errors} >= {
        exc.FluentCartServerError, exc.FluentCartRateLimited, exc.FluentCartTransportError, exc.FluentCartTimeout,
        exc.FluentCartAuthError, exc.FluentCartPermissionError, exc.FluentCartRouteNotFound,
        exc.FluentCartValidationError, exc.FluentCartConnectError,
    }
    assert "urllib3" in {record.name.split(".")[0] for record in caplog.records}
    assert leaks(caplog.text) == []
    for err in errors:
        assert leaks(str(err)) == [] and leaks(repr(err)) == [] and leaks(repr(err.args)) == []
    assert leaks(repr(client)) == [] and leaks(str(client)) == []
    for row in Customer.objects.values():
        assert leaks(json.dumps(row, default=str)) == []


@pytest.mark.django_db
def test_admin_pages_never_show_the_password(admin_client, fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = SECRET
    customer = Customer.objects.create(email="a@example.com", full_name="A A", sync_status=SyncStatus.FAILED,
                                       sync_error="FluentCart refused the credentials")
    for url in ("/admin/", "/admin/fluentcart_sync/", "/admin/fluentcart_sync/customer/",
                f"/admin/fluentcart_sync/customer/{customer.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert leaks(page.content.decode()) == []


def test_django_error_reports_hide_the_password(fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = SECRET
    safe = SafeExceptionReporterFilter().get_safe_settings()
    assert leaks(repr(safe)) == []
    assert safe["FLUENTCART_SYNC"]["USERNAME"] == USERNAME  # only the secret is hidden


def test_a_url_with_credentials_in_it_is_refused_without_echoing_them(fluentcart_settings):
    fluentcart_settings["URL"] = f"https://{USERNAME}:{SECRET.replace(' ', '')}@shop.example.com"
    assert "fluentcart_sync.E004" in {message.id for message in check_settings()}
    assert all(leaks(str(message)) == [] for message in check_settings())
    with pytest.raises(exc.FluentCartConfigurationError) as raised:
        get_client()
    assert leaks(str(raised.value)) == []


@pytest.mark.django_db  # Django 6.1's check command also runs the database checks
def test_check_command_output_never_shows_the_password(fluentcart_settings, capsys, settings):
    settings.DEBUG = False
    fluentcart_settings.update(URL="http://shop.example.com", APP_PASSWORD=SECRET)
    with pytest.raises(SystemCheckError):
        call_command("check")
    out = capsys.readouterr()
    assert leaks(out.out + out.err) == []


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def self_signed_https(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate no CA signed; counts the requests it serves."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    served = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(f"{self.command} {self.path}")
            body = json.dumps({"customers": {"data": [], "current_page": 1, "last_page": 1, "total": 0}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_GET

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", cert, served
    httpd.shutdown()
    httpd.server_close()


def test_tls_certificates_are_verified(self_signed_https, monkeypatch):
    url, cert, served = self_signed_https
    client = FluentCartClient(url, USERNAME, APP_PASSWORD, timeout=(2.0, 2.0))
    assert client.session.verify not in (False, None, "")  # on (a CA bundle from the environment, or True)
    with pytest.raises(exc.FluentCartConnectError):
        client.find_by_email("a@example.com")
    assert served == []  # nothing, credentials included, was sent to the unverified server

    # The control: the same server is reached once its certificate is trusted the standard way.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert FluentCartClient(url, USERNAME, APP_PASSWORD, timeout=(2.0, 2.0)).find_by_email("a@example.com") == []
    assert len(served) == 1


@pytest.mark.django_db
def test_a_push_to_an_unverified_server_is_retried_not_sent(self_signed_https, fluentcart_settings):
    url, cert, served = self_signed_https
    fluentcart_settings.update(URL=url, TIMEOUT=2.0)
    customer = Customer.objects.create(email="a@example.com", full_name="A A")
    push_customer(customer.pk)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.RETRYING
    assert "Could not connect" in customer.sync_error
    assert served == []
