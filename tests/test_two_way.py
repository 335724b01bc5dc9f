"""Two-way sync against the fake FluentCart served over HTTP: nothing either side knows is destroyed.
Links merge, updates merge with FluentCart's own edits, pulls bring FluentCart's changes, deletions
and customers, and a conflict ends with both sides equal and the overwritten value visible."""

import io
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.services import push_customer

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs: a queued push would show


def writes(fake):
    return [r for r in fake.requests_seen if r.method in ("POST", "PUT")]


def remote(fake, fluentcart_id):
    return next(c for c in fake.customers() if c["id"] == fluentcart_id)


def pull(*args, needs_a_person=False):
    out = io.StringIO()
    if needs_a_person:  # a duplicate in FluentCart, a record not valid here: listed, and exit code 1
        with pytest.raises(CommandError, match="need a person"):
            call_command("fluentcart_pull", "--no-progress", *args, stdout=out)
    else:
        call_command("fluentcart_pull", "--no-progress", *args, stdout=out)
    return out.getvalue()


def synced_customer(email="amy@example.com", **fields):
    customer = Customer.objects.create(email=email, full_name="Amy Pond", **fields)
    push_customer(customer.pk)
    return Customer.objects.get(pk=customer.pk)


def test_a_shop_customer_who_signs_up_keeps_their_address_and_django_learns_it(shop, client):
    existing = shop.create_customer(email="Jane.Buyer@Example.com", full_name="Jane Buyer", status="active",
                                    country="US", city="Boston", state="MA", postcode="02101", notes="VIP since 2024")
    response = client.post("/signup/", {"email": "jane.buyer@example.com", "full_name": "Jane Buyer",
                                        "password1": "a-Long-pass-phrase-42", "password2": "a-Long-pass-phrase-42"})
    assert response.status_code == 302, response.content.decode()[:3000]

    held = remote(shop, existing["id"])
    assert (held["country"], held["city"], held["state"], held["postcode"]) == ("US", "Boston", "MA", "02101")
    assert held["notes"] == "VIP since 2024" and held["email"] == "Jane.Buyer@Example.com"
    customer = Customer.objects.get(email__iexact="jane.buyer@example.com")
    assert customer.fluentcart_id == existing["id"] and customer.sync_status == SyncStatus.SYNCED
    assert (customer.country, customer.city, customer.postcode, customer.notes) == ("US", "Boston", "02101",
                                                                                    "VIP since 2024")
    # The POST was refused (the email exists), and nothing of Django's needed sending: no PUT.
    assert [(r.method, r.status) for r in writes(shop)] == [("POST", 422)]


def test_a_fluentcart_edit_survives_a_django_edit_of_another_field(shop):
    customer = synced_customer(city="Boston", postcode="02101")
    shop.edit_customer(customer.fluentcart_id, postcode="02134", notes="Called about shipping")
    customer.city = "Cambridge"
    customer.save()  # pushed after commit

    held = remote(shop, customer.fluentcart_id)
    assert (held["city"], held["postcode"], held["notes"]) == ("Cambridge", "02134", "Called about shipping")
    customer.refresh_from_db()
    assert (customer.postcode, customer.notes, customer.sync_status) == ("02134", "Called about shipping",
                                                                        SyncStatus.SYNCED)


def test_a_pull_brings_fluentcarts_change_and_a_later_backfill_sends_nothing(shop):
    customer = synced_customer(city="Boston")
    shop.edit_customer(customer.fluentcart_id, city="Chicago", country="US")
    text = pull()
    assert "1 updated" in text
    customer.refresh_from_db()
    assert (customer.city, customer.country, customer.sync_status) == ("Chicago", "US", SyncStatus.SYNCED)

    shop.requests_seen.clear()
    call_command("fluentcart_backfill", "--no-progress", stdout=io.StringIO())
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert not writes(shop)


def test_a_remote_deletion_is_found_by_a_pull_and_nothing_is_re_created(shop):
    customer = synced_customer()
    shop.store.delete([customer.fluentcart_id])
    assert "1 deleted remotely" in pull()
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.MISSING_REMOTE
    shop.requests_seen.clear()
    call_command("fluentcart_backfill", "--no-progress", stdout=io.StringIO())
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert shop.count() == 0 and not writes(shop)


def test_a_scan_that_ends_early_marks_nothing_deleted(shop):
    from fluentcart_sync.sandbox import Faults

    customer = synced_customer()
    shop.store.delete([customer.fluentcart_id])
    for n in range(400):  # three pages
        shop.create_customer(email=f"x{n}@example.com", full_name=f"Ex Tra{n}", status="active")
    shop.faults = Faults(error_rate=1.0, error_after_write_fraction=0.0)
    with pytest.raises(Exception, match="run the pull again"):
        pull("--concurrency", "2")
    assert Customer.objects.get(pk=customer.pk).sync_status == SyncStatus.SYNCED


