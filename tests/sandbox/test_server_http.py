"""The fake over real HTTP: keep-alive, faults as a client really sees them, the duplicate race."""

import threading
import time

import pytest
import requests

from fluentcart_sync.sandbox import FakeFluentCart, Faults, SandboxServer


def post(session, server, email, **kwargs):
    return session.post(server.base_url + "/customers", json={"email": email, "full_name": "Http User"}, **kwargs)


def test_urls_and_a_round_trip(server, session):
    assert server.base_url == server.url + "/wp-json/fluent-cart/v2"
    answer = post(session, server, "h@example.com")
    assert answer.status_code == 200
    assert answer.headers["Content-Length"] == str(len(answer.content))
    listing = session.get(server.base_url + "/customers").json()["customers"]
    assert listing["path"] == server.base_url + "/customers"


def test_keep_alive_reuses_one_connection(server, session, fake):
    for _ in range(5):
        assert session.get(server.base_url + "/customers").status_code == 200
    assert len(server._httpd.open_sockets) == 1


def test_rate_limit_is_429_with_retry_after_and_stores_nothing(server, session, fake):
    fake.faults = Faults(rate_limit_rate=1.0, retry_after=7)
    answer = post(session, server, "r@example.com")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert fake.count() == 0


def test_error_after_write_is_a_5xx_but_the_row_exists(server, session, fake):
    fake.faults = Faults(error_rate=1.0, error_after_write_fraction=1.0, seed=1)
    statuses = {post(session, server, f"e{n}@example.com").status_code for n in range(12)}
    assert statuses <= {500, 502, 503} and len(statuses) >= 2
    assert fake.count() == 12


def test_slow_fault_stores_then_times_the_client_out(server, session, fake):
    fake.faults = Faults(slow_rate=1.0, slow_seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(session, server, "slow@example.com", timeout=0.5)
    assert time.monotonic() - started < 2
    assert [row["email"] for row in fake.customers()] == ["slow@example.com"]


def test_drop_fault_closes_the_connection(server, session, fake):
    fake.faults = Faults(drop_rate=1.0, drop_after_write_fraction=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(session, server, "drop@example.com", timeout=5)
    assert fake.count() == 1
    fake.faults = Faults(drop_rate=1.0, drop_after_write_fraction=0.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(session, server, "drop2@example.com", timeout=5)
    assert fake.count() == 1
    fake.faults = Faults()
    assert post(session, server, "after@example.com").status_code == 200


def test_latency_and_serialize(server, fake):
    fake.faults = Faults(latency=0.1, serialize=True)
    results = []

    def one():
        results.append(requests.get(server.base_url + "/customers", auth=("demo", "demo app pass word 1234")).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4
    assert time.monotonic() - started >= 0.4


def _concurrent_creates(server, fake, count=8):
    barrier = threading.Barrier(count)
    statuses = []

    def one():
        with requests.Session() as client:
            client.auth = ("demo", "demo app pass word 1234")
            barrier.wait()
            statuses.append(post(client, server, "race@example.com").status_code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_race_window_lets_concurrent_posts_store_duplicates(server, fake):
    fake.faults = Faults(race_window=0.3)
    statuses = _concurrent_creates(server, fake)
    assert statuses.count(200) >= 2
    assert fake.count() >= 2
    assert fake.store.duplicate_emails() == 1


def test_without_race_window_one_email_gives_one_row(server, fake):
    statuses = _concurrent_creates(server, fake)
    assert statuses == [200] + [422] * 7
    assert fake.count() == 1


def test_faults_skip_control_routes(server, fake):
    fake.faults = Faults(drop_rate=1.0)
    assert requests.get(server.url + "/__sandbox__/stats").json()["count"] == 0


def test_control_routes(server, session, fake):
    control = server.url + "/__sandbox__"
    assert requests.post(control + "/faults", json={"latency": 0.01, "retry_after": 4}).json()["retry_after"] == 4
    assert fake.faults.latency == 0.01
    assert requests.post(control + "/faults", json={"bogus": 1}).status_code == 400
    post(session, server, "c@example.com")
    post(session, server, "c@example.com")
    stats = requests.get(control + "/stats").json()
    assert stats["count"] == 1 and stats["by_method_status"] == {"POST 200": 1, "POST 422": 1}
    assert stats["by_status"] == {"200": 1, "422": 1} and stats["duplicate_emails"] == 0
    assert [row["email"] for row in requests.get(control + "/customers").json()] == ["c@example.com"]
    seen = requests.get(control + "/requests").json()
    assert [(item["method"], item["path"], item["status"]) for item in seen] == [("POST", "/customers", 200), ("POST", "/customers", 422)]
    assert requests.post(control + "/mode", json={"mode": "forbidden"}).json() == {"mode": "forbidden"}
    assert session.get(server.base_url + "/customers").status_code == 403
    assert requests.post(control + "/mode", json={"mode": "sideways"}).status_code == 400
    requests.post(control + "/mode", json={"mode": "ok"})
    assert requests.post(control + "/reset").status_code == 200
    assert fake.count() == 0 and requests.get(control + "/requests").json() == []


def test_stop_really_stops(fake):
    server = SandboxServer(fake).start()
    client = requests.Session()
    client.auth = ("demo", "demo app pass word 1234")
    assert client.get(server.base_url + "/customers").status_code == 200
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get(server.base_url + "/customers", timeout=2)


def test_state_survives_a_server_restart(tmp_path):
    path = str(tmp_path / "restart.sqlite3")
    with SandboxServer(FakeFluentCart(db_path=path)) as first:
        post(requests.Session(), first, "x@example.com", auth=("demo", "demo app pass word 1234"))
    first.fake.close()
    again = FakeFluentCart(db_path=path)
    with SandboxServer(again) as second:
        answer = post(requests.Session(), second, "X@example.com", auth=("demo", "demo app pass word 1234"))
        assert answer.status_code == 422
    again.close()
