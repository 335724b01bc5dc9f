"""`fluentcart_sync.testing`, the helper host projects use in their own tests: the fake is served on
loopback, the app is pointed at it, and everything started is stopped and restored afterwards."""

import time

import pytest
import requests
from django.conf import settings

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer
from fluentcart_sync.testing import fluentcart_fake as serve_fake

# Loaded the way a host loads it with PYTEST_DISABLE_PLUGIN_AUTOLOAD (`-p ...`); the installed wheel
# registers it through its pytest11 entry point instead (tests/test_packaging.py).
pytest_plugins = ["fluentcart_sync.testing.pytest_plugin"]

pytestmark = pytest.mark.django_db


def test_a_pushed_customer_reaches_the_fake(fluentcart_fake):
    customer = Customer.objects.create(email="ada@example.com", full_name="Ada Lovelace")
    assert push_customer(customer.pk).outcome == Outcome.CREATED

    remote = fluentcart_fake.customer("ADA@example.com")
    assert remote["full_name"] == "Ada Lovelace"
    assert [body["email"] for body in fluentcart_fake.created()] == ["ada@example.com"]
    assert [seen.method for seen in fluentcart_fake.requests()] == ["POST"]
    customer.refresh_from_db()
    assert customer.fluentcart_id == int(remote["id"])
    assert fluentcart_fake.audit().ok


def test_the_app_is_pointed_at_the_fake_only_inside_the_block(fluentcart_settings):
    with serve_fake(AUTO_PUSH=False) as fc:
        inside = dict(settings.FLUENTCART_SYNC)
        url = fc.url
    assert inside["URL"] == url and url.startswith("http://127.0.0.1:")
    assert (inside["USERNAME"], inside["APP_PASSWORD"], inside["AUTO_PUSH"]) == (fc.username, fc.app_password, False)
    assert settings.FLUENTCART_SYNC == fluentcart_settings
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/wp-json/", timeout=2)


def test_the_server_stops_when_the_test_fails_inside_the_block():
    with pytest.raises(RuntimeError, match="the host's test failed"), serve_fake() as fc:
        url = fc.url
        raise RuntimeError("the host's test failed")
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/wp-json/", timeout=2)


def test_a_seeded_customer_is_linked_not_duplicated(fluentcart_fake):
    seeded = fluentcart_fake.seed_customer("grace@example.com", full_name="Grace Hopper")
    assert fluentcart_fake.requests() == [], "seeding sends no request"
    customer = Customer.objects.create(email="Grace@Example.com", full_name="Grace Hopper")

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.LINKED
    customer.refresh_from_db()
    assert customer.fluentcart_id == seeded["id"]
    assert fluentcart_fake.count() == 1


def test_faults_last_for_their_block(fluentcart_fake):
    customer = Customer.objects.create(email="flaky@example.com", full_name="Flaky Shop")
    with fluentcart_fake.faults(rate_limit_rate=1.0, retry_after=30):
        assert push_customer(customer.pk).outcome == Outcome.RETRY
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.RETRYING
    assert [seen.status for seen in fluentcart_fake.requests()] == [429]

    assert push_customer(customer.pk).outcome == Outcome.CREATED


def test_set_faults_until_cleared_and_unknown_names_refused(fluentcart_fake):
    fluentcart_fake.set_faults(error_rate=1.0, error_after_write_fraction=0.0)
    customer = Customer.objects.create(email="down@example.com", full_name="Down Time")
    assert push_customer(customer.pk).outcome == Outcome.RETRY
    assert fluentcart_fake.count() == 0
    fluentcart_fake.clear_faults()
    # After a proxy's 502 FluentCart may still be creating the customer, so no new POST goes out
    # before a quarantine ends: here it is ended at once.
    Customer.objects.filter(pk=customer.pk).update(quarantine_until=None)
    assert push_customer(customer.pk).outcome == Outcome.CREATED
    with pytest.raises(TypeError, match="no_such_fault"):
        fluentcart_fake.set_faults(no_such_fault=1)


def test_a_slow_fake_times_the_push_out_after_the_helpers_timeout():
    with serve_fake(timeout=0.3) as fc, fc.faults(slow_rate=1.0):
        customer = Customer.objects.create(email="slow@example.com", full_name="Slow Shop")
        started = time.monotonic()
        result = push_customer(customer.pk)
        elapsed = time.monotonic() - started
    assert result.outcome == Outcome.RETRY
    assert elapsed < 5


def test_mode_answers_like_a_misconfigured_site(fluentcart_fake):
    customer = Customer.objects.create(email="auth@example.com", full_name="Bad Password")
    with fluentcart_fake.mode("unauthorized"):
        assert push_customer(customer.pk).outcome == Outcome.PAUSED, "pushes pause: every one would fail alike"
    assert fluentcart_fake.requests()[-1].status == 401
    with pytest.raises(ValueError, match="mode must be one of"):
        with fluentcart_fake.mode("sideways"):
            pass


def test_reset_forgets_customers_and_requests(fluentcart_fake):
    fluentcart_fake.seed_customer("x@example.com")
    fluentcart_fake.reset()
    assert (fluentcart_fake.count(), fluentcart_fake.customers(), fluentcart_fake.requests()) == (0, [], [])
    assert fluentcart_fake.customer("x@example.com") is None
