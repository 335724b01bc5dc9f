"""Deleting a customer means something: every way to delete one is remembered, no pull brings it back,
and ``ON_DELETE`` is carried out in FluentCart exactly once, on the id that was linked, through
unanswered requests and a push in flight. Runs on SQLite and on PostgreSQL (``DATABASE_URL``)."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.urls import reverse

from fluentcart_sync import deletions, signals
from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.exceptions import FluentCartTimeout
from fluentcart_sync.models import Customer, CustomerDeletion, DeletionState, OnDelete, SyncStatus
from fluentcart_sync.services import push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db

PERSONAL = {"city": "Boston", "state": "MA", "postcode": "02101", "country": "US", "notes": "prefers email"}


@pytest.fixture
def policy(fluentcart_settings):
    def set_policy(value):
        fluentcart_settings["ON_DELETE"] = value

    return set_policy


def remote(fake, fluentcart_id):
    found = [c for c in fake.customers() if c["id"] == fluentcart_id]
    return found[0] if found else None


def pushed_customer(fake, email="amy@example.com", name="Amy Pond", **fields):
    customer = Customer.objects.create(email=email, full_name=name, **{**PERSONAL, **fields})
    push_customer(customer.pk)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED
    return customer


def pull():
    out = io.StringIO()
    call_command("fluentcart_pull", "--no-progress", stdout=out)
    return out.getvalue()


def answer_lost(monkeypatch, method_name):
    """FluentCartClient.<method_name> reaches FluentCart, which does the work; its answer is lost, once."""
    real = getattr(FluentCartClient, method_name)
    lost = []

    def unanswered(self, *args, **kwargs):
        answer = real(self, *args, **kwargs)
        if not lost:
            lost.append(True)
            raise FluentCartTimeout(f"FluentCart did not answer {method_name} in time")
        return answer

    monkeypatch.setattr(FluentCartClient, method_name, unanswered)


# -- every way to delete is remembered, and no pull brings it back -----------------------------------


def delete_by_orm(customer, admin_client):
    Customer.objects.get(pk=customer.pk).delete()


def delete_by_queryset(customer, admin_client):
    Customer.objects.filter(email__iexact=customer.email).delete()


def delete_in_the_admin(customer, admin_client):
    url = reverse("admin:fluentcart_sync_customer_delete", args=[customer.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert "FluentCart keeps its customer" in response.content.decode()


def delete_in_bulk_in_the_admin(customer, admin_client):
    url = reverse("admin:fluentcart_sync_customer_changelist")
    response = admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [customer.pk], "post": "yes"}, follow=True
    )
    assert "Remembered: no pull brings it back" in response.content.decode()


def delete_the_user_with_a_cascade(customer, admin_client, monkeypatch=None):
    user = get_user_model().objects.create_user("amy", customer.email, "pw")
    Customer.objects.filter(pk=customer.pk).update(user=user)
    user.delete()


WAYS = [delete_by_orm, delete_by_queryset, delete_in_the_admin, delete_in_bulk_in_the_admin]


@pytest.mark.parametrize("delete", WAYS, ids=lambda way: way.__name__)
def test_every_way_to_delete_is_remembered_and_no_pull_brings_it_back(fake, admin_client, delete, fluentcart_settings):
    fluentcart_settings["PULL_CREATES_CUSTOMERS"] = True
    customer = pushed_customer(fake)

    delete(customer, admin_client)

    [deletion] = CustomerDeletion.objects.all()
    assert (deletion.customer_id, deletion.email, deletion.fluentcart_id) == (
        customer.pk,
        "amy@example.com",
        customer.fluentcart_id,
    )
    assert deletion.state == DeletionState.NOTHING  # ON_DELETE "keep": FluentCart is left alone
    assert remote(fake, customer.fluentcart_id)["email"] == "amy@example.com"
    text = pull()
    assert not Customer.objects.exists()
    assert "1 deleted here" in text


def test_a_cascade_from_a_deleted_user_is_remembered(fake, admin_client, monkeypatch):
    # Customer.user is SET_NULL: deleting a user keeps its customer. A host whose cascade does delete
    # customers goes through the same signal; the cascade is made here by switching the rule.
    monkeypatch.setattr(Customer._meta.get_field("user").remote_field, "on_delete", models.CASCADE)
    customer = pushed_customer(fake)

    delete_the_user_with_a_cascade(customer, admin_client)

    assert not Customer.objects.exists()
    assert CustomerDeletion.objects.get().fluentcart_id == customer.fluentcart_id
    pull()
    assert not Customer.objects.exists()


def test_a_deleted_user_keeps_its_customer_by_default(fake):
    user = get_user_model().objects.create_user("amy", "amy@example.com", "pw")
    user.delete()
    assert Customer.objects.filter(email="amy@example.com", user=None).exists()
    assert not CustomerDeletion.objects.exists()


def test_a_remembered_email_is_not_linked_again_by_a_pull_even_under_another_id(fake):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")  # never pushed
    customer.delete()
    fake.create_customer(email="AMY@example.com", full_name="Amy Pond")

    pull()

    assert not Customer.objects.exists()


def test_a_rolled_back_deletion_is_not_remembered(fake):
    from django.db import transaction

    customer = pushed_customer(fake)
    with pytest.raises(RuntimeError), transaction.atomic():
        Customer.objects.get(pk=customer.pk).delete()
        raise RuntimeError("rolled back")
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not CustomerDeletion.objects.exists()


def test_forgetting_a_deletion_lets_the_next_pull_bring_the_customer_back(fake, admin_client):
    customer = pushed_customer(fake)
    customer.delete()
    deletion = CustomerDeletion.objects.get()

    changelist = reverse("admin:fluentcart_sync_customerdeletion_changelist")
    listed = admin_client.get(changelist)
    assert listed.status_code == 200 and b"amy@example.com" in listed.content
    response = admin_client.post(changelist, {"action": "forget", "_selected_action": [deletion.pk]}, follow=True)
    assert b"Forgot 1 deletions" in response.content

    pull()
    assert Customer.objects.get().fluentcart_id == customer.fluentcart_id


# -- each policy --------------------------------------------------------------------------------------


def test_keep_leaves_the_fluentcart_customer_and_sends_nothing(fake, policy, django_capture_on_commit_callbacks):
    policy("keep")
    customer = pushed_customer(fake)
    before = len(fake.requests_seen)
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    assert len(fake.requests_seen) == before
    assert remote(fake, customer.fluentcart_id)["city"] == "Boston"


def test_anonymize_replaces_every_personal_field_and_keeps_the_id_and_orders(
    fake, policy, django_capture_on_commit_callbacks
):
    policy("anonymize")
    customer = pushed_customer(fake)
    fake.edit_customer(customer.fluentcart_id, purchase_count=3, ltv=4500, aov="15.00", status="active")
    customer_id = customer.pk
    announced = []
    signals.customer_deleted_remotely.connect(lambda **kw: announced.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            customer.delete()
    finally:
        signals.customer_deleted_remotely.disconnect(dispatch_uid="t")

    record = remote(fake, customer.fluentcart_id)
    assert record["email"] == f"deleted-{customer.fluentcart_id}@anonymized.invalid"
    assert (record["first_name"], record["last_name"], record["full_name"]) == ("Deleted", "Customer", "Deleted Customer")
    assert [record[name] for name in ("city", "state", "postcode", "country")] == [None] * 4
    assert record["notes"] == ""
    assert (record["purchase_count"], record["ltv"], record["status"]) == ("3", "4500", "active")
    deletion = CustomerDeletion.objects.get()
    assert deletion.state == DeletionState.DONE and deletion.done_at is not None
    assert [(a["customer_id"], a["fluentcart_id"], a["action"]) for a in announced] == [
        (customer_id, customer.fluentcart_id, OnDelete.ANONYMIZE)
    ]
    pull()
    assert not Customer.objects.exists()  # the anonymized record is not brought back either


def test_delete_deletes_the_fluentcart_customer_by_its_id(fake, policy, django_capture_on_commit_callbacks):
    policy("delete")
    customer = pushed_customer(fake)
    other = pushed_customer(fake, email="rory@example.com", name="Rory Williams")
    with django_capture_on_commit_callbacks(execute=True):
        Customer.objects.filter(pk=customer.pk).delete()

    assert remote(fake, customer.fluentcart_id) is None
    assert remote(fake, other.fluentcart_id)["email"] == "rory@example.com"
    [bulk] = [r for r in sent(fake, "POST") if r.path == "/customers/do-bulk-action"]
    assert bulk.body == {"action": "delete_customers", "customer_ids": [customer.fluentcart_id]}
    assert CustomerDeletion.objects.get().state == DeletionState.DONE
    pull()
    assert list(Customer.objects.values_list("email", flat=True)) == ["rory@example.com"]


def test_a_stranger_under_a_deleted_customers_recycled_id_is_pulled_in(fake, policy, django_capture_on_commit_callbacks):
    """FluentCart gives a deleted customer's id to a new customer (MySQL, after the newest row was
    deleted and the server restarted): the deletion is remembered for the customer, not for the id."""
    from .test_stale_reads import recycle

    policy("delete")
    customer = pushed_customer(fake)
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    assert remote(fake, customer.fluentcart_id) is None
    recycle(fake, customer.fluentcart_id, email="zed@example.com", full_name="Zed Stranger", status="active")

    pull()

    zed = Customer.objects.get(email="zed@example.com")
    assert zed.fluentcart_id == customer.fluentcart_id and zed.sync_status == SyncStatus.SYNCED


def test_a_deletion_owed_to_a_recycled_id_leaves_the_stranger_alone(fake, policy, fluentcart_settings):
    from .test_stale_reads import recycle

    policy("anonymize")
    fluentcart_settings["AUTO_PUSH"] = False
    customer = pushed_customer(fake)
    customer.delete()  # owed; FluentCart reuses the id before the deletion is carried out
    recycle(fake, customer.fluentcart_id, email="zed@example.com", full_name="Zed Stranger", status="active")

    result = deletions.apply_deletion(CustomerDeletion.objects.get().pk)

    assert result.outcome == deletions.DONE and "another customer" in result.error
    assert remote(fake, customer.fluentcart_id)["email"] == "zed@example.com", "the stranger was not anonymized"
    assert not sent(fake, "PUT")


def test_a_delete_owed_to_a_recycled_id_leaves_the_stranger_alone(fake, policy, fluentcart_settings):
    from .test_stale_reads import recycle

    policy("delete")
    fluentcart_settings["AUTO_PUSH"] = False
    customer = pushed_customer(fake)
    customer.delete()
    recycle(fake, customer.fluentcart_id, email="zed@example.com", full_name="Zed Stranger", status="active")

    result = deletions.apply_deletion(CustomerDeletion.objects.get().pk)

    assert result.outcome == deletions.DONE and "another customer" in result.error
    assert remote(fake, customer.fluentcart_id)["email"] == "zed@example.com", "the stranger was not deleted"


def test_a_customer_never_pushed_owes_fluentcart_nothing(fake, policy, django_capture_on_commit_callbacks):
    policy("anonymize")
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    assert CustomerDeletion.objects.get().state == DeletionState.NOTHING
    assert fake.requests_seen == []


# -- retried after an unanswered request: only the id that was linked -------------------------------


@pytest.mark.parametrize("action, method_name", [("anonymize", "update_customer"), ("delete", "delete_customer")])
def test_a_deletion_retried_after_an_unanswered_request_touches_no_other_customer(
    fake, policy, monkeypatch, action, method_name, django_capture_on_commit_callbacks
):
    policy(action)
    customer = pushed_customer(fake)
    answer_lost(monkeypatch, method_name)
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    deletion = CustomerDeletion.objects.get()
    assert deletion.state == DeletionState.RETRYING and "did not answer" in deletion.error
    # Meanwhile the person buys again at checkout: a new FluentCart customer with the old email.
    newcomer = fake.create_customer(email="amy@example.com", full_name="Amy Pond", city="Leadworth")
    writes_before = [r for r in fake.requests_seen if r.method in ("PUT", "POST")]

    result = deletions.apply_deletion(deletion.pk)

    assert result.outcome == deletions.DONE
    assert remote(fake, newcomer["id"]) == newcomer  # untouched
    writes = [r for r in fake.requests_seen if r.method in ("PUT", "POST")]
    if action == "anonymize":
        assert writes == writes_before  # the record was found anonymized: no second PUT
        assert remote(fake, customer.fluentcart_id)["email"].endswith("@anonymized.invalid")
    else:
        assert remote(fake, customer.fluentcart_id) is None
        # The retry reads the id first (it knows the customer's uuid), finds it gone, and sends
        # nothing more; whatever it sends names only that id.
        assert all(r.body["customer_ids"] == [customer.fluentcart_id] for r in writes[len(writes_before) :])
    assert CustomerDeletion.objects.get().state == DeletionState.DONE


def test_the_sweep_carries_out_a_deletion_whose_task_was_lost(fake, policy, fluentcart_settings):
    policy("anonymize")
    fluentcart_settings["AUTO_PUSH"] = False  # no task queued: only the sweep can do it
    customer = pushed_customer(fake)
    customer.delete()
    assert CustomerDeletion.objects.get().state == DeletionState.PENDING

    out = io.StringIO()
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=out)

    assert "1 done in FluentCart" in out.getvalue()
    assert remote(fake, customer.fluentcart_id)["email"].endswith("@anonymized.invalid")
    status = io.StringIO()
    call_command("fluentcart_sync_due", "--status", stdout=status)
    assert "Deletions owed" not in status.getvalue()


def test_a_failing_deletion_is_visible_in_the_admin_and_retried_from_there(
    fake, policy, admin_client, django_capture_on_commit_callbacks
):
    policy("anonymize")
    customer = pushed_customer(fake)
    fake.mode = "forbidden"  # the WordPress user lost its FluentCart permissions
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    deletion = CustomerDeletion.objects.get()
    assert deletion.state == DeletionState.RETRYING

    listed = admin_client.get(reverse("admin:fluentcart_sync_customerdeletion_changelist"))
    assert b"Waiting to retry" in listed.content and b"permissions" in listed.content

    fake.mode = "ok"
    from fluentcart_sync import circuit

    circuit.close_circuit()
    CustomerDeletion.objects.filter(pk=deletion.pk).update(state=DeletionState.FAILED)
    admin_client.post(
        reverse("admin:fluentcart_sync_customerdeletion_changelist"),
        {"action": "retry_in_fluentcart", "_selected_action": [deletion.pk]},
    )
    assert CustomerDeletion.objects.get().state == DeletionState.DONE


# -- a deletion while a push of the same row is in flight --------------------------------------------


@pytest.mark.parametrize("method_name", ["create_customer", "update_customer"])
def test_a_deletion_while_the_push_is_in_flight_acts_on_the_id_the_push_linked(
    fake, policy, monkeypatch, method_name, django_capture_on_commit_callbacks
):
    policy("anonymize")
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", **PERSONAL)
    if method_name == "update_customer":
        push_customer(customer.pk)
        Customer.objects.filter(pk=customer.pk).update(city="Chicago")
    real = getattr(FluentCartClient, method_name)

    def in_flight(self, *args, **kwargs):
        answer = real(self, *args, **kwargs)
        Customer.objects.filter(pk=customer.pk).delete()  # staff delete it while FluentCart answers
        return answer

    monkeypatch.setattr(FluentCartClient, method_name, in_flight)
    with django_capture_on_commit_callbacks(execute=True):
        push_customer(customer.pk)
    monkeypatch.setattr(FluentCartClient, method_name, real)

    [record] = fake.customers()
    assert record["email"] == f"deleted-{record['id']}@anonymized.invalid" and record["city"] is None
    deletion = CustomerDeletion.objects.get()
    assert (deletion.fluentcart_id, deletion.state) == (record["id"], DeletionState.DONE)
    pull()
    assert not Customer.objects.exists()


def test_on_delete_is_checked(settings, fluentcart_settings):
    from fluentcart_sync.checks import check_on_delete

    fluentcart_settings["ON_DELETE"] = "purge"
    [error] = check_on_delete()
    assert error.id == "fluentcart_sync.E010" and "purge" in error.msg
    fluentcart_settings["ON_DELETE"] = "anonymize"
    assert check_on_delete() == []


# -- deleted while a POST of it got no answer ---------------------------------------------------------


def test_a_customer_deleted_after_an_unanswered_create_is_found_by_the_email_posted_and_anonymized(
    fake, policy, monkeypatch, django_capture_on_commit_callbacks
):
    policy("anonymize")
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", **PERSONAL)
    answer_lost(monkeypatch, "create_customer")
    monkeypatch.setattr(FluentCartClient, "find_by_email", lambda self, email: [])  # the look-up misses it too
    push_customer(customer.pk)
    monkeypatch.undo()
    customer.refresh_from_db()
    assert customer.fluentcart_id is None and customer.outcome_unknown
    Customer.objects.filter(pk=customer.pk).update(email="amy.pond@example.com")  # edited since: not what was POSTed
    # Another local customer owns a FluentCart customer too; it must stay as it is.
    other = pushed_customer(fake, email="rory@example.com", name="Rory Williams")

    with django_capture_on_commit_callbacks(execute=True):
        Customer.objects.filter(pk=customer.pk).delete()

    deletion = CustomerDeletion.objects.get(customer_id=customer.pk)
    [created] = [c for c in fake.customers() if c["id"] != other.fluentcart_id]
    assert deletion.fluentcart_id == created["id"] and deletion.state == DeletionState.DONE
    assert created["email"].endswith("@anonymized.invalid") and created["city"] is None
    assert remote(fake, other.fluentcart_id)["city"] == "Boston"
    pull()
    assert list(Customer.objects.values_list("email", flat=True)) == ["rory@example.com"]


def test_a_customer_whose_unanswered_create_never_landed_owes_nothing_once_none_can_land(
    fake, policy, monkeypatch, fluentcart_settings
):
    policy("anonymize")
    fluentcart_settings["AUTO_PUSH"] = False
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    Customer.objects.filter(pk=customer.pk).update_sync_state(outcome_unknown=True, posted_email="amy@example.com")
    customer.delete()
    deletion = CustomerDeletion.objects.get()
    assert deletion.state == DeletionState.PENDING and deletion.posted_email == "amy@example.com"

    assert deletions.apply_deletion(deletion.pk).outcome == deletions.RETRY  # a POST could still land
    assert [r.method for r in fake.requests_seen] == ["GET"]
    from datetime import timedelta

    from django.utils import timezone

    CustomerDeletion.objects.filter(pk=deletion.pk).update(look_until=timezone.now() - timedelta(seconds=1))
    assert deletions.apply_deletion(deletion.pk).outcome == deletions.DONE
    assert fake.count() == 0


def test_looking_for_an_unanswered_create_is_waiting_not_failing(fake, policy, monkeypatch, fluentcart_settings):
    """A deletion looks for the customer a create may still make until none can land (a push in
    flight holds its claim for a minute): those looks are not failed attempts, so a network error
    afterwards is retried, however often it looked."""
    policy("anonymize")
    fluentcart_settings.update(AUTO_PUSH=False, MAX_ATTEMPTS=3)
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    Customer.objects.filter(pk=customer.pk).update_sync_state(outcome_unknown=True, posted_email="amy@example.com")
    customer.delete()
    deletion = CustomerDeletion.objects.get()
    for _ in range(5):
        CustomerDeletion.objects.filter(pk=deletion.pk).update(next_attempt_at=None)
        assert deletions.apply_deletion(deletion.pk).outcome == deletions.RETRY  # nothing there yet

    def unanswered(self, email):
        raise FluentCartTimeout("FluentCart did not answer GET /customers completely within 2.4s")

    monkeypatch.setattr(FluentCartClient, "find_by_email", unanswered)
    deletions.apply_deletion(deletion.pk)

    deletion.refresh_from_db()
    assert deletion.state == DeletionState.RETRYING, deletion.error
    assert deletion.attempts == 1, "only the failed look counts"


@pytest.mark.django_db(transaction=True)
def test_a_deletion_committed_by_another_connection_during_a_create_follows_the_id_it_made(
    fake, policy, monkeypatch, fluentcart_settings
):
    """The same race over two real connections: staff delete the row (and commit) in their own
    transaction while the worker's POST is answered; the worker's record finds the row gone."""
    import threading

    from django.db import connection

    policy("anonymize")
    fluentcart_settings["AUTO_PUSH"] = False  # the push below is the only one
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", **PERSONAL)
    fluentcart_settings["AUTO_PUSH"] = True  # the deletion is queued after its commit
    real = FluentCartClient.create_customer
    failures = []

    def staff_delete():
        try:
            Customer.objects.filter(pk=customer.pk).delete()
        except BaseException as err:  # handed to the test
            failures.append(err)
        finally:
            connection.close()

    def in_flight(self, *args, **kwargs):
        answer = real(self, *args, **kwargs)
        staff = threading.Thread(target=staff_delete)
        staff.start()
        staff.join(30)
        return answer

    monkeypatch.setattr(FluentCartClient, "create_customer", in_flight)
    push_customer(customer.pk)

    assert not failures, failures
    [record] = fake.customers()
    deletion = CustomerDeletion.objects.get()
    assert record["email"] == f"deleted-{record['id']}@anonymized.invalid"
    assert (deletion.fluentcart_id, deletion.state) == (record["id"], DeletionState.DONE)


def test_the_sweep_queues_owed_deletions_as_tasks(fake, policy, fluentcart_settings):
    policy("delete")
    fluentcart_settings["AUTO_PUSH"] = False
    customer = pushed_customer(fake)
    customer_fluentcart_id = customer.fluentcart_id
    customer.delete()
    status = io.StringIO()
    call_command("fluentcart_sync_due", "--status", stdout=status)
    assert "Deletions owed to FluentCart: 1 pending" in status.getvalue()

    out = io.StringIO()
    call_command("fluentcart_sync_due", "--grace", "0", stdout=out)  # the test settings run tasks at once

    assert "Queued 1 deletions for FluentCart." in out.getvalue()
    assert remote(fake, customer_fluentcart_id) is None
    assert CustomerDeletion.objects.get().state == DeletionState.DONE
