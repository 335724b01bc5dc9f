"""Two-way sync against stale copies: a page read before a push, a form opened before a pull, the
app's own unanswered POST or PUT, a recycled FluentCart id, a row from before the merge base existed.
Each test drives the public paths (``fluentcart_pull``, ``push_customer``, the admin, the sweep)
against the app's fake FluentCart, and forces the interleaving at the line where it hurts."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.exceptions import FluentCartConnectError, FluentCartTimeout
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import Outcome, push_customer

from .conftest import sent

pytestmark = pytest.mark.django_db


def remote(fake, fluentcart_id):
    [record] = [c for c in fake.customers() if c["id"] == fluentcart_id]
    return record


def pull():
    """``fluentcart_pull``; its output, or the error it exits 1 with (customers left for a person)."""
    out = io.StringIO()
    try:
        call_command("fluentcart_pull", "--no-progress", stdout=out)
    except CommandError as err:
        return f"{out.getvalue()}\n{err}"
    return out.getvalue()


def synced(email="amy@example.com", **fields):
    customer = Customer.objects.create(email=email, full_name=fields.pop("full_name", "Amy Pond"), **fields)
    assert push_customer(customer.pk).outcome.succeeded
    return Customer.objects.get(pk=customer.pk)


def edit(pk, **changes):
    customer = Customer.objects.get(pk=pk)
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.save()


def backdate(fake, fluentcart_id, stamp="2026-01-01T00:00:00+00:00"):
    """FluentCart saved this record long ago (its ``updated_at``)."""
    with fake.store.lock:
        fake.store._db.execute("UPDATE customers SET updated_at = ? WHERE id = ?", (stamp, fluentcart_id))


def recycle(fake, old_id, **fields):
    """A new FluentCart customer under a deleted one's id (MySQL gives the newest id again once the
    newest row was deleted and the server restarted)."""
    fake.store.delete([old_id])
    stranger = fake.create_customer(**fields)
    with fake.store.lock:
        fake.store._db.execute("UPDATE customers SET id = ? WHERE id = ?", (old_id, stranger["id"]))
    return remote(fake, old_id)


def end_quarantine(pk):
    Customer.objects.filter(pk=pk).update(quarantine_until=timezone.now() - timedelta(seconds=1))


def post_lands_unanswered(monkeypatch):
    """The next POSTs are stored by FluentCart but get no answer, and the look-up right after finds
    nothing yet (FluentCart's search lags): the push ends with an unknown outcome, quarantined.
    ``monkeypatch.undo()`` ends it."""
    real = FluentCartClient.create_customer

    def lands_unanswered(self, payload):
        real(self, payload)
        raise FluentCartTimeout("FluentCart did not answer POST /customers completely within 2s")

    monkeypatch.setattr(FluentCartClient, "find_by_email", lambda self, email: [])
    monkeypatch.setattr(FluentCartClient, "create_customer", lands_unanswered)


def while_listing(monkeypatch, action):
    """Run ``action`` after the pull has read its first page from FluentCart (the first range of ids;
    the request for the highest id before it is not applied), before it applies it."""
    real = FluentCartClient.list_customers
    done = []

    def listed(self, *args, **kwargs):
        page = real(self, *args, **kwargs)
        if not done and kwargs.get("ascending", True):
            done.append(True)
            action()
        return page

    monkeypatch.setattr(FluentCartClient, "list_customers", listed)


# -- the pull never stops for one row ---------------------------------------------------------------


def test_a_fluentcart_email_another_local_customer_holds_is_a_conflict_and_the_pull_goes_on(fake):
    amy = synced("amy@example.com")
    other = Customer.objects.create(email="bea@example.com", full_name="Bea Local")  # unlinked, pending
    rory = synced("rory@example.com", full_name="Rory Williams", city="Leadworth")
    fake.edit_customer(amy.fluentcart_id, email="bea@example.com")
    fake.edit_customer(rory.fluentcart_id, city="London")

    for _ in range(2):  # every later pull too, each telling that a customer needs a person (exit 1)
        assert "1 FluentCart customers need a person" in pull()

    amy.refresh_from_db()
    assert amy.email == "amy@example.com" and amy.sync_status == SyncStatus.FAILED
    assert f"#{other.pk}" in amy.sync_error and "bea@example.com" in amy.sync_error
    assert amy.sync_conflicts["email"]["fluentcart"] == "bea@example.com"
    assert Customer.objects.get(pk=rory.pk).city == "London", "the rest of the page was pulled"
    assert Customer.objects.get(pk=other.pk).fluentcart_id is None


def test_a_value_the_model_refuses_is_a_conflict_on_that_row_not_an_error_for_the_page(fake):
    amy = synced("amy@example.com")
    rory = synced("rory@example.com", full_name="Rory Williams", city="Leadworth")
    fake.edit_customer(amy.fluentcart_id, first_name="A" * 120, last_name="B" * 100, city="Cardiff")
    fake.edit_customer(rory.fluentcart_id, city="London")

    pull()

    amy.refresh_from_db()
    assert amy.full_name == "Amy Pond" and amy.city == "Cardiff", "the name is refused whole, the rest is taken"
    assert amy.sync_status == SyncStatus.FAILED and "full_name" in amy.sync_field_errors
    assert "full_name" in amy.sync_conflicts
    assert Customer.objects.get(pk=rory.pk).city == "London"
    # A push does not write the name over FluentCart's, and still cannot take it.
    push_customer(amy.pk)
    assert remote(fake, amy.fluentcart_id)["last_name"] == "B" * 100
    assert Customer.objects.get(pk=amy.pk).sync_status == SyncStatus.FAILED


# -- stale reads are recognised as stale -------------------------------------------------------------


def test_a_page_read_before_a_push_does_not_revert_the_pushed_edit(fake, monkeypatch):
    amy = synced(city="Boston")
    backdate(fake, amy.fluentcart_id)
    Customer.objects.filter(pk=amy.pk).update_sync_state(
        remote_base={**amy.remote_base, "updated_at": "2026-01-01T00:00:00+00:00"}
    )

    def staff_edit_pushed():
        edit(amy.pk, city="Chicago")
        assert push_customer(amy.pk).outcome == Outcome.UPDATED

    while_listing(monkeypatch, staff_edit_pushed)
    pull()

    amy.refresh_from_db()
    assert amy.city == "Chicago" == remote(fake, amy.fluentcart_id)["city"]
    assert amy.sync_status == SyncStatus.SYNCED


def test_a_page_read_in_the_same_second_as_the_push_is_checked_against_fluentcart(fake, monkeypatch):
    amy = synced(city="Boston")

    def staff_edit_pushed():
        edit(amy.pk, city="Chicago")
        push_customer(amy.pk)
        stamp = remote(fake, amy.fluentcart_id)["updated_at"]
        # The page read a moment ago carries the same second as the push's answer.
        Customer.objects.filter(pk=amy.pk).update_sync_state(remote_base={**Customer.objects.get(pk=amy.pk).remote_base,
                                                                          "updated_at": stamp})

    real = FluentCartClient.list_customers
    done = []

    def page_with_the_push_second(self, *args, **kwargs):
        page = real(self, *args, **kwargs)
        if done or not kwargs.get("ascending", True):
            return page  # the request for the highest id is not applied; later ones read after the push
        done.append(True)
        staff_edit_pushed()
        for record in page.customers:
            record["updated_at"] = remote(fake, amy.fluentcart_id)["updated_at"]
        return page

    monkeypatch.setattr(FluentCartClient, "list_customers", page_with_the_push_second)
    pull()

    amy.refresh_from_db()
    assert amy.city == "Chicago" == remote(fake, amy.fluentcart_id)["city"]


def test_a_fluentcart_edit_in_the_same_second_as_the_base_is_still_pulled(fake):
    amy = synced(city="Boston")
    fake.edit_customer(amy.fluentcart_id, city="Lyon")
    with fake.store.lock:  # FluentCart's clock has whole seconds: the edit carries the base's second
        fake.store._db.execute("UPDATE customers SET updated_at = ? WHERE id = ?",
                               (amy.remote_base["updated_at"], amy.fluentcart_id))
    pull()
    assert Customer.objects.get(pk=amy.pk).city == "Lyon"


def test_a_recycled_fluentcart_id_is_another_customer_never_merged(fake):
    amy = synced("amy@example.com", city="Boston")
    old_id = amy.fluentcart_id
    recycle(fake, old_id, email="zed@example.com", full_name="Zed Stranger", city="Oslo", status="active")

    pull()

    amy.refresh_from_db()
    assert amy.sync_status == SyncStatus.MISSING_REMOTE and amy.fluentcart_id is None
    assert str(old_id) in amy.sync_error
    assert (amy.email, amy.city) == ("amy@example.com", "Boston")
    zed = Customer.objects.get(email="zed@example.com")
    assert zed.fluentcart_id == old_id and zed.city == "Oslo"
    assert remote(fake, old_id)["email"] == "zed@example.com"


def test_a_push_never_writes_over_a_customer_that_reused_the_id(fake):
    amy = synced("amy@example.com", city="Boston")
    recycle(fake, amy.fluentcart_id, email="zed@example.com", full_name="Zed Stranger", city="Oslo", status="active")
    edit(amy.pk, city="Paris")

    result = push_customer(amy.pk)

    assert result.outcome == Outcome.MISSING_REMOTE and not sent(fake, "PUT")
    assert remote(fake, amy.fluentcart_id)["city"] == "Oslo"
    row = Customer.objects.get(pk=amy.pk)
    assert row.fluentcart_id is None and row.sync_status == SyncStatus.MISSING_REMOTE


FORM = {"email": "amy@example.com", "full_name": "Amy Pond", "first_name": "Amy", "last_name": "Pond",
        "status": "active", "notes": "", "city": "Boston", "state": "", "postcode": "", "country": "", "user": ""}


def opened_form(customer):
    """What the browser posts back from a change form opened now: the values and, hidden, the same
    values as the form showed them."""
    values = {name: FORM[name] for name in FORM}
    return {**values, **{f"initial-{name}": value for name, value in values.items() if name != "user"}}


def test_a_form_opened_before_a_pull_does_not_push_back_the_old_values(fake, admin_client):
    amy = synced(city="Boston")
    url = reverse("admin:fluentcart_sync_customer_change", args=[amy.pk])
    form = opened_form(amy)
    fake.edit_customer(amy.fluentcart_id, city="Lyon")
    pull()  # Django learns Lyon while the form is open

    response = admin_client.post(url, {**form, "postcode": "02101"})
    assert response.status_code == 302
    push_customer(amy.pk)  # the task queued by the save
    amy.refresh_from_db()
    assert (amy.city, amy.postcode) == ("Lyon", "02101")
    held = remote(fake, amy.fluentcart_id)
    assert (held["city"], held["postcode"]) == ("Lyon", "02101"), "FluentCart's newer city survives"
    assert amy.sync_conflicts == {}


def test_a_form_saved_over_a_field_that_changed_since_it_was_opened_says_so(fake, admin_client):
    amy = synced(city="Boston")
    url = reverse("admin:fluentcart_sync_customer_change", args=[amy.pk])
    form = opened_form(amy)
    fake.edit_customer(amy.fluentcart_id, city="Lyon")
    pull()

    response = admin_client.post(url, {**form, "city": "Paris", "postcode": "75001"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "changed while you edited it" in page and "Lyon" in page
    amy.refresh_from_db()
    assert (amy.city, amy.postcode) == ("Lyon", ""), "nothing was saved"


def test_a_form_saved_after_the_customer_was_deleted_says_so(fake, admin_client, monkeypatch):
    from fluentcart_sync.admin import CustomerAdmin

    amy = synced(city="Boston")
    url = reverse("admin:fluentcart_sync_customer_change", args=[amy.pk])
    read = CustomerAdmin.get_object

    def read_then_deleted(self, request, object_id, from_field=None):
        found = read(self, request, object_id, from_field)
        Customer.objects.filter(pk=amy.pk).delete()  # someone deletes it while the form is posted
        return found

    monkeypatch.setattr(CustomerAdmin, "get_object", read_then_deleted)

    response = admin_client.post(url, {**opened_form(amy), "city": "Paris"})

    assert response.status_code == 200
    assert "deleted while you edited it" in response.content.decode()
    assert not Customer.objects.filter(pk=amy.pk).exists(), "the save did not bring it back"


def test_the_link_with_our_own_unanswered_post_merges_against_what_it_sent(fake, monkeypatch, fluentcart_settings):
    fluentcart_settings["CONFLICT_POLICY"] = "fluentcart"
    amy = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", city="Boston", notes="call first")
    post_lands_unanswered(monkeypatch)
    assert push_customer(amy.pk).outcome == Outcome.RETRY
    monkeypatch.undo()
    edit(amy.pk, notes="", city="Denver")  # cleared and changed after the POST went out
    end_quarantine(amy.pk)

    assert push_customer(amy.pk).outcome == Outcome.LINKED

    amy.refresh_from_db()
    held = remote(fake, amy.fluentcart_id)
    assert (amy.notes, amy.city) == ("", "Denver") == (held["notes"], held["city"])
    assert amy.sync_conflicts == {} and fake.count() == 1


def test_a_row_synced_before_the_merge_base_existed_keeps_a_cleared_note_cleared(fake):
    amy = synced(notes="VIP", city="Boston")
    Customer.objects.filter(pk=amy.pk).update_sync_state(remote_base={})  # as the two-way migration left it

    edit(amy.pk, notes="")
    push_customer(amy.pk)

    amy.refresh_from_db()
    assert amy.notes == "" == remote(fake, amy.fluentcart_id)["notes"]


def test_a_fluentcart_customer_without_a_status_is_not_pushed_back_after_its_edits(fake):
    stored = fake.create_customer(email="nul@example.com", full_name="Null Status", city="Rome")  # status NULL
    pull()
    fake.edit_customer(stored["id"], city="Milan")
    pull()
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    call_command("fluentcart_backfill", "--no-progress", stdout=io.StringIO())

    assert not sent(fake, "PUT") and not sent(fake, "POST")
    assert Customer.objects.get(email="nul@example.com").city == "Milan"


# -- every write whose outcome is unknown is remembered ------------------------------------------------


def test_an_unanswered_put_is_quarantined_and_a_later_edit_survives_when_it_lands(fake, monkeypatch):
    amy = synced(city="Boston")
    bodies = []
    real = FluentCartClient.update_customer

    def unanswered(self, customer_id, payload):
        bodies.append((customer_id, payload))
        raise FluentCartTimeout("FluentCart did not answer PUT completely within 2s")

    monkeypatch.setattr(FluentCartClient, "update_customer", unanswered)
    edit(amy.pk, city="Austin")
    assert push_customer(amy.pk).outcome == Outcome.RETRY
    monkeypatch.setattr(FluentCartClient, "update_customer", real)

    edit(amy.pk, city="Denver")  # a newer edit while the PUT may still land
    waiting = push_customer(amy.pk)
    assert waiting.outcome == Outcome.RETRY and len(bodies) == 1 and not sent(fake, "PUT")

    fake.edit_customer(amy.fluentcart_id, city="Austin")  # the old PUT lands late
    end_quarantine(amy.pk)
    assert push_customer(amy.pk).outcome == Outcome.UPDATED
    pull()

    amy.refresh_from_db()
    assert amy.city == "Denver" == remote(fake, amy.fluentcart_id)["city"]
    assert amy.sync_conflicts == {} and amy.sync_status == SyncStatus.SYNCED


def test_a_push_refused_locally_keeps_the_memory_of_an_unanswered_post(fake, monkeypatch):
    amy = Customer.objects.create(email="amy@example.com", full_name="Amy Pond")
    post_lands_unanswered(monkeypatch)
    push_customer(amy.pk)
    monkeypatch.undo()
    edit(amy.pk, full_name="", first_name="", last_name="")  # invalid for a moment: no name
    assert push_customer(amy.pk).outcome == Outcome.FAILED
    row = Customer.objects.get(pk=amy.pk)
    assert row.outcome_unknown and row.posted_email == "amy@example.com"

    edit(amy.pk, full_name="Amy Pond")
    end_quarantine(amy.pk)
    assert push_customer(amy.pk).outcome == Outcome.LINKED
    assert fake.count() == 1 and len(sent(fake, "POST")) == 1


def test_a_failed_re_creation_is_never_recorded_as_synced_to_the_deleted_id(fake, monkeypatch):
    amy = synced()
    old_id = amy.fluentcart_id
    fake.store.delete([old_id])
    assert push_customer(amy.pk, recreate_missing=False).outcome in (Outcome.UNCHANGED, Outcome.MISSING_REMOTE)
    edit(amy.pk, city="Paris")
    push_customer(amy.pk)
    assert Customer.objects.get(pk=amy.pk).sync_status == SyncStatus.MISSING_REMOTE

    def refused(self, payload):
        raise FluentCartConnectError("Could not connect to FluentCart")

    monkeypatch.setattr(FluentCartClient, "create_customer", refused)
    assert push_customer(amy.pk, recreate_missing=True).outcome == Outcome.RETRY  # "Sync now", no connection
    monkeypatch.undo()

    push_customer(amy.pk)  # the sweep's retry

    amy.refresh_from_db()
    assert amy.sync_status == SyncStatus.SYNCED and amy.fluentcart_id not in (None, old_id)
    assert remote(fake, amy.fluentcart_id)["city"] == "Paris" and fake.count() == 1


# -- conflicts decided by a person stay decided ---------------------------------------------------------


def test_a_conflict_dismissed_while_a_push_is_in_flight_stays_dismissed(fake, admin_client, monkeypatch):
    amy = synced(city="Boston")
    fake.edit_customer(amy.fluentcart_id, city="Lyon")
    edit(amy.pk, city="Paris")
    push_customer(amy.pk)
    assert "city" in Customer.objects.get(pk=amy.pk).sync_conflicts

    fake.edit_customer(amy.fluentcart_id, postcode="69001")
    edit(amy.pk, postcode="75001")  # a new conflict, which this push finds
    real = FluentCartClient.get_customer
    url = reverse("admin:fluentcart_sync_customer_resolve_conflict", args=[amy.pk, "city"])

    def dismissed_meanwhile(self, customer_id):
        answer = real(self, customer_id)
        assert admin_client.post(url, {"choice": "dismiss"}).status_code == 302
        return answer

    monkeypatch.setattr(FluentCartClient, "get_customer", dismissed_meanwhile)
    push_customer(amy.pk)

    amy.refresh_from_db()
    assert set(amy.sync_conflicts) == {"postcode"}, "the dismissed city conflict stays dismissed"
    assert remote(fake, amy.fluentcart_id)["postcode"] == "75001"


def test_the_change_form_carries_the_values_it_showed(fake, admin_client):
    amy = synced(city="Boston")
    page = admin_client.get(reverse("admin:fluentcart_sync_customer_change", args=[amy.pk])).content.decode()
    assert 'name="initial-city" value="Boston"' in page and 'name="initial-email"' in page


def test_a_worker_killed_mid_post_then_an_edit_shows_what_the_link_filled_in(fake):
    from fluentcart_sync import claims

    amy = Customer.objects.create(email="amy@example.com", full_name="Amy Pond", city="Boston", notes="call first")
    claims.claim_and_read(amy.pk)  # the worker POSTs, then is killed: no note of what it sent
    Customer.objects.filter(pk=amy.pk).update_sync_state(claimed_until=timezone.now() - timedelta(seconds=1))
    assert push_customer(amy.pk).outcome == Outcome.RETRY  # takes the claim over: nothing found yet, quarantined
    fake.create_customer(email="amy@example.com", full_name="Amy Pond", city="Boston", notes="call first",
                         status="active")  # the killed worker's POST lands late
    edit(amy.pk, notes="")  # cleared after the POST
    end_quarantine(amy.pk)

    assert push_customer(amy.pk).outcome == Outcome.LINKED

    amy.refresh_from_db()
    assert fake.count() == 1
    # Nothing says which side cleared the note: the value the link filled in is shown, not hidden.
    assert amy.sync_conflicts["notes"] == {"django": "", "fluentcart": "call first", "kept": "fluentcart"}
