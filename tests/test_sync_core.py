"""The sync core under interleavings: edits and stale saves racing a push, unanswered POSTs, emails
changed after one, links that would take over another customer's record, and FluentCart's answers
checked. Each test drives the real push against the app's fake FluentCart (through `responses`) and
injects the interleaving at the exact line where it hurts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fluentcart_sync import claims
from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.exceptions import FluentCartTimeout
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db

FORM = {"email": "jane@example.com", "full_name": "Jane Smith", "first_name": "Jane", "last_name": "Smith",
        "status": "active", "notes": "", "city": "Boston", "state": "", "postcode": "", "country": "US", "user": ""}


def remote(fake, fluentcart_id):
    [record] = [c for c in fake.customers() if c["id"] == fluentcart_id]
    return record


def during(monkeypatch, method_name, action):
    """Run ``action`` while FluentCartClient.<method_name> is in flight (after FluentCart handled it,
    before its answer reaches the push), once."""
    real = getattr(FluentCartClient, method_name)
    done = []

    def in_flight(self, *args, **kwargs):
        answer = real(self, *args, **kwargs)
        if not done:
            done.append(True)
            action()
        return answer

    monkeypatch.setattr(FluentCartClient, method_name, in_flight)


def edit(pk, **changes):
    """Someone else's save: a fresh instance, as a form or a view would load it."""
    customer = Customer.objects.get(pk=pk)
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.save()


# -- 1. an edit saved while a push is in flight ---------------------------------------------------


def test_an_edit_saved_during_the_create_is_pushed_not_lost(fake, monkeypatch):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", city="Boston")
    during(monkeypatch, "create_customer", lambda: edit(customer.pk, city="Chicago"))

    push_customer(customer.pk)

    customer.refresh_from_db()
    assert remote(fake, customer.fluentcart_id)["city"] == "Chicago"
    assert customer.sync_status == SyncStatus.SYNCED and customer.city == "Chicago"
    assert fake.count() == 1


def test_an_edit_saved_during_an_update_is_pushed_not_lost(fake, monkeypatch):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", city="Boston")
    push_customer(customer.pk)
    edit(customer.pk, city="Denver")
    during(monkeypatch, "update_customer", lambda: edit(customer.pk, postcode="80202"))

    push_customer(customer.pk)

    customer.refresh_from_db()
    record = remote(fake, customer.fluentcart_id)
    assert (record["city"], record["postcode"]) == ("Denver", "80202")
    assert customer.sync_status == SyncStatus.SYNCED


def test_a_staff_edit_in_the_admin_during_a_push_reaches_fluentcart(fake, admin_client, monkeypatch):
    customer = Customer.objects.create(**{k: v for k, v in FORM.items() if k != "user"})
    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])

    def staff_saves():
        response = admin_client.post(url, {**FORM, "city": "Chicago"})
        assert response.status_code == 302

    during(monkeypatch, "create_customer", staff_saves)
    push_customer(customer.pk)

    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED
    assert remote(fake, customer.fluentcart_id)["city"] == "Chicago"


def test_the_row_stays_owed_when_the_push_cannot_go_round_again(fake, monkeypatch):
    # Edited during every round: the push gives up after a few, but never records `synced`.
    customer = Customer.objects.create(email="busy@example.com", full_name="Busy Bee")
    real = FluentCartClient.create_customer
    cities = iter(f"City {n}" for n in range(100))

    def always_edited(self, payload):
        answer = real(self, payload)
        edit(customer.pk, city=next(cities))
        return answer

    real_update = FluentCartClient.update_customer

    def always_edited_update(self, fluentcart_id, payload):
        answer = real_update(self, fluentcart_id, payload)
        edit(customer.pk, city=next(cities))
        return answer

    monkeypatch.setattr(FluentCartClient, "create_customer", always_edited)
    monkeypatch.setattr(FluentCartClient, "update_customer", always_edited_update)
    push_customer(customer.pk)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.PENDING, "the sweep sends the newest version"
    assert fake.count() == 1


# -- 2. stale instances ---------------------------------------------------------------------------


