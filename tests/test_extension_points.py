"""Host code extends the sync without forking: signals once an outcome is on the row, and a
PAYLOAD_HOOK that sends more of FluentCart's fields."""

import logging

import pytest

from fluentcart_sync.checks import check_payload_hook
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.outcomes import Outcome
from fluentcart_sync.pull import pull
from fluentcart_sync.services import push_customer
from fluentcart_sync.signals import customer_pulled, customer_push_failed, customer_pushed

from .conftest import sent

pytestmark = pytest.mark.django_db

HOOK = "tests.test_extension_points.add_contact_id"


def add_contact_id(customer, payload):
    """A host's hook: link the FluentCRM contact (deterministic: it depends on the customer only)."""
    payload["contact_id"] = 7000 + customer.pk
    return payload


def raising_hook(customer, payload):
    raise KeyError("crm_id")


def forgetful_hook(customer, payload):
    return {"contact_id": 1}


NOT_CALLABLE = 42


class Received(list):
    """A receiver that records its kwargs and the row's sync status at the moment it runs."""

    def __call__(self, sender, customer_id, **kwargs):
        row = Customer.objects.get(pk=customer_id)
        self.append({"sender": sender, "customer_id": customer_id, "row_status": row.sync_status, **kwargs})


@pytest.fixture
def receivers():
    got = {"pushed": Received(), "failed": Received(), "pulled": Received()}
    customer_pushed.connect(got["pushed"])
    customer_push_failed.connect(got["failed"])
    customer_pulled.connect(got["pulled"])
    yield got
    customer_pushed.disconnect(got["pushed"])
    customer_push_failed.disconnect(got["failed"])
    customer_pulled.disconnect(got["pulled"])


def synced(fake, **fields):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", **fields)
    push_customer(customer.pk)
    return Customer.objects.get(pk=customer.pk)


# -- signals ----------------------------------------------------------------------------------------


def test_customer_pushed_is_sent_after_the_row_shows_the_outcome(fake, receivers, django_capture_on_commit_callbacks):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    with django_capture_on_commit_callbacks(execute=True):
        result = push_customer(customer.pk)
    assert result.outcome == Outcome.CREATED
    [event] = receivers["pushed"]
    assert event == {
        "sender": Customer,
        "customer_id": customer.pk,
        "row_status": SyncStatus.SYNCED,
        "signal": customer_pushed,
        "outcome": Outcome.CREATED,
        "fluentcart_id": result.fluentcart_id,
    }
    assert receivers["failed"] == [] and receivers["pulled"] == []

    Customer.objects.filter(pk=customer.pk).update(city="Leadworth")
    Customer.objects.get(pk=customer.pk).save()  # an ordinary save: owed, pushed as an update
    with django_capture_on_commit_callbacks(execute=True):
        push_customer(customer.pk)
        push_customer(customer.pk)  # nothing changed: nothing announced
    assert [e["outcome"] for e in receivers["pushed"]] == [Outcome.CREATED, Outcome.UPDATED]


def test_customer_push_failed_carries_the_error_and_field_errors(fake, receivers, django_capture_on_commit_callbacks):
    customer = Customer.objects.create(email="bad@example.com", full_name="Bad Name")
    Customer.objects.filter(pk=customer.pk).update(full_name="<i>Bad</i>")
    with django_capture_on_commit_callbacks(execute=True):
        push_customer(customer.pk)
    [event] = receivers["failed"]
    assert event["customer_id"] == customer.pk and event["row_status"] == SyncStatus.FAILED
    assert "full_name" in event["field_errors"] and event["error"].startswith("Fix the customer before pushing")
    assert receivers["pushed"] == []


def test_nothing_is_announced_when_the_transaction_rolls_back(fake, receivers, django_capture_on_commit_callbacks):
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        push_customer(customer.pk)
    assert len(callbacks) == 1 and receivers["pushed"] == []  # waits for the commit


def test_a_raising_receiver_does_not_break_the_push(fake, receivers, caplog, django_capture_on_commit_callbacks):
    def broken(sender, **kwargs):
        raise RuntimeError("the CRM is down")

    customer_pushed.connect(broken)
    try:
        customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
        with caplog.at_level(logging.ERROR, logger="fluentcart_sync.signals"):
            with django_capture_on_commit_callbacks(execute=True):
                result = push_customer(customer.pk)
    finally:
        customer_pushed.disconnect(broken)
    assert result.outcome == Outcome.CREATED
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and customer.fluentcart_id == result.fluentcart_id
    assert len(receivers["pushed"]) == 1  # the other receivers still ran
    assert "customer_pushed" in caplog.text and "the CRM is down" in caplog.text


