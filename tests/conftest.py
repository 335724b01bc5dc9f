"""Shared fixtures: the app's own fake FluentCart behind `responses`, and a guard that keeps every
test on this machine."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
import responses

from fluentcart_sync.sandbox import FakeFluentCart

SITE_URL = "https://shop.example.com"
BASE_URL = SITE_URL + "/wp-json/fluent-cart/v2"
USERNAME = "django-sync"
APP_PASSWORD = "test-only pass word 0000"


@pytest.fixture(autouse=True, scope="session")
def _no_network_beyond_loopback():
    """Tests never leave the machine: any connection to a non-loopback address fails loudly."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    raise RuntimeError(f"test tried to reach {host}: tests must stay on loopback")
            except ValueError:
                if host != "localhost":
                    raise RuntimeError(f"test tried to reach {host}: tests must stay on loopback") from None
        return real_connect(sock, address)

    socket.socket.connect = guarded_connect
    yield
    socket.socket.connect = real_connect


@pytest.fixture(autouse=True)
def _stop_started_processes():
    """Whatever path a test took, no `manage.py` process it started outlives it."""
    yield
    from .e2e_support import stop_started

    stop_started()


@pytest.fixture(autouse=True)
def _language_of_each_test_is_its_own():
    """LocaleMiddleware activates a request's language in the test's thread; the next test starts afresh."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def fluentcart_settings(settings):
    """Point the app at a FluentCart that only the `fake` fixture answers for."""
    settings.FLUENTCART_SYNC = {
        **getattr(settings, "FLUENTCART_SYNC", {}),
        "URL": SITE_URL,
        "USERNAME": USERNAME,
        "APP_PASSWORD": APP_PASSWORD,
        "TIMEOUT": 5.0,
        "LEASE_SECONDS": 300,
        "MAX_ATTEMPTS": 5,
    }
    return settings.FLUENTCART_SYNC


@pytest.fixture
def fake():
    """A stateful fake FluentCart answering every request to BASE_URL through `responses`."""
    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD, site_url=SITE_URL)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.register(rsps, BASE_URL)
        yield fake
    fake.close()


@pytest.fixture
def shop(fluentcart_settings):
    """The fake FluentCart served over HTTP on a loopback port, the app pointed at it."""
    from .e2e_support import served_fake

    fake, server = served_fake()
    fluentcart_settings["URL"] = server.url
    yield fake
    server.stop()
    fake.close()


def sent(fake, method=None):
    """The requests the fake received (optionally one method's), oldest first."""
    return [r for r in fake.requests_seen if method is None or r.method == method]


@pytest.fixture(autouse=True)
def _fresh_circuit_cache():
    """Each process caches whether pushes are paused; a test starts from the database's answer."""
    from fluentcart_sync import circuit, outcome_log

    circuit.forget_cached_state()
    outcome_log.discard()  # push counts of an earlier test belong to its rolled-back database
    yield
    circuit.forget_cached_state()
    outcome_log.discard()


REDIS_SERVER = "redis://127.0.0.1:6379"
#: Marks a Redis database as taken by one test run, so that two suites on one machine (two clones,
#: two CI jobs) never empty each other's queue.
REDIS_LOCK = "fluentcart-sync-test-run"


@pytest.fixture
def redis_db():
    """A Redis database of this run's own: FLUENTCART_TEST_REDIS_URL, or the first of 3-15 that no
    other run holds (a lock key set atomically), emptied before and after."""
    redis = pytest.importorskip("redis")
    explicit = os.environ.get("FLUENTCART_TEST_REDIS_URL")
    candidates = [explicit] if explicit else [f"{REDIS_SERVER}/{n}" for n in range(3, 16)]
    for url in candidates:
        conn = redis.Redis.from_url(url)
        try:
            conn.ping()
        except redis.exceptions.ConnectionError:
            if os.environ.get("CI"):
                pytest.fail(f"Redis is not reachable at {url}: CI must run the RQ test against it")
            pytest.skip(f"Redis is not reachable at {url}")
        if explicit or conn.set(REDIS_LOCK, os.getpid(), nx=True, ex=1800):
            break
    else:
        pytest.fail("every Redis database 3-15 is held by another test run")
    conn.flushdb()
    conn.set(REDIS_LOCK, os.getpid(), ex=1800)
    conn.url = url
    yield conn
    conn.flushdb()

