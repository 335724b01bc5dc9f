"""The responses adapter: the same fake behind a mocked `requests` transport."""

import pytest
import requests
import responses

from fluentcart_sync.sandbox import FakeFluentCart

BASE = "https://shop.example.com/wp-json/fluent-cart/v2"
AUTH = ("demo", "demo app pass word 1234")


@pytest.fixture
def mocked():
    fake = FakeFluentCart()
    with responses.RequestsMock() as rsps:
        fake.register(rsps, BASE)
        yield fake
    fake.close()


def test_plain_requests_calls_reach_the_fake(mocked):
    created = requests.post(BASE + "/customers", json={"email": "r@example.com", "full_name": "R S"}, auth=AUTH)
    assert created.status_code == 200
    assert created.headers["Content-Type"] == "application/json; charset=UTF-8"
    customer_id = created.json()["data"]["id"]
    got = requests.get(f"{BASE}/customers/{customer_id}", auth=AUTH)
    assert got.json()["customer"]["email"] == "r@example.com"
    listing = requests.get(BASE + "/customers", params={"search": "r@example.com"}, auth=AUTH).json()
    assert listing["customers"]["path"] == BASE + "/customers"
    updated = requests.put(f"{BASE}/customers/{customer_id}", json={"id": customer_id, "email": "r@example.com", "full_name": "R T"}, auth=AUTH)
    assert updated.status_code == 200
    assert mocked.requests_seen[-1] == ("PUT", "/customers/1", {"id": 1, "email": "r@example.com", "full_name": "R T"})
    assert requests.delete(f"{BASE}/customers/{customer_id}", auth=AUTH).status_code == 404
    assert requests.get(BASE + "/customers").status_code == 401


def test_sending_nothing_does_not_trip_assert_all_requests_are_fired(mocked):
    assert not mocked.requests_seen


def test_slow_fault_stores_then_raises_read_timeout(mocked):
    mocked.faults = mocked.faults.updated({"slow_rate": 1.0, "slow_seconds": 60, "latency": 60})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(BASE + "/customers", json={"email": "s@example.com", "full_name": "S"}, auth=AUTH, timeout=1)
    assert mocked.count() == 1


def test_drop_fault_raises_connection_error(mocked):
    mocked.faults = mocked.faults.updated({"drop_rate": 1.0, "drop_after_write_fraction": 1.0})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(BASE + "/customers", json={"email": "d@example.com", "full_name": "D"}, auth=AUTH)
    assert mocked.count() == 1
    mocked.faults = mocked.faults.updated({"drop_after_write_fraction": 0.0})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(BASE + "/customers", json={"email": "e@example.com", "full_name": "E"}, auth=AUTH)
    assert mocked.count() == 1


def test_rate_limit_carries_retry_after(mocked):
    mocked.faults = mocked.faults.updated({"rate_limit_rate": 1.0, "retry_after": 3})
    answer = requests.post(BASE + "/customers", json={"email": "l@example.com", "full_name": "L"}, auth=AUTH)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert mocked.count() == 0


def test_the_client_reads_id_ranges_and_keyset_searches_through_the_adapter(mocked):
    from fluentcart_sync.client import FluentCartClient

    for number in range(1, 11):
        mocked.create_customer(email=f"u{number}@example.com", full_name=f"User Number{number}")
    client = FluentCartClient("https://shop.example.com", *AUTH)
    in_range = client.list_customers(search="id::3-7")
    assert [row["id"] for row in in_range.customers] == [3, 4, 5, 6, 7]
    assert (in_range.total, in_range.last_page, in_range.current_page) == (5, 1, 1)
    assert [row["id"] for row in client.list_customers(search="id>8").customers] == [9, 10]
    newest = client.list_customers(per_page=1, ascending=False)
    assert [row["id"] for row in newest.customers] == [10] and newest.total == 10
    assert mocked.requests_seen[0].query["search"] == "id::3-7"
