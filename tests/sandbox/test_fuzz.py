"""Nothing the fake receives crashes it or goes unanswered: random bytes, random JSON, random content
types and credentials, 10,000 cases through the request handler in-process (seeded, so a failure
replays), and a few hundred more over real HTTP, raw sockets included."""

from __future__ import annotations

import json
import random
import socket
import string
from typing import Any

import pytest
import requests

from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

from .conftest import BASE, SITE, basic

CASES = 10_000
SEED = 20261202
FIELDS = ("email", "full_name", "first_name", "last_name", "city", "country", "state", "postcode", "status",
          "notes", "aov", "user_id", "id", "wp_user", "action", "customer_ids", "new_status")
ROUTES = ("/customers", "/customers/1", "/customers/2", "/customers/abc", "/customers/do-bulk-action",
          "/customers/1/address", "/orders", "/customers/%00", "/customers/" + "9" * 40, "")
CONTENT_TYPES = ("application/json", "application/json; charset=UTF-8", "application/vnd.api+json",
                 "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
                 "", "text/json", "application/jsonx", "\x00\xff")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FOO")
NASTY = "aZ09 @.%<>&;'\"\\/\t\n\r\x00\x7fé李😀\u200b\ufeff%41%2"


def _text(rng: random.Random, size: int = 12) -> str:
    return "".join(rng.choice(NASTY) for _ in range(rng.randint(0, size)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**63, -(2**63) - 1, 10**30, rng.randint(-10**6, 10**6)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, 1e-320, rng.uniform(-1e6, 1e6)])
    if kind in (4, 5):
        return _text(rng, 40) if rng.random() < 0.8 else "x" * rng.choice([192, 256, 300])
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng, 5): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    if kind == 1:
        return json.dumps(_value(rng)).encode()
    if kind == 2:
        fields = {rng.choice(FIELDS): _value(rng) for _ in range(rng.randint(0, 8))}
        text = json.dumps(fields, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.2:  # cut short, or with PHP-unknown tokens / lone surrogates spliced in
            text = text[: rng.randint(0, len(text))] + rng.choice(["", "NaN", "\\ud800\"", "1e999", "]"])
        return text.encode("utf-8", "surrogatepass")
    if kind == 3:
        return "&".join(f"{rng.choice(FIELDS)}={_text(rng)}" for _ in range(rng.randint(0, 5))).encode()
    if kind == 4:
        return ("[" * rng.choice([1, 511, 512, 513, 3000])).encode() + b"1" + b"]" * rng.choice([0, 513, 3000])
    if kind == 5:
        return b'{"email": "\\ud800"}'
    return b""


def _headers(rng: random.Random) -> dict[str, str]:
    auth = basic() if rng.random() < 0.6 else rng.choice(
        [basic("subscriber", "sub pw"), basic(password="wrong"), "Basic !!", "", "Bearer x",
         basic(_text(rng), _text(rng)), "Basic " + _text(rng)]
    )
    headers = {"Content-Type": rng.choice(CONTENT_TYPES + (_text(rng),)), "Authorization": auth}
    if rng.random() < 0.1:
        headers["X-HTTP-Method-Override"] = rng.choice(["PUT", "GET", "DELETE", _text(rng, 4)])
    return headers


def _method(rng: random.Random) -> str:
    # Mostly the methods the routes take, so that most cases reach FluentCart's own handlers.
    return rng.choice(("POST", "POST", "POST", "PUT", "PUT", "GET")) if rng.random() < 0.85 else rng.choice(METHODS)


def _url(rng: random.Random) -> str:
    route = rng.choice(ROUTES[:5]) if rng.random() < 0.7 else rng.choice(ROUTES) if rng.random() < 0.9 else "/" + _text(rng)
    query = rng.choice(["", "?page=2", "?per_page=abc", "?search=" + _text(rng), "?_method=PUT",
                        "?search=id::1-" + _text(rng, 3), "?sort_by=" + _text(rng, 6)])
    if rng.random() < 0.1:
        return SITE + "/?rest_route=/fluent-cart/v2" + route + query.replace("?", "&")
    return SITE + BASE + route + query


def _assert_answered(status: int, headers: dict[str, str], body: bytes, method: str) -> None:
    assert 200 <= status <= 599
    assert isinstance(body, bytes)
    if headers.get("Content-Type", "").startswith("application/json") and method != "HEAD":
        json.loads(body)


def test_ten_thousand_random_requests_all_get_an_answer():
    fake = FakeFluentCart(site_url=SITE, noperm_username="subscriber", noperm_password="sub pw")
    rng = random.Random(SEED)
    try:
        for case in range(CASES):
            method, url, headers, body = _method(rng), _url(rng), _headers(rng), _body(rng)
            try:
                reply = fake.respond(method, url, headers, body, sleep=False)
            except Exception as err:  # pragma: no cover - the failure report
                pytest.fail(f"case {case}: {method} {url!r} {headers!r} {body[:200]!r} raised {err!r}")
            assert reply.fault is None
            _assert_answered(reply.status, reply.headers, reply.body, method)
            if case % 500 == 0:
                fake.reset()  # keeps the store (and its LIKE scans) small
    finally:
        fake.close()


def test_random_requests_over_http_all_get_an_answer():
    fake = FakeFluentCart(noperm_username="subscriber", noperm_password="sub pw")
    rng = random.Random(SEED + 1)
    with SandboxServer(fake) as server, requests.Session() as session:
        site = server.url
        for _ in range(300):
            url = _url(rng).replace(SITE, site)
            headers = {key: value.encode("utf-8", "replace").decode("latin-1") for key, value in _headers(rng).items()}
            headers = {key: value.replace("\r", "").replace("\n", "").strip(" \t") for key, value in headers.items()}
            method = _method(rng).replace("FOO", "GET")
            answer = session.request(method, url, headers=headers, data=_body(rng), timeout=10)
            _assert_answered(answer.status_code, dict(answer.headers), answer.content, method)
    fake.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /wp-json/fluent-cart/v2/customers HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /wp-json/fluent-cart/v2/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /wp-json/fluent-cart/v2/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        b"GARBAGE / HTTP/1.1\r\n\r\n",
        b"GET /" + bytes(range(128, 256)) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /wp-json/fluent-cart/v2/customers HTTP/1.1\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n",
        b"POST /wp-json/fluent-cart/v2/customers HTTP/1.1\r\n"
        + "".join(random.Random(SEED).choice(string.printable) for _ in range(300)).encode()
        + b"\r\n\r\n",
    ],
)
def test_malformed_http_gets_a_status_line(raw):
    fake = FakeFluentCart()
    with SandboxServer(fake) as server, socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(raw)
        assert sock.recv(64).startswith(b"HTTP/1.")
    fake.close()
