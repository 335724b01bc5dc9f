"""Outages are not people's problems: a long transient outage ends with every row synced and none
`failed`; a configuration failure pauses every push (the circuit) and a fixed setting drains the
queue without anyone pressing a button; a request never outlives its deadline or its claim."""

import io
import socket
import threading
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import responses
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from fluentcart_sync import circuit
from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.exceptions import FluentCartLeaseExhausted, FluentCartTimeout
from fluentcart_sync.management.commands.fluentcart_sync_due import due_customers
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import Faults
from fluentcart_sync.services import push_customer

from .conftest import APP_PASSWORD, BASE_URL, USERNAME

pytestmark = pytest.mark.django_db


class Clock:
    """The wall clock the app sees (django.utils.timezone.now), moved by the test."""

    def __init__(self, monkeypatch):
        self.now = datetime(2026, 12, 5, 18, 0, tzinfo=dt_timezone.utc)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta):
        self.now += timedelta(**delta)


def sweep_here():
    """What `fluentcart_sync_due --run` pushes, in this thread."""
    for customer_id in due_customers(pending_grace_seconds=0).values_list("pk", flat=True):
        push_customer(customer_id)


def test_a_three_hour_outage_with_the_default_settings_ends_all_synced_none_failed(
        fake, fluentcart_settings, monkeypatch):
    for name in ("MAX_ATTEMPTS", "LEASE_SECONDS", "TIMEOUT"):
        fluentcart_settings.pop(name)  # the defaults, as shipped
    clock = Clock(monkeypatch)
    fake.faults = Faults(error_rate=1.0, error_after_write_fraction=0.0, seed=5)  # 500 / 502 / 503, nothing stored
    for n in range(10):
        Customer.objects.create(email=f"outage{n}@example.com", full_name=f"Out Age {n}")

    outage_ends = clock.now + timedelta(hours=3)
    while clock.now < outage_ends:
        sweep_here()
        assert not Customer.objects.filter(sync_status=SyncStatus.FAILED).exists()
        clock.advance(minutes=5)
    attempts_during_outage = len(fake.requests_seen)
    fake.faults = Faults()

    for _ in range(12 * 8):  # cron every 5 minutes, for up to 8 hours after the outage
        if not Customer.objects.unsynced().exists():
            break
        clock.advance(minutes=5)
        sweep_here()

    assert attempts_during_outage > 10, "it kept trying during the outage"
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert fake.count() == 10


@pytest.mark.django_db(transaction=True)
def test_a_401_pauses_pushes_and_a_fixed_password_drains_the_queue_without_a_person(
        fake, fluentcart_settings, admin_client):
    fluentcart_settings.update(AUTO_PUSH=False, APP_PASSWORD="rotated-away")
    for n in range(6):
        Customer.objects.create(email=f"c{n}@example.com", full_name=f"Customer {n}")

    with pytest.raises(Exception, match="Stopped"):
        call_command("fluentcart_backfill", "--no-progress", "--concurrency", "1", stdout=io.StringIO())
    assert circuit.state().open
    assert Customer.objects.filter(sync_status=SyncStatus.FAILED).count() == 0, "owed, not failed"
    sent_before = len(fake.requests_seen)
    assert sent_before <= 2, "the first refusal stopped everything (a request per worker thread at most)"

    # While paused: nothing goes out, the admin says why, the sweep probes with one request.
    assert push_customer(Customer.objects.first().pk).outcome.value == "paused"
    page = admin_client.get(reverse("admin:fluentcart_sync_customer_changelist")).content.decode()
    assert 'id="fluentcart-paused"' in page and "refused the credentials" in page
    with pytest.raises(CommandError, match="Pushes paused"):  # nothing owed was pushed: exit 1
        call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert len(fake.requests_seen) == sent_before + 1 and circuit.state().open

    fluentcart_settings["APP_PASSWORD"] = APP_PASSWORD  # the operator fixes the setting
    out = io.StringIO()
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=out)
    assert "pushes resumed" in out.getvalue()
    assert not circuit.state().open
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert fake.count() == 6


def test_fluentcart_check_says_pushes_are_paused(fake):
    circuit.open_circuit("FluentCart refused the credentials (HTTP 401)")
    out = io.StringIO()
    call_command("fluentcart_check", stdout=out)
    assert "paused" in out.getvalue() and "refused the credentials" in out.getvalue()


# -- deadlines -----------------------------------------------------------------------------------


@pytest.fixture
def trickling_server():
    """An HTTP server that sends its headers, then one byte of the body every 0.2 s: each read is
    quick, so only a deadline on the whole request stops the client."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    state = {"bytes_sent": 0, "body_length": 200, "finished": False}

    def serve():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
            try:
                for _ in range(state["body_length"]):
                    if stop.wait(0.2):
                        return
                    conn.sendall(b" ")
                    state["bytes_sent"] += 1
                state["finished"] = True
            except OSError:
                return  # the client hung up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", state
    stop.set()
    listener.close()
    thread.join(5)


def test_a_trickling_answer_is_cut_off_at_the_total_deadline(trickling_server):
    url, state = trickling_server
    client = FluentCartClient(url, USERNAME, APP_PASSWORD, timeout=(0.5, 0.5))
    with pytest.raises(FluentCartTimeout, match="completely within"):
        client.list_customers()
    assert not state["finished"] and state["bytes_sent"] < state["body_length"]


def test_an_earlier_deadline_armed_after_a_later_one_still_fires():
    """The watchdog sleeps until the earliest deadline and is only woken for an earlier one."""
    from fluentcart_sync import deadlines

    watchdog = deadlines._Watchdog()
    later, sooner = deadlines._Slot(), deadlines._Slot()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sooner.connection = type("Connection", (), {"sock": ours})()
        watchdog.arm(time.monotonic() + 60, later)
        watchdog.arm(time.monotonic() + 0.1, sooner)
        ours.settimeout(10)
        assert ours.recv(1) == b"", "the socket of the request past its deadline was shut"
    assert sooner.expired and not later.expired
    watchdog.disarm(later)


@responses.activate
def test_no_request_starts_that_could_not_end_before_the_claim_does():
    client = FluentCartClient("https://shop.example.com", USERNAME, APP_PASSWORD)
    responses.get(f"{BASE_URL}/customers", json={"customers": {"data": [], "last_page": 1}})
    with client.bounded_by(timezone.now() + timedelta(seconds=0.1)):
        with pytest.raises(FluentCartLeaseExhausted):
            client.list_customers()
    assert len(responses.calls) == 0


@responses.activate
def test_time_waiting_at_the_rate_gate_counts_against_the_claim():
    class SlowGate:
        def __enter__(self):
            time.sleep(0.5)

        def __exit__(self, *exc):
            return None

    client = FluentCartClient("https://shop.example.com", USERNAME, APP_PASSWORD)
    client.gate = SlowGate()
    responses.get(f"{BASE_URL}/customers", json={"customers": {"data": [], "last_page": 1}})
    with client.bounded_by(timezone.now() + timedelta(seconds=0.6)):
        with pytest.raises(FluentCartLeaseExhausted):
            client.list_customers()
    assert len(responses.calls) == 0