def test_a_fluentcart_only_customer_appears_in_django_and_is_never_posted(shop):
    guest = shop.create_customer(email="guest@example.com", full_name="Checkout Guest", status="active",
                                 city="Leeds", country="GB")
    assert "1 created" in pull()
    customer = Customer.objects.get(email="guest@example.com")
    assert (customer.fluentcart_id, customer.sync_status, customer.city) == (guest["id"], SyncStatus.SYNCED, "Leeds")
    shop.requests_seen.clear()
    call_command("fluentcart_backfill", "--no-progress", stdout=io.StringIO())
    call_command("fluentcart_sync_due", "--run", "--grace", "0", stdout=io.StringIO())
    assert not writes(shop)
    assert pull().count("0 created") == 1, "a second pull changes nothing"


def test_pulls_can_leave_fluentcart_only_customers_out(shop, fluentcart_settings):
    fluentcart_settings["PULL_CREATES_CUSTOMERS"] = False
    shop.create_customer(email="guest@example.com", full_name="Checkout Guest", status="active")
    assert "0 created" in pull() and not Customer.objects.exists()


@pytest.mark.parametrize("policy, kept, other", [("django", "Paris", "Lyon"), ("fluentcart", "Lyon", "Paris")])
def test_a_conflict_ends_with_both_sides_equal_and_the_overwritten_value_visible(
        shop, fluentcart_settings, admin_client, policy, kept, other):
    fluentcart_settings["CONFLICT_POLICY"] = policy
    customer = synced_customer(city="Boston")
    shop.edit_customer(customer.fluentcart_id, city="Lyon")
    customer.city = "Paris"
    customer.save()

    customer.refresh_from_db()
    assert customer.city == kept == remote(shop, customer.fluentcart_id)["city"]
    assert customer.sync_conflicts["city"] == {"django": "Paris", "fluentcart": "Lyon", "kept": policy}
    page = admin_client.get(reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])).content.decode()
    assert 'class="fluentcart-conflict" data-field="city"' in page and other in page

    # One click takes the other value, on both sides.
    url = reverse("admin:fluentcart_sync_customer_resolve_conflict", args=[customer.pk, "city"])
    assert admin_client.post(url, {"choice": "use"}).status_code == 302
    customer.refresh_from_db()
    assert customer.city == other == remote(shop, customer.fluentcart_id)["city"]
    assert customer.sync_conflicts == {}


def test_a_link_fills_blanks_from_both_sides_and_the_policy_decides_the_rest(shop, fluentcart_settings):
    fluentcart_settings["CONFLICT_POLICY"] = "django"
    existing = shop.create_customer(email="both@example.com", full_name="Both Sides", status="active",
                                    city="Boston", notes="From the shop")
    customer = Customer.objects.create(email="BOTH@example.com", full_name="Both Sides", city="Denver",
                                       postcode="80202")  # pushed after commit: a 422, then the link
    held = remote(shop, existing["id"])
    customer.refresh_from_db()
    assert customer.fluentcart_id == existing["id"] and customer.sync_status == SyncStatus.SYNCED
    assert (held["city"], held["postcode"], held["notes"]) == ("Denver", "80202", "From the shop")
    assert (customer.city, customer.postcode, customer.notes) == ("Denver", "80202", "From the shop")
    assert held["email"] == "both@example.com", "FluentCart's spelling of the email is kept"
    assert customer.sync_conflicts["city"]["fluentcart"] == "Boston"


def test_purchase_figures_arrive_with_a_pull(shop):
    customer = synced_customer()
    shop.store.edit(customer.fluentcart_id, {"purchase_count": 3, "ltv": 12999,
                                             "first_purchase_date": "2026-01-05 10:00:00",
                                             "last_purchase_date": "2026-11-30 18:30:00"})
    pull()
    customer.refresh_from_db()
    assert (customer.purchase_count, customer.lifetime_value) == (3, 12999)
    assert customer.first_purchase_at == datetime(2026, 1, 5, 10, 0, tzinfo=dt_timezone.utc)
    assert customer.last_purchase_at == datetime(2026, 11, 30, 18, 30, tzinfo=dt_timezone.utc)
    assert customer.sync_status == SyncStatus.SYNCED


def test_an_ordinary_save_never_writes_the_purchase_figures(shop):
    customer = synced_customer()
    stale = Customer.objects.get(pk=customer.pk)
    shop.store.edit(customer.fluentcart_id, {"purchase_count": 2})
    pull()
    stale.city = "Leadworth"
    stale.save()
    assert Customer.objects.get(pk=customer.pk).purchase_count == 2


