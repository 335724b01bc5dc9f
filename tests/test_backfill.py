"""fluentcart_backfill: pushes what is not synced, once; dry runs send nothing; failures exit non-zero."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from fluentcart_sync.models import Customer, SyncStatus

pytestmark = pytest.mark.django_db(transaction=True)  # worker threads use their own connections


def run(*args):
    out = io.StringIO()
    call_command("fluentcart_backfill", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def make(n):
    Customer.objects.bulk_create(Customer(email=f"c{i}@example.com", full_name=f"Customer {i}") for i in range(n))


def test_pushes_every_unsynced_customer_and_nothing_the_second_time(fake, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    make(25)
    out = run("--concurrency", "3")
    assert "25 pushed" in out
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert fake.count() == 25
    posts = len([r for r in fake.requests_seen if r.method == "POST"])
    out = run()
    assert "0 pushed" in out
    assert len([r for r in fake.requests_seen if r.method == "POST"]) == posts


def test_keys_far_apart_and_rows_added_during_the_walk_are_all_pushed(fake, fluentcart_settings):
    """The backfill walks key ranges (a plan no database statistics can spoil): a gap of thousands
    of keys (rows deleted long ago) costs empty ranges, nothing is skipped, and a customer saved
    while the walk runs, past the highest key it began with, is pushed too."""
    from fluentcart_sync import batch

    fluentcart_settings["AUTO_PUSH"] = False
    make(3)
    far = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0] + 9_000
    Customer.objects.filter(email="c2@example.com").update(id=far)
    Customer.objects.filter(email="c0@example.com").update(sync_status=SyncStatus.SYNCED)  # skipped
    real_push = batch.push_customer
    added = []

    def push_and_meanwhile_one_signs_up(customer_id, **kwargs):
        if not added:
            # Past the highest key the walk began with (explicit: PostgreSQL's sequence does not
            # follow the key moved by hand above).
            added.append(Customer.objects.create(id=far + 500, email="late@example.com", full_name="Late Signup").pk)
        return real_push(customer_id, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "push_customer", push_and_meanwhile_one_signs_up)
        out = run("--chunk-size", "2", "--concurrency", "1")

    assert "3 pushed" in out
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert fake.count() == 3, "the customer marked synced without a push was not pushed"


def test_retries_failed_and_waiting_records_whatever_their_next_attempt_time(fake):
    make(3)
    Customer.objects.update(sync_status=SyncStatus.RETRYING, next_attempt_at="2999-01-01T00:00:00Z")
    assert "3 pushed" in run()


def test_dry_run_sends_no_request(fake):
    make(5)
    out = run("--dry-run")
    assert "5 customers would be pushed" in out
    assert len(fake.requests_seen) == 0
    assert not Customer.objects.filter(sync_status=SyncStatus.SYNCED).exists()


def test_limit(fake):
    make(10)
    run("--limit", "4")
    assert Customer.objects.filter(sync_status=SyncStatus.SYNCED).count() == 4


def test_include_users_creates_missing_customers_first(fake, fluentcart_settings):
    fluentcart_settings["CREATE_CUSTOMER_FOR_NEW_USERS"] = False
    get_user_model().objects.create_user("old", email="old@example.com", password="x", first_name="Old", last_name="User")
    get_user_model().objects.create_user("noemail", password="x")
    fluentcart_settings["CREATE_CUSTOMER_FOR_NEW_USERS"] = True
    out = run("--include-users")
    assert "1 pushed" in out
    assert Customer.objects.get().user.username == "old"


def test_the_summary_counts_the_customers_already_synced(fake):
    make(5)
    for n in (0, 1):
        Customer.objects.filter(email=f"c{n}@example.com").update(sync_status=SyncStatus.SYNCED, fluentcart_id=9000 + n)
    out = run("--no-progress")
    assert "3 pushed" in out and "2 already synced" in out


def test_dry_run_with_a_limit_describes_only_the_limited_rows(fake):
    make(5)
    out = run("--dry-run", "--limit", "2")
    assert "2 customers would be pushed (2 without a FluentCart id" in out
    assert "1 with one" not in out and "0 with one: updated" in out
    assert "c0@example.com" in out and "c2@example.com" not in out


def test_include_users_dry_run_does_not_count_staff_the_real_run_skips(fake, fluentcart_settings):
    fluentcart_settings["CREATE_CUSTOMER_FOR_NEW_USERS"] = False
    User = get_user_model()
    User.objects.create_user("plain", email="plain@example.com", password="x")
    User.objects.create_user("staff", email="staff@example.com", password="x", is_staff=True)
    User.objects.create_superuser("root", email="root@example.com", password="x")
    assert "Would create customers for up to 1 users" in run("--include-users", "--dry-run")
    fluentcart_settings["INCLUDE_STAFF_USERS"] = True
    assert "Would create customers for up to 3 users" in run("--include-users", "--dry-run")
    fluentcart_settings["INCLUDE_STAFF_USERS"] = False
    assert "Created or linked customers for 1 users." in run("--include-users", "--no-progress")


def test_failures_exit_non_zero_with_a_summary(fake):
    make(2)
    Customer.objects.filter(email="c1@example.com").update(city="<b>x</b>")
    with pytest.raises(CommandError, match="1 customers did not sync"):
        run()
    assert Customer.objects.get(email="c0@example.com").sync_status == SyncStatus.SYNCED


def test_bad_credentials_stop_the_run(fake, fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = "nope"
    make(30)
    with pytest.raises(CommandError, match="Stopped: FluentCart refused the credentials"):
        run("--concurrency", "2")
    assert len(fake.requests_seen) < 30, "a configuration error stops the batch instead of failing every record"


def test_a_wrong_site_path_stops_the_run(fluentcart_settings):
    """WordPress answers a POST to a wrong site path with a 404 web page: the URL is wrong, so the batch stops."""
    import responses as responses_lib

    fluentcart_settings["URL"] = "https://shop.example.com/nothing-here"
    fluentcart_settings["AUTO_PUSH"] = False
    make(30)
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(r"https://shop\.example\.com/nothing-here/.*"), status=404, body="<html>Oops</html>")
        rsps.post(re.compile(r"https://shop\.example\.com/nothing-here/.*"), status=404, body="<html>Oops</html>")
        with pytest.raises(CommandError, match="Stopped: No FluentCart API"):
            run("--concurrency", "2")
        assert len(rsps.calls) < 30
    assert not Customer.objects.filter(sync_status=SyncStatus.SYNCED).exists()


def test_progress_lines_when_not_a_terminal(fake, monkeypatch):
    import fluentcart_sync.commands_support as support

    make(5)
    monkeypatch.setattr(support.Progress, "__init__.__defaults__", None, raising=False)
    out = io.StringIO()
    progress = support.Progress(5, out, interval=0)
    for _ in range(5):
        progress.update()
    assert "5/5 customers (100%)" in out.getvalue()


@pytest.mark.parametrize("size", [None, (30, 100)], ids=["pty-without-a-size", "pty-100-columns"])
def test_progress_bar_with_rate_and_eta_on_a_terminal(size):
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    from django.core.management.base import OutputWrapper

    from fluentcart_sync.commands_support import Progress

    leader, follower = pty.openpty()
    if size:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    terminal = os.fdopen(follower, "w")
    try:
        progress = Progress(4, OutputWrapper(terminal))  # as the command passes self.stdout
        for _ in range(4):
            progress.update()
        progress.close()
        terminal.flush()
        shown = b""
        while select.select([leader], [], [], 0.5)[0]:  # a pty hands the output over in pieces
            shown += os.read(leader, 65536)
        shown = shown.decode()
    finally:
        terminal.close()
        os.close(leader)
    assert "4/4" in shown and "customers/s" in shown  # the bar, its rate
    assert "<00:00" in shown  # and its ETA


@pytest.mark.parametrize("args", [["--limit", "-1"], ["--concurrency", "0"], ["--rate", "0"]])
def test_bad_options_get_a_clear_error(args):
    with pytest.raises(CommandError):
        run(*args)


# -- concurrency, over real HTTP on loopback ----------------------------------------------------------


@pytest.fixture
def served(fluentcart_settings):
    """The shipped fake served on 127.0.0.1 with some latency, so requests really overlap; it records
    the most requests it held at once and when each one arrived."""
    import threading
    import time

    from fluentcart_sync.sandbox import FakeFluentCart, Faults, SandboxServer

    from .conftest import APP_PASSWORD, USERNAME

    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD, faults=Faults(latency=0.01))
    lock = threading.Lock()
    fake.in_flight, fake.most_in_flight, fake.arrivals = 0, 0, []
    respond = fake.respond

    def counting_respond(method, url, *args, **kwargs):
        with lock:
            fake.in_flight += 1
            fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
            fake.arrivals.append(time.monotonic())
        try:
            return respond(method, url, *args, **kwargs)
        finally:
            with lock:
                fake.in_flight -= 1

    fake.respond = counting_respond
    with SandboxServer(fake) as server:
        fluentcart_settings.update(URL=server.url, AUTO_PUSH=False)
        yield fake
    fake.close()


def test_never_more_requests_in_flight_than_the_concurrency(served):
    make(40)
    assert "40 pushed" in run("--concurrency", "3")
    assert 2 <= served.most_in_flight <= 3


def test_without_concurrency_it_finds_its_own_and_stays_under_max_concurrency(served, fluentcart_settings):
    fluentcart_settings["MAX_CONCURRENCY"] = 3
    make(60)
    out = run()
    assert "60 pushed" in out
    assert served.most_in_flight <= 3
    assert "Requests in flight: found " in out and "--concurrency N fixes it" in out


def test_a_fixed_concurrency_says_nothing_about_finding_one(served):
    make(5)
    assert "Requests in flight" not in run("--concurrency", "2")


class FakeClock:
    """A clock that only moves when the limiter sleeps: the test times nothing."""

    def __init__(self, now: float = 100.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_ceiling_spaces_request_starts():
    from fluentcart_sync.batch import RateLimiter

    clock = FakeClock()
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(11):
        limiter.wait()
        starts.append(clock.now)
    assert starts[0] == 100.0  # the first request does not wait
    assert [round(b - a, 9) for a, b in zip(starts, starts[1:], strict=False)] == [0.05] * 10  # 11 starts at 20/s span 0.5 s
    clock.now += 10  # idle for a while: no burst of saved-up slots, the next start is spaced again
    limiter.wait()
    limiter.wait()
    assert clock.sleeps[-1] == pytest.approx(0.05)


def test_no_rate_never_sleeps():
    from fluentcart_sync.batch import RateLimiter

    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.wait()
    assert clock.sleeps == []


def test_rate_option_reaches_the_limiter(served, monkeypatch):
    from fluentcart_sync import batch

    rates = []
    real = batch.RateLimiter.__init__

    def spy(self, rate, **kwargs):
        rates.append(rate)
        real(self, rate, **kwargs)

    monkeypatch.setattr(batch.RateLimiter, "__init__", spy)
    make(3)
    assert "3 pushed" in run("--rate", "1000")
    assert rates == [1000.0]


def test_two_backfills_side_by_side_never_push_the_same_customer(served):
    import threading

    make(120)
    outputs, errors = [], []
    start = threading.Barrier(2)

    def backfill():
        try:
            start.wait()
            outputs.append(run("--concurrency", "4"))
        except BaseException as err:
            errors.append(err)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=backfill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert served.count() == 120 and served.store.duplicate_emails() == 0
    assert len([r for r in served.requests_seen if r.method == "POST"]) == 120
    pushed = [int(out.split(" pushed")[0].rsplit(" ", 1)[1]) for out in outputs]
    assert sum(pushed) == 120, outputs
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