def test_customer_pulled_by_a_pull(fake, receivers, django_capture_on_commit_callbacks):
    customer = synced(fake, city="Boston")
    fake.edit_customer(customer.fluentcart_id, city="Chicago", country="US")
    with django_capture_on_commit_callbacks(execute=True):
        summary = pull(concurrency=1)
    assert summary.complete
    [event] = receivers["pulled"]
    assert event["customer_id"] == customer.pk and event["fields"] == {"city": "Chicago", "country": "US"}
    assert event["row_status"] == SyncStatus.SYNCED
    with django_capture_on_commit_callbacks(execute=True):
        pull(concurrency=1)  # nothing new in FluentCart: nothing announced
    assert len(receivers["pulled"]) == 1


def test_customer_pulled_when_a_push_merges_fluentcarts_change(fake, receivers, django_capture_on_commit_callbacks):
    customer = synced(fake, city="Boston")
    fake.edit_customer(customer.fluentcart_id, postcode="02134")
    customer.notes = "Called about shipping"
    customer.save()
    with django_capture_on_commit_callbacks(execute=True):
        push_customer(customer.pk)
    [pulled] = receivers["pulled"]
    assert pulled["fields"] == {"postcode": "02134"} and pulled["row_status"] == SyncStatus.SYNCED
    assert [e["outcome"] for e in receivers["pushed"]] == [Outcome.UPDATED]


# -- PAYLOAD_HOOK -----------------------------------------------------------------------------------


def test_the_hooks_field_reaches_fluentcart_on_create_and_update(fake, fluentcart_settings):
    fluentcart_settings["PAYLOAD_HOOK"] = HOOK
    customer = synced(fake)
    [post] = sent(fake, "POST")
    assert post.body["contact_id"] == 7000 + customer.pk and post.body["email"] == "amy@example.com"

    push_customer(customer.pk)  # deterministic: the same fingerprint, nothing owed, nothing sent
    assert sent(fake, "PUT") == [] and sent(fake, "GET") == []

    customer.city = "Leadworth"
    customer.save()
    push_customer(customer.pk)
    [put] = sent(fake, "PUT")
    assert put.body["contact_id"] == 7000 + customer.pk and put.body["city"] == "Leadworth"
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.SYNCED


@pytest.mark.parametrize(
    ("hook", "error"),
    [
        ("tests.test_extension_points.raising_hook", "failed: KeyError: 'crm_id'"),
        ("tests.test_extension_points.forgetful_hook", "must return the payload it was given"),
        ("tests.test_extension_points.missing", "failed: ImportError"),
    ],
)
def test_a_failing_hook_fails_that_rows_push_with_a_clear_error(fake, fluentcart_settings, hook, error):
    fluentcart_settings["PAYLOAD_HOOK"] = hook
    customer = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    result = push_customer(customer.pk)
    assert result.outcome == Outcome.FAILED
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.FAILED and customer.claim_token == ""
    assert customer.sync_error.startswith(f"PAYLOAD_HOOK {hook!r}") and error in customer.sync_error
    assert fake.requests_seen == []


def test_a_failing_hook_skips_that_row_in_a_pull(fake, fluentcart_settings):
    customer = synced(fake, city="Boston")
    fake.edit_customer(customer.fluentcart_id, city="Chicago")
    fluentcart_settings["PAYLOAD_HOOK"] = "tests.test_extension_points.raising_hook"
    summary = pull(concurrency=1)
    assert summary.complete and summary.counts["skipped"] == 1
    assert any("PAYLOAD_HOOK" in note for note in summary.notes)
    assert Customer.objects.get(pk=customer.pk).city == "Boston"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.test_extension_points.no_such_hook", "cannot be imported"),
        ("no_such_module.hook", "cannot be imported"),
        ("nodots", "cannot be imported"),
        ("tests.test_extension_points.NOT_CALLABLE", "is not callable"),
    ],
)
def test_an_invalid_hook_is_a_system_check_error(fluentcart_settings, path, message):
    fluentcart_settings["PAYLOAD_HOOK"] = path
    [error] = check_payload_hook()
    assert error.id == "fluentcart_sync.E009" and message in error.msg and error.hint


def test_a_valid_or_no_hook_passes_the_checks(fluentcart_settings):
    assert check_payload_hook() == []
    fluentcart_settings["PAYLOAD_HOOK"] = HOOK
    assert check_payload_hook() == []