def test_the_import_command_is_the_pull(shop):
    shop.create_customer(email="old@example.com", full_name="Old Import", status="active")
    out = io.StringIO()
    call_command("fluentcart_import", "--no-progress", stdout=out)
    assert "Pull finished" in out.getvalue() and Customer.objects.filter(email="old@example.com").exists()


def test_dry_run_writes_nothing(shop):
    shop.create_customer(email="new@example.com", full_name="New Person", status="active")
    Customer.objects.bulk_create([Customer(email="old@example.com", full_name="Old Person")])
    shop.create_customer(email="old@example.com", full_name="Old Person", status="active")
    text = pull("--dry-run")
    assert "Dry run, nothing written" in text and "1 linked" in text and "1 created" in text
    assert Customer.objects.count() == 1 and Customer.objects.get().fluentcart_id is None


def test_every_page_is_read_once_and_duplicate_remote_emails_make_one_local_row(shop):
    first = shop.create_customer(email="twin@example.com", full_name="Twin One", status="active")
    shop.create_customer(email="TWIN@example.com", full_name="Twin Two", status="active")
    for n in range(205):
        shop.create_customer(email=f"c{n}@example.com", full_name=f"Cust Omer{n}", status="active")
    text = pull("--concurrency", "3", needs_a_person=True)
    assert "206 created" in text and "1 duplicate emails in FluentCart" in text
    assert Customer.objects.get(email__iexact="twin@example.com").fluentcart_id == first["id"]
    # The highest id, each range of 199 ids once (one page each), the last one on to the end.
    searches = [r.query.get("search") for r in shop.requests_seen if r.method == "GET"]
    assert searches == [None, "id::1-199", "id>199"]
    assert not writes(shop)


def test_customers_this_app_cannot_hold_are_skipped_and_listed(shop):
    shop.create_customer(email="ok@example.com", full_name="Fine Person", status="active")
    shop.create_customer(email="odd@example.com", full_name="Odd <b>Name</b>", status="active")
    text = pull(needs_a_person=True)
    assert "1 created" in text and "1 skipped" in text and "odd@example.com" in text


def test_a_page_of_unchanged_customers_costs_one_query_and_no_transaction(shop, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fluentcart_sync import pull as pull_module

    for n in range(205):
        shop.create_customer(email=f"c{n}@example.com", full_name=f"Cust Omer{n}", status="active")
    assert "205 created" in pull()
    statements: list[list[str]] = []
    apply_page = pull_module.apply_page

    def counted(*args, **kwargs):
        with CaptureQueriesContext(connection) as page:
            apply_page(*args, **kwargs)
        statements.append([query["sql"].split(" ", 1)[0] for query in page.captured_queries])

    monkeypatch.setattr(pull_module, "apply_page", counted)
    assert "205 unchanged" in pull()
    assert statements == [["SELECT"], ["SELECT"]]  # no BEGIN/COMMIT: nothing to write

    first = Customer.objects.get(email="c0@example.com")
    shop.edit_customer(first.fluentcart_id, city="Chicago")
    statements.clear()
    text = pull()
    assert "1 updated" in text and "204 unchanged" in text
    assert Customer.objects.get(pk=first.pk).city == "Chicago"
    assert statements[1] == ["SELECT"] and len(statements[0]) > 1


def test_a_fluentcart_duplicate_of_an_unchanged_customer_is_still_reported_on_the_next_pull(shop):
    first = shop.create_customer(email="twin@example.com", full_name="Twin One", status="active")
    shop.create_customer(email="TWIN@example.com", full_name="Twin Two", status="active")
    assert "1 duplicate emails in FluentCart" in pull(needs_a_person=True)
    text = pull(needs_a_person=True)
    assert "1 unchanged" in text and "1 duplicate emails in FluentCart" in text and "0 created" in text
    assert Customer.objects.get().fluentcart_id == first["id"]


def test_a_pull_links_an_unanswered_post_whose_email_changed_since(shop, fluentcart_settings):
    """The POST got no answer, then the email changed: the customer that POST created is this row's,
    not a stranger to create here again."""
    fluentcart_settings["AUTO_PUSH"] = False
    customer = Customer.objects.create(email="new@example.com", full_name="Email Change")
    Customer.objects.filter(pk=customer.pk).update_sync_state(
        outcome_unknown=True, posted_email="old@example.com", sync_status=SyncStatus.RETRYING)
    landed = shop.create_customer(email="old@example.com", full_name="Email Change", status="active")
    text = pull()
    assert "1 linked" in text and "0 created" in text
    customer.refresh_from_db()
    assert customer.fluentcart_id == landed["id"] and Customer.objects.count() == 1
    assert customer.sync_status == SyncStatus.PENDING, "its new email is still owed to FluentCart"
