"""Errors sorted exactly (issue 18, items 2, 13 and 14): a database error that is not a link collision
keeps the row's FluentCart id, a 403 pauses every push only when the credentials really lack the
permission, and a push that crashes every time backs off and ends ``failed``."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from fluentcart_sync import circuit
from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox.wire import Reply
from fluentcart_sync.services import Outcome, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db


def edit(pk, **changes):
    """Someone else's save: a fresh instance, as a form or a view would load it."""
    customer = Customer.objects.get(pk=pk)
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.save()


def synced(fake, email, full_name, **fields):
    customer = Customer.objects.create(email=email, full_name=full_name, **fields)
    assert push_customer(customer.pk).outcome == Outcome.CREATED
    return Customer.objects.get(pk=customer.pk)


# -- 2. an IntegrityError that is not a link collision keeps the FluentCart id ---------------------


def test_fluentcarts_email_that_another_local_customer_holds_keeps_the_id_and_names_both(fake):
    amy = synced(fake, "amy@example.com", "Amy Pond", city="Boston")
    rory = Customer.objects.create(email="rory@example.com", full_name="Rory Williams")  # never pushed
    fake.edit_customer(amy.fluentcart_id, email="rory@example.com")  # staff in WordPress
    edit(amy.pk, city="Chicago")

    result = push_customer(amy.pk)  # the merge copies FluentCart's email: taken here by Rory

    row = Customer.objects.get(pk=amy.pk)
    assert result.outcome == Outcome.FAILED and row.sync_status == SyncStatus.FAILED
    assert row.fluentcart_id == amy.fluentcart_id, "the id is kept: a retry must not POST a second customer"
    assert row.email == "amy@example.com" and row.claimed_until is None
    assert f"#{amy.pk}" in row.sync_error and f"#{rory.pk}" in row.sync_error
    assert "rory@example.com" in row.sync_error

    posts = len(sent(fake, "POST"))
    push_customer(amy.pk)  # again, as the admin's "Sync now" would
    assert len(sent(fake, "POST")) == posts and fake.count() == 1
    assert Customer.objects.get(pk=amy.pk).fluentcart_id == amy.fluentcart_id


def test_a_link_whose_fluentcart_id_another_row_took_meanwhile_is_still_a_link_collision(fake, monkeypatch):
    existing = fake.create_customer(email="amy@example.com", full_name="Amy Pond", status="active", city="Paris")
    amy = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    other = Customer.objects.create(email="other@example.com", full_name="Other Person")
    real_update = FluentCartClient.update_customer

    def another_row_links_it_meanwhile(self, *args, **kwargs):
        Customer.objects.filter(pk=other.pk).update_sync_state(fluentcart_id=existing["id"])
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(FluentCartClient, "update_customer", another_row_links_it_meanwhile)
    edit(amy.pk, city="Boston")  # so the link has something to PUT

    result = push_customer(amy.pk)

    row = Customer.objects.get(pk=amy.pk)
    assert result.outcome == Outcome.FAILED and row.fluentcart_id is None
    assert f"#{other.pk}" in row.sync_error and str(existing["id"]) in row.sync_error


# -- 14. a push that crashes every time backs off and ends failed ------------------------------------


def test_a_push_that_crashes_every_time_backs_off_and_ends_failed(fake, fluentcart_settings, monkeypatch):
    fluentcart_settings["MAX_ATTEMPTS"] = None
    fluentcart_settings["RETRY_WINDOW_SECONDS"] = 24 * 3600
    customer = synced(fake, "bug@example.com", "Bug Report")
    edit(customer.pk, city="Boston")
    # It has been crashing for two hours already: no wait is capped by a short run of failures.
    Customer.objects.filter(pk=customer.pk).update_sync_state(failing_since=timezone.now() - timedelta(hours=2))

    def crash(self, customer_id):
        raise RuntimeError("a bug in the host's code")

    monkeypatch.setattr(FluentCartClient, "get_customer", crash)
    delays = []
    for _ in range(4):
        Customer.objects.filter(pk=customer.pk).update_sync_state(next_attempt_at=timezone.now())  # due: the sweep
        push_customer(customer.pk)
        row = Customer.objects.get(pk=customer.pk)
        assert row.sync_status == SyncStatus.RETRYING and "RuntimeError" in row.sync_error
        delays.append((row.next_attempt_at - timezone.now()).total_seconds())
    assert row.sync_attempts == 4
    assert delays[-1] > 2 * 30, "backed off like any failure, not every 30 s"

    # The retry window has passed since the first crash: the next one gives up.
    Customer.objects.filter(pk=customer.pk).update_sync_state(failing_since=timezone.now() - timedelta(hours=25))
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.FAILED and row.next_attempt_at is None
    assert "Gave up after 5 attempts" in row.sync_error and "RuntimeError" in row.sync_error
    assert row.fluentcart_id == customer.fluentcart_id


