"""The demo's "open in FluentCart" link: the fake answers wp-admin's FluentCart screen with the customer
on it, instead of a 404."""

import requests

from fluentcart_sync.admin import fluentcart_customer_url
from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

from .conftest import APP_PASSWORD, USERNAME


def test_the_fluentcart_id_link_opens_a_page_showing_that_customer(settings):
    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD)
    try:
        with SandboxServer(fake) as server:
            created = fake.create_customer(email="ada@example.com", full_name="Ada Lovelace", status="active")
            settings.FLUENTCART_SYNC = {"URL": server.url}
            url = fluentcart_customer_url(created["id"])
            response = requests.get(url, timeout=10)
            assert response.status_code == 200 and "text/html" in response.headers["Content-Type"]
            assert f'<tr id="/customers/{created["id"]}">' in response.text
            assert "ada@example.com" in response.text and "Ada" in response.text
            assert requests.get(server.url + "/wp-admin/other.php", timeout=10).status_code == 404
    finally:
        fake.close()