def test_a_stale_instance_saved_after_its_create_was_pushed_updates_instead_of_duplicating(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    push_customer(customer.pk)  # what the immediate backend does right after the create
    customer.email = "amy.pond@example.com"  # the same, now stale, object: fluentcart_id None on it
    customer.save()

    push_customer(customer.pk)

    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.fluentcart_id is not None and fresh.sync_status == SyncStatus.SYNCED
    assert [c["email"] for c in fake.customers()] == ["amy.pond@example.com"]
    assert len(sent(fake, "POST")) == 1


def test_a_stale_save_keeps_another_workers_claim(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    stale = Customer.objects.get(pk=customer.pk)
    token, _ = claims.claim_and_read(customer.pk)  # another worker is pushing it now
    stale.city = "Leadworth"
    stale.save()

    row = Customer.objects.get(pk=customer.pk)
    assert row.claim_token == token and row.claimed_until is not None
    assert push_customer(customer.pk).outcome == Outcome.BUSY
    assert not sent(fake, "POST")


def test_a_stale_save_cannot_write_back_old_sync_state(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    stale = Customer.objects.get(pk=customer.pk)
    push_customer(customer.pk)
    stale.notes = "called on Monday"
    stale.save()

    row = Customer.objects.get(pk=customer.pk)
    assert row.fluentcart_id is not None, "the remote id survives a save of an old instance"
    assert row.sync_status == SyncStatus.PENDING and row.data_revision == 2


def test_a_save_that_changes_no_pushed_field_keeps_the_row_synced(fake, django_user_model):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    push_customer(customer.pk)
    customer = Customer.objects.get(pk=customer.pk)
    customer.user = django_user_model.objects.create(username="amy")
    customer.save()
    customer.save()  # nothing changed at all
    row = Customer.objects.get(pk=customer.pk)
    assert (row.sync_status, row.data_revision) == (SyncStatus.SYNCED, 1)


# -- 3 and 4. unanswered POSTs ---------------------------------------------------------------------


def unanswered_post(monkeypatch, *, lands: bool):
    """The next POST times out; FluentCart has stored it (``lands``) or is still working on it."""
    real = FluentCartClient.create_customer
    calls = []

    def timeout(self, payload):
        calls.append(payload)
        if len(calls) == 1:
            if lands:
                real(self, payload)
            raise FluentCartTimeout("FluentCart did not answer POST /customers completely within 2s")
        return real(self, payload)

    monkeypatch.setattr(FluentCartClient, "create_customer", timeout)
    return calls


def end_quarantine(customer):
    Customer.objects.filter(pk=customer.pk).update(quarantine_until=timezone.now() - timedelta(seconds=1))


def test_a_repush_while_fluentcart_still_processes_the_post_sends_no_second_post(fake, monkeypatch):
    customer = Customer.objects.create(email="slow@example.com", full_name="Slow Post")
    posts = unanswered_post(monkeypatch, lands=False)
    assert push_customer(customer.pk).outcome == Outcome.RETRY

    # "Sync now" at once: the look-up finds nothing yet, and no second POST goes out.
    again = push_customer(customer.pk)
    assert again.outcome == Outcome.RETRY and "never created twice" in again.error
    assert len(posts) == 1

    fake.create_customer(email="slow@example.com", full_name="Slow Post", status="active")  # the first lands
    end_quarantine(customer)
    assert push_customer(customer.pk).outcome == Outcome.LINKED
    assert len(posts) == 1 and fake.count() == 1


def test_waiting_out_a_quarantine_is_not_a_failed_attempt(fake, monkeypatch, fluentcart_settings):
    fluentcart_settings["MAX_ATTEMPTS"] = 2
    customer = Customer.objects.create(email="wait@example.com", full_name="Wait Here")
    posts = unanswered_post(monkeypatch, lands=False)
    push_customer(customer.pk)  # attempt 1: no answer
    for _ in range(4):  # "Sync now", again and again: each looks, finds nothing, sends nothing
        assert push_customer(customer.pk).outcome == Outcome.RETRY
    row = Customer.objects.get(pk=customer.pk)
    assert (row.sync_status, row.sync_attempts) == (SyncStatus.RETRYING, 1), row.sync_error

    end_quarantine(customer)
    assert push_customer(customer.pk).outcome == Outcome.CREATED
    assert len(posts) == 2 and fake.count() == 1


def test_after_the_quarantine_a_post_that_never_landed_is_sent_again(fake, monkeypatch):
    customer = Customer.objects.create(email="lost@example.com", full_name="Lost Post")
    posts = unanswered_post(monkeypatch, lands=False)
    push_customer(customer.pk)
    end_quarantine(customer)
    assert push_customer(customer.pk).outcome == Outcome.CREATED
    assert len(posts) == 2 and fake.count() == 1


def test_an_email_changed_after_an_unanswered_post_finds_the_first_post(fake, monkeypatch):
    customer = Customer.objects.create(email="old@example.com", full_name="Email Change")
    unanswered_post(monkeypatch, lands=False)
    push_customer(customer.pk)
    edit(customer.pk, email="new@example.com")
    fake.create_customer(email="old@example.com", full_name="Email Change", status="active")  # it lands late
    end_quarantine(customer)

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.LINKED
    assert [c["email"] for c in fake.customers()] == ["new@example.com"], "one customer, now with the new email"
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.SYNCED


def test_a_crashed_worker_leaves_a_lookup_and_a_quarantine_behind(fake):
    customer = Customer.objects.create(email="crash@example.com", full_name="Crash Test")
    claims.claim_and_read(customer.pk)  # the worker POSTs, then dies: its lease runs out
    Customer.objects.filter(pk=customer.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))

    result = push_customer(customer.pk)

    assert result.outcome == Outcome.RETRY and not sent(fake, "POST")
    row = Customer.objects.get(pk=customer.pk)
    assert row.outcome_unknown and row.quarantine_until > timezone.now()
    assert row.posted_email == "crash@example.com"


# -- 5. links respect ownership ----------------------------------------------------------------------


def test_a_link_never_takes_over_a_fluentcart_customer_another_row_owns(fake):
    x = Customer.objects.create(email="a@example.com", full_name="Xavier Owner", city="Paris")
    push_customer(x.pk)
    edit(x.pk, email="c@example.com")  # changed locally, not pushed yet
    y = Customer.objects.create(email="a@example.com", full_name="Yvonne New")

    result = push_customer(y.pk)

    x.refresh_from_db()
    y.refresh_from_db()
    assert result.outcome == Outcome.FAILED and y.sync_status == SyncStatus.FAILED
    assert f"#{x.pk}" in y.sync_error and f"#{y.pk}" in y.sync_error
    assert y.fluentcart_id is None and y.claimed_until is None
    assert remote(fake, x.fluentcart_id)["first_name"] == "Xavier", "X's record was not overwritten"
    assert not sent(fake, "PUT")


@pytest.mark.django_db(transaction=True)
def test_one_rows_database_error_is_that_rows_and_the_backfill_goes_on(fake, fluentcart_settings, monkeypatch):
    from django.db import IntegrityError

    fluentcart_settings["AUTO_PUSH"] = False
    rows = [Customer.objects.create(email=f"r{n}@example.com", full_name=f"Row {n}") for n in range(5)]
    real_record = claims.record

    def record(customer, token, result):
        if customer.pk == rows[2].pk:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_record(customer, token, result)

    monkeypatch.setattr("fluentcart_sync.push.record", record)
    from fluentcart_sync.batch import push_many

    summary = push_many([r.pk for r in rows], concurrency=1)
    assert summary.pushed == 4
    broken = Customer.objects.get(pk=rows[2].pk)
    assert "IntegrityError" in broken.sync_error and broken.claimed_until is None
    assert broken.outcome_unknown, "its POST went out: the next attempt looks it up"


# -- 8 and 10. answers checked; duplicates visible -------------------------------------------------------


def test_an_email_fluentcart_keeps_is_not_marked_synced(fake):
    linked = fake.create_customer(email="wp@example.com", full_name="Word Press", user_id=7, status="active")
    customer = Customer.objects.create(email="wp@example.com", full_name="Word Press")
    push_customer(customer.pk)
    edit(customer.pk, email="changed@example.com")

    result = push_customer(customer.pk)

    row = Customer.objects.get(pk=customer.pk)
    assert result.outcome == Outcome.FAILED and row.sync_status == SyncStatus.FAILED
    assert "WordPress user" in row.sync_field_errors["email"][0]
    assert row.fluentcart_id == linked["id"]
    assert remote(fake, linked["id"])["email"] == "wp@example.com"


def test_duplicates_in_fluentcart_are_a_warning_with_every_id_and_stay_visible(fake, caplog, admin_client):
    first = fake.create_customer(email="twin@example.com", full_name="Twin One", status="active")
    second = fake.create_customer(email="TWIN@example.com", full_name="Twin Two", status="active")
    customer = Customer.objects.create(email="twin@example.com", full_name="Twin One")

    with caplog.at_level("WARNING", logger="fluentcart_sync"):
        push_customer(customer.pk)

    row = Customer.objects.get(pk=customer.pk)
    assert row.fluentcart_id == first["id"] and row.remote_duplicates == [second["id"]]
    assert any(str(first["id"]) in r.message and str(second["id"]) in r.message for r in caplog.records
               if r.levelname == "WARNING")
    page = admin_client.get(reverse("admin:fluentcart_sync_customer_change", args=[row.pk])).content.decode()
    assert "fluentcart-duplicates" in page and str(second["id"]) in page


def test_a_retry_window_ends_in_failed_and_not_before(fake, fluentcart_settings):
    from fluentcart_sync.sandbox import Faults

    fluentcart_settings["MAX_ATTEMPTS"] = None
    fake.faults = Faults(rate_limit_rate=1.0)
    customer = Customer.objects.create(email="outage@example.com", full_name="Out Age")
    push_customer(customer.pk)
    Customer.objects.filter(pk=customer.pk).update(failing_since=timezone.now() - timedelta(days=2))
    push_customer(customer.pk)
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.RETRYING

    Customer.objects.filter(pk=customer.pk).update(failing_since=timezone.now() - timedelta(days=3, minutes=1))
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.FAILED and "Gave up" in row.sync_error


def test_a_queryset_update_of_a_pushed_field_is_owed_like_a_save(fake):
    customer = Customer.objects.create(email="bulk@example.com", full_name="Bulk Edit", city="Boston")
    push_customer(customer.pk)
    Customer.objects.filter(pk=customer.pk).update(city="Chicago")  # host code's bulk edit
    row = Customer.objects.get(pk=customer.pk)
    assert (row.sync_status, row.data_revision) == (SyncStatus.PENDING, 2)
    push_customer(customer.pk)
    assert remote(fake, row.fluentcart_id)["city"] == "Chicago"

    Customer.objects.filter(pk=customer.pk).update(user=None)  # not a pushed field: nothing owed
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.SYNCED


def test_a_quarantine_is_retried_when_it_ends_not_after_the_backoff(fake, fluentcart_settings):
    fluentcart_settings["MAX_ATTEMPTS"] = None  # the default: the retry window decides
    customer = Customer.objects.create(email="late@example.com", full_name="Late Again")
    Customer.objects.filter(pk=customer.pk).update_sync_state(sync_attempts=13)  # a long outage before
    claims.claim_and_read(customer.pk)  # a worker dies mid-push
    Customer.objects.filter(pk=customer.pk).update_sync_state(claimed_until=timezone.now() - timedelta(seconds=1))
    push_customer(customer.pk)
    row = Customer.objects.get(pk=customer.pk)
    assert row.sync_status == SyncStatus.RETRYING and row.next_attempt_at == row.quarantine_until


def test_a_link_whose_put_fails_keeps_the_found_id_and_never_posts_again(fake, monkeypatch):
    """The look-up finds the customer an unanswered POST created; the PUT that brings it up to date
    is applied but answered 502; the email is edited again. The next push updates that customer:
    looking up the old email (now gone from FluentCart) would find nothing and POST a second one."""
    from fluentcart_sync.exceptions import FluentCartServerError

    customer = Customer.objects.create(email="first@example.com", full_name="Many Emails")
    unanswered_post(monkeypatch, lands=True)
    real_update = FluentCartClient.update_customer
    calls = []

    def applied_then_502(self, fluentcart_id, body):
        calls.append(body)
        answer = real_update(self, fluentcart_id, body)
        if len(calls) == 1:
            raise FluentCartServerError("FluentCart server error on PUT (HTTP 502)", status_code=502)
        return answer

    monkeypatch.setattr(FluentCartClient, "update_customer", applied_then_502)
    real_find = FluentCartClient.find_by_email
    finds = []

    def find_late(self, email):  # the first look-up runs before the POST has landed
        finds.append(email)
        return [] if len(finds) == 1 else real_find(self, email)

    monkeypatch.setattr(FluentCartClient, "find_by_email", find_late)
    push_customer(customer.pk)  # POST, no answer, nothing found yet
    edit(customer.pk, email="second@example.com")
    end_quarantine(customer)
    push_customer(customer.pk)  # finds first@, PUTs second@ (applied, answered 502)
    assert Customer.objects.get(pk=customer.pk).fluentcart_id is not None
    edit(customer.pk, email="third@example.com")
    end_quarantine(customer)  # the unanswered PUT could still have landed until then

    push_customer(customer.pk)

    assert [c["email"] for c in fake.customers()] == ["third@example.com"]
    assert len(sent(fake, "POST")) == 1
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.SYNCED