def test_a_create_that_crashes_looks_up_first_and_counts_as_an_attempt(fake, monkeypatch):
    customer = Customer.objects.create(email="bug@example.com", full_name="Bug Report")

    def crash(self, payload):
        raise RuntimeError("a bug in the host's code")

    monkeypatch.setattr(FluentCartClient, "create_customer", crash)
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.RETRYING and row.sync_attempts == 1 and row.failing_since is not None
    assert row.outcome_unknown and row.quarantine_until is not None, "a POST may have gone out"


# -- 13. a 403 pauses every push only when the credentials really lack the permission ----------------

FIREWALL_PAGE = b"<html><head><title>403 Forbidden</title></head><body>Request blocked by the firewall</body></html>"
REST_FORBIDDEN = b'{"code":"rest_forbidden","message":"Sorry, you are not allowed to do that.","data":{"status":403}}'


def refuse(fake, email, body, content_type):
    """The host in front of FluentCart answers 403 to every request carrying ``email`` (a firewall
    rule that one customer's data trips), and lets everything else through."""
    real = fake.respond

    def respond(method, url, headers, raw, **kwargs):
        if email.encode() in raw:
            return Reply(403, {"Content-Type": content_type}, body)
        return real(method, url, headers, raw, **kwargs)

    fake.respond = respond


@pytest.mark.parametrize(
    "body, content_type",
    [
        (FIREWALL_PAGE, "text/html"),
        (b'{"error":"blocked","rule":"sql-injection"}', "application/json"),
        (REST_FORBIDDEN, "application/json; charset=UTF-8"),  # a security plugin, while the credentials work
    ],
    ids=["html", "other-json", "rest_forbidden-but-the-credentials-work"],
)
@pytest.mark.django_db(transaction=True)  # the sweep pushes from worker threads
def test_a_403_on_one_row_is_that_rows_failure_and_pushes_go_on(fake, fluentcart_settings, body, content_type):
    fluentcart_settings["AUTO_PUSH"] = False  # the sweep pushes them
    refuse(fake, "blocked@example.com", body, content_type)
    blocked = Customer.objects.create(email="blocked@example.com", full_name="Bobby Tables")
    others = [Customer.objects.create(email=f"ok{n}@example.com", full_name=f"Okay {n}") for n in range(3)]

    with pytest.raises(CommandError, match="1 customers did not sync"):  # exit 1: one is left to retry
        call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())

    row = Customer.objects.get(pk=blocked.pk)
    assert row.sync_status == SyncStatus.RETRYING and "403" in row.sync_error
    assert row.next_attempt_at > timezone.now(), "backs off like any failure"
    assert not circuit.state().open, "one refused row pauses nothing"
    assert all(Customer.objects.get(pk=c.pk).sync_status == SyncStatus.SYNCED for c in others)

    # The next sweep rounds: the row is retried when due, and pushes are never paused.
    Customer.objects.filter(pk=blocked.pk).update_sync_state(next_attempt_at=timezone.now())
    circuit.forget_cached_state()
    with pytest.raises(CommandError):
        call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert not circuit.state().open
    assert Customer.objects.get(pk=blocked.pk).sync_attempts == 2


def test_a_rest_forbidden_403_that_the_probe_confirms_pauses_pushes(fake, fluentcart_settings):
    fake.mode = "forbidden"  # a WordPress user without FluentCart's permissions: every request 403
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.PAUSED and circuit.state().open
    assert [(r.method, r.path, r.status) for r in fake.requests_seen] == [
        ("POST", "/customers", 403),
        ("GET", "/customers", 403),  # the probe: the credentials cannot even read customers
    ]
    assert "permission" in circuit.state().reason


def test_a_rest_forbidden_that_no_probe_can_confirm_pauses_nothing(fake):
    real = fake.respond

    def respond(method, url, headers, raw, **kwargs):
        if method == "POST":
            return Reply(403, {"Content-Type": "application/json; charset=UTF-8"}, REST_FORBIDDEN)
        if method == "GET" and "/customers?" in url:  # the probe meets a proxy's error
            return Reply(502, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>")
        return real(method, url, headers, raw, **kwargs)

    fake.respond = respond
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.RETRY and not circuit.state().open
    assert "probe" in Customer.objects.get(pk=customer.pk).sync_error
