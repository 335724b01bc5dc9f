"""Fixtures for the fake FluentCart's own tests: plain pytest, no Django needed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

SITE = "https://shop.example.com"
BASE = "/wp-json/fluent-cart/v2"
USERNAME = "demo"
PASSWORD = "demo app pass word 1234"


def basic(user: str = USERNAME, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Caller:
    """Calls FakeFluentCart.handle() like an authenticated JSON client would."""

    def __init__(self, fake: FakeFluentCart) -> None:
        self.fake = fake

    def __call__(
        self,
        method: str,
        route: str,
        body: Any = None,
        *,
        auth: str | None = basic(),
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {"Content-Type": "application/json"}
        if auth:
            sent["Authorization"] = auth
        sent.update(headers or {})
        url = route if route.startswith(("http", "/?")) else SITE + BASE + route
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.fake.handle(method, url, sent, payload)

    def json(self, method: str, route: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, _, raw = self(method, route, body, **kwargs)
        return status, json.loads(raw)


@pytest.fixture
def fake() -> FakeFluentCart:
    cart = FakeFluentCart(site_url=SITE)
    yield cart
    cart.close()


@pytest.fixture
def call(fake: FakeFluentCart) -> Caller:
    return Caller(fake)


@pytest.fixture
def server(fake: FakeFluentCart) -> SandboxServer:
    with SandboxServer(fake) as running:
        yield running


@pytest.fixture
def session():
    import requests

    with requests.Session() as client:
        client.auth = (USERNAME, PASSWORD)
        yield client
