"""Database round trips: a push costs at most 3 queries including its claim (2 where the database can
return the claimed row), a backfill adds no query per record beyond them, and the admin change list
runs the same number of queries whatever the number of rows."""

import io
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fluentcart_sync import circuit, claims
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer


def queries_of(action):
    """The statements ``action`` runs, as a worker would: the circuit state already cached, and
    without the savepoints that only a caller's transaction (here the test's) adds."""
    circuit.is_open()
    with CaptureQueriesContext(connection) as captured:
        result = action()
    return result, [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.mark.django_db
def test_a_new_customer_is_pushed_with_its_claim_in_at_most_three_queries(fake):
    customer = Customer.objects.create(email="q@example.com", full_name="Query Count")
    result, sql = queries_of(lambda: push_customer(customer.pk))
    assert result.outcome == Outcome.CREATED
    assert len(sql) <= 3
    assert sql[0].startswith("UPDATE") and "claim_token" in sql[0], "the claim comes first"
    if claims.can_return_from_update(connection):
        assert len(sql) == 2, "claim and read are one UPDATE ... RETURNING"


@pytest.mark.django_db
def test_the_record_is_one_update_naming_the_claim_and_the_revision_it_pushed(fake):
    customer = Customer.objects.create(email="r@example.com", full_name="Re Cord")
    result, sql = queries_of(lambda: push_customer(customer.pk))
    assert result.outcome == Outcome.CREATED
    where = sql[-1].split("WHERE", 1)[1]
    assert sql[-1].startswith("UPDATE") and "claim_token" in where and "data_revision" in where
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and customer.claim_token == "" and customer.synced_revision == 1


@pytest.mark.django_db
def test_a_precompiled_record_writes_nothing_once_the_revision_or_the_claim_moved_on():
    customer = Customer.objects.create(email="p@example.com", full_name="Pre Compiled")
    token, fresh = claims.claim_and_read(customer.pk)
    changes = {"sync_status": SyncStatus.SYNCED, "sync_field_errors": {"email": ["x"]}, "claim_token": ""}
    assert claims.update_claimed(customer.pk, token, changes, data_revision=fresh.data_revision + 1) == 0
    assert claims.update_claimed(customer.pk, "not-the-token", changes) == 0
    assert claims.update_claimed(customer.pk, token, changes, data_revision=fresh.data_revision) == 1
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and customer.sync_field_errors == {"email": ["x"]}


@pytest.mark.django_db
def test_an_update_of_a_synced_customer_costs_the_same(fake):
    customer = Customer.objects.create(email="u@example.com", full_name="Up Date")
    push_customer(customer.pk)
    customer = Customer.objects.get(pk=customer.pk)
    customer.city = "Paris"
    customer.save()
    result, sql = queries_of(lambda: push_customer(customer.pk))
    assert result.outcome == Outcome.UPDATED
    assert len(sql) <= 3


@pytest.mark.django_db
def test_without_update_returning_a_push_claims_reads_and_records_in_three(fake, monkeypatch):
    monkeypatch.setattr(claims, "can_return_from_update", lambda connection: False)
    customer = Customer.objects.create(email="f@example.com", full_name="Fall Back")
    result, sql = queries_of(lambda: push_customer(customer.pk))
    assert result.outcome == Outcome.CREATED
    assert len(sql) == 3
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and customer.claim_token == ""


@pytest.mark.django_db
def test_claim_and_read_takes_over_an_expired_claim_as_outcome_unknown():
    from datetime import timedelta

    from django.utils import timezone

    customer = Customer.objects.create(email="e@example.com", full_name="Ex Pired")
    Customer.objects.filter(pk=customer.pk).update(claimed_until=timezone.now() - timedelta(seconds=1), claim_token="x")
    token, fresh = claims.claim_and_read(customer.pk)
    assert fresh.outcome_unknown and fresh.claim_token == token and fresh.email == "e@example.com"
    assert fresh.claimed_until > timezone.now()
    assert claims.claim_and_read(customer.pk) is None, "a live claim is not taken twice"
    assert claims.claim_and_read(customer.pk + 1000) is None


@pytest.mark.django_db(transaction=True)
def test_a_backfill_adds_no_query_per_customer_beyond_the_push(fake, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    counter = itertools.count()

    def count(execute, sql, params, many, context):
        next(counter)
        return execute(sql, params, many, context)

    def install(sender, connection, **kwargs):  # every worker thread opens its own connection
        connection.execute_wrappers.append(count)

    Customer.objects.bulk_create(Customer(email=f"b{i}@example.com", full_name=f"Back Fill {i}") for i in range(60))
    connection_created.connect(install, weak=False)
    try:
        call_command("fluentcart_backfill", "--concurrency", "3", "--chunk-size", "25", stdout=io.StringIO())
    finally:
        connection_created.disconnect(install)
    assert Customer.objects.filter(sync_status=SyncStatus.SYNCED).count() == 60
    assert next(counter) <= 3 * 60 + 10  # a count and a few keyset chunks on top of the pushes


@pytest.mark.django_db
def test_admin_change_list_runs_the_same_queries_at_10_and_1000_rows(admin_client, django_assert_num_queries):
    url = reverse("admin:fluentcart_sync_customer_changelist")
    User = get_user_model()

    def add_customers(start, count):
        users = User.objects.bulk_create(
            User(username=f"u{i}", email=f"u{i}@example.com", password="!") for i in range(start, start + count))
        Customer.objects.bulk_create(
            Customer(email=f"c{i}@example.com", full_name=f"Customer {i}", user=users[i - start] if i % 2 else None,
                     sync_status=SyncStatus.FAILED if i % 3 else SyncStatus.SYNCED, fluentcart_id=i if i % 3 == 0 else None,
                     sync_error="FluentCart rejected the customer" if i % 3 else "")
            for i in range(start, start + count))

    add_customers(0, 10)
    admin_client.get(url)  # warm caches (content types, permissions) so both counts see the same state
    with CaptureQueriesContext(connection) as at_10:
        page = admin_client.get(url)
    assert page.status_code == 200 and "c9@example.com" in page.content.decode()

    add_customers(10, 990)
    with django_assert_num_queries(len(at_10.captured_queries)):
        page = admin_client.get(url)
    assert "c999@example.com" in page.content.decode()
