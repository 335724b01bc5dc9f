"""push_customer: create, link, refuse, retry, and never a duplicate in FluentCart."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, build_payload, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db


def make_customer(**fields):
    defaults = {"email": "jane.smith@example.com", "full_name": "Jane Smith", "city": "Boston", "country": "US"}
    return Customer.objects.create(**{**defaults, **fields})


def test_new_customer_is_created_remotely_and_marked_synced(fake):
    customer = make_customer()
    result = push_customer(customer)
    customer.refresh_from_db()
    assert result.outcome == Outcome.CREATED
    assert customer.sync_status == SyncStatus.SYNCED
    assert customer.synced_at is not None and customer.sync_error == ""
    [remote] = fake.customers()
    assert customer.fluentcart_id == remote["id"]
    assert remote["email"] == "jane.smith@example.com"
    assert remote["status"] == "active"  # FluentCart stores NULL unless status is sent
    assert (remote["first_name"], remote["last_name"], remote["city"]) == ("Jane", "Smith", "Boston")


def test_payload_sends_all_name_fields_and_status_but_never_wp_user():
    customer = Customer(email="a@example.com", full_name="Jean Luc Picard")
    payload = build_payload(customer)
    assert payload["full_name"] == "Jean Luc Picard"
    assert (payload["first_name"], payload["last_name"]) == ("Jean Luc", "Picard")
    assert payload["status"] == "active"
    assert "wp_user" not in payload and "user_id" not in payload and "id" not in payload


def test_second_push_sends_nothing(fake):
    customer = make_customer()
    push_customer(customer)
    before = len(fake.requests_seen)
    assert push_customer(customer).outcome == Outcome.UNCHANGED
    assert len(fake.requests_seen) == before


def test_email_already_in_fluentcart_is_linked_not_duplicated(fake):
    existing = fake.create_customer(email="JANE.SMITH@example.com", full_name="Jane Smith", status="active",
                                    city="Boston", country="US")
    customer = make_customer()
    result = push_customer(customer)
    customer.refresh_from_db()
    assert result.outcome == Outcome.LINKED
    assert customer.fluentcart_id == existing["id"]
    assert fake.count() == 1


def test_linking_ignores_substring_and_wildcard_matches(fake):
    # FluentCart's search for jane_smith@... also returns jane.smith@... ("_" is a LIKE wildcard).
    decoy = fake.create_customer(email="jane.smith@example.com", full_name="Jane Dot", status="active")
    customer = make_customer(email="jane_smith@example.com")
    push_customer(customer)
    customer.refresh_from_db()
    assert customer.fluentcart_id != decoy["id"]
    assert fake.count() == 2


def test_invalid_customer_is_refused_locally_with_field_errors(fake):
    # Saved without full_clean (as scripts do): the push checks what FluentCart would refuse.
    customer = make_customer(email="bob@example.com", full_name="Bob")
    Customer.objects.filter(pk=customer.pk).update(full_name="<b>Bob</b>")
    result = push_customer(customer.pk)
    customer.refresh_from_db()
    assert result.outcome == Outcome.FAILED
    assert customer.sync_status == SyncStatus.FAILED
    assert "full_name" in customer.sync_field_errors
    assert not sent(fake, "POST"), "refused locally: nothing FluentCart would refuse is sent"


def test_timeout_after_fluentcart_stored_the_customer_links_it_on_the_next_attempt(fake):
    customer = make_customer()
    fake.faults.slow_rate = 1.0  # stored, then the answer never comes in time
    first = push_customer(customer)
    fake.faults.slow_rate = 0.0
    customer.refresh_from_db()
    if first.outcome == Outcome.RETRY:
        assert customer.outcome_unknown, "the next attempt must look before it POSTs again"
        assert customer.sync_status == SyncStatus.RETRYING and customer.next_attempt_at > timezone.now()
        push_customer(customer)
        customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED
    assert fake.count() == 1
    assert customer.fluentcart_id == fake.customers()[0]["id"]


def test_http_500_after_the_row_was_stored_is_resolved_by_lookup(fake):
    customer = make_customer()
    fake.faults.error_rate = 1.0
    fake.faults.error_after_write_fraction = 1.0
    result = push_customer(customer)
    fake.faults.error_rate = 0.0
    if result.outcome == Outcome.RETRY:  # the look-up also hit a 5xx
        push_customer(customer)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED
    assert fake.count() == 1


def test_429_schedules_a_retry_honouring_retry_after(fake, fluentcart_settings):
    fluentcart_settings["RETRY_BASE_SECONDS"] = 1
    customer = make_customer()
    fake.faults.rate_limit_rate = 1.0
    fake.faults.retry_after = 120
    result = push_customer(customer)
    customer.refresh_from_db()
    assert result.outcome == Outcome.RETRY
    assert customer.sync_status == SyncStatus.RETRYING
    assert customer.next_attempt_at >= timezone.now() + timedelta(seconds=110)
    assert customer.sync_attempts == 1
    assert not customer.outcome_unknown, "a 429 stored nothing: no look-up needed"
    assert fake.count() == 0


def test_gives_up_after_max_attempts_and_says_what_to_do(fake, fluentcart_settings):
    fluentcart_settings["MAX_ATTEMPTS"] = 3
    customer = make_customer()
    fake.faults.rate_limit_rate = 1.0
    for _ in range(3):
        push_customer(customer)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.FAILED
    assert "Gave up after 3 attempts" in customer.sync_error


def test_bad_credentials_pause_pushes_with_the_setting_to_check_and_no_password(fake, fluentcart_settings):
    fluentcart_settings["APP_PASSWORD"] = "wrong secret value"
    customer = make_customer()
    result = push_customer(customer)
    customer.refresh_from_db()
    assert result.configuration_error
    # Not the customer's fault: it stays owed (the circuit is open), never `failed`.
    assert customer.sync_status == SyncStatus.RETRYING
    assert "FLUENTCART_APP_PASSWORD" in customer.sync_error
    assert "wrong secret value" not in customer.sync_error


def test_a_claimed_customer_is_not_pushed_by_a_second_worker(fake):
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5), claim_token="someone-else")
    assert push_customer(customer).outcome == Outcome.BUSY
    assert fake.requests_seen == [] or not sent(fake, "POST")


def test_an_expired_claim_is_taken_over_with_a_lookup_before_any_post(fake):
    # A worker crashed after its POST landed but before it recorded the id.
    remote = fake.create_customer(email="jane.smith@example.com", full_name="Jane Smith", status="active",
                                  city="Boston", country="US")
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1), claim_token="crashed-worker")
    result = push_customer(customer)
    customer.refresh_from_db()
    assert result.outcome == Outcome.LINKED
    assert customer.fluentcart_id == remote["id"]
    assert not sent(fake, "POST")
    assert fake.count() == 1


def test_changed_customer_is_updated_with_a_full_put(fake):
    remote = fake.create_customer(email="jane.smith@example.com", full_name="Jane Smith", status="active",
                                  city="Boston", country="US", aov="12.50")
    customer = make_customer()
    push_customer(customer)
    Customer.objects.filter(pk=customer.pk).update(city="Cambridge", sync_status=SyncStatus.PENDING)
    assert push_customer(customer.pk).outcome == Outcome.UPDATED
    [put] = sent(fake, "PUT")
    assert put.body["id"] == remote["id"]
    assert put.body["city"] == "Cambridge" and put.body["status"] == "active" and put.body["aov"] == "12.50"
    assert fake.customers()[0]["city"] == "Cambridge"


def test_customer_deleted_in_fluentcart_is_marked_and_not_recreated(fake):
    customer = make_customer()
    push_customer(customer)
    fake.reset()
    Customer.objects.filter(pk=customer.pk).update(city="Cambridge", sync_status=SyncStatus.PENDING)
    result = push_customer(customer.pk)
    customer.refresh_from_db()
    assert result.outcome == Outcome.MISSING_REMOTE
    assert customer.sync_status == SyncStatus.MISSING_REMOTE
    assert fake.count() == 0 and not sent(fake, "POST")
    # Only a person's explicit push creates it again.
    assert push_customer(customer).outcome == Outcome.MISSING_REMOTE
    assert push_customer(customer, recreate_missing=True).outcome == Outcome.CREATED
    assert fake.count() == 1
