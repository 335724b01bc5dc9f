"""Staff see the sync state and push or retry from the admin; pushing needs its own permission."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from fluentcart_sync.models import Customer, SyncStatus

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:fluentcart_sync_customer_changelist")


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer",
                                                                       "add_customer", "sync_customer"]))
    client.force_login(user)
    return client


def test_change_list_shows_status_remote_id_and_last_error(admin_client):
    Customer.objects.create(email="a@example.com", full_name="A A")
    Customer.objects.filter(email="a@example.com").update(
        sync_status=SyncStatus.FAILED, sync_error="FluentCart rejected the customer: city: The city must be a valid text")
    Customer.objects.create(email="b@example.com", full_name="B B")
    Customer.objects.filter(email="b@example.com").update(sync_status=SyncStatus.SYNCED, fluentcart_id=4242)
    page = admin_client.get(CHANGELIST).content.decode()
    assert "4242" in page
    assert "The city must be a valid text" in page
    assert "Failed: needs attention" in page


def test_filter_and_search(admin_client):
    Customer.objects.create(email="find.me@example.com", full_name="Findable Person")
    Customer.objects.create(email="other@example.com", full_name="Other Person")
    page = admin_client.get(CHANGELIST, {"q": "findable"}).content.decode()
    assert "find.me@example.com" in page and "other@example.com" not in page
    page = admin_client.get(CHANGELIST, {"sync_status__exact": "synced"}).content.decode()
    assert "find.me@example.com" not in page


def test_push_action_reports_pushed_already_synced_and_failed(staff_client, fake):
    ok = Customer.objects.create(email="ok@example.com", full_name="Ok Person")
    synced = Customer.objects.create(email="done@example.com", full_name="Done Person")
    from fluentcart_sync.services import push_customer

    push_customer(synced)
    bad = Customer.objects.create(email="bad@example.com", full_name="Bad")
    Customer.objects.filter(pk=bad.pk).update(full_name="<i>Bad</i>")
    response = staff_client.post(CHANGELIST, {"action": "push_to_fluentcart",
                                              "_selected_action": [ok.pk, synced.pk, bad.pk]}, follow=True)
    text = response.content.decode()
    assert "1 pushed, 1 already synced, 1 failed" in text
    ok.refresh_from_db()
    assert ok.sync_status == SyncStatus.SYNCED and ok.fluentcart_id


def test_push_action_needs_the_sync_permission(client, fake):
    user = get_user_model().objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    client.force_login(user)
    customer = Customer.objects.create(email="x@example.com", full_name="X Y")
    page = client.get(CHANGELIST).content.decode()
    assert "push_to_fluentcart" not in page
    client.post(CHANGELIST, {"action": "push_to_fluentcart", "_selected_action": [customer.pk]})
    assert fake.count() == 0


def test_sync_fields_are_read_only_on_the_change_form(admin_client):
    customer = Customer.objects.create(email="ro@example.com", full_name="Read Only")
    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    form = admin_client.get(url).context["adminform"].form
    assert "email" in form.fields
    for name in ("fluentcart_id", "sync_status", "sync_error", "sync_attempts", "synced_at"):
        assert name not in form.fields


# -- at a glance: badges, links to FluentCart, counts per status ---------------------------------------


def test_status_badge_and_fluentcart_id_links_to_the_customer_in_fluentcart(admin_client, fluentcart_settings):
    fluentcart_settings["URL"] = "https://shop.example.com/wp-json/fluent-cart/v2/"  # the REST base works too
    Customer.objects.create(email="b@example.com", full_name="B B")
    Customer.objects.filter(email="b@example.com").update(sync_status=SyncStatus.SYNCED, fluentcart_id=4242)
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'href="https://shop.example.com/wp-admin/admin.php?page=fluent-cart#/customers/4242"' in page
    assert 'class="fluentcart-badge fluentcart-badge-synced"' in page


def test_counts_per_status_are_shown_as_filter_links(admin_client):
    for n in range(3):
        Customer.objects.create(email=f"f{n}@example.com", full_name="F F")
    Customer.objects.filter(email__in=["f0@example.com", "f1@example.com"]).update(sync_status=SyncStatus.FAILED)
    response = admin_client.get(CHANGELIST)
    summary = {entry["status"]: entry for entry in response.context["sync_summary"]}
    assert summary["failed"]["count"] == 2 and summary["pending"]["count"] == 1 and summary["synced"]["count"] == 0
    assert f'href="{CHANGELIST}?sync_status__exact=failed"' in response.content.decode()
    filtered = admin_client.get(summary["failed"]["url"]).content.decode()
    assert "f0@example.com" in filtered and "f2@example.com" not in filtered


# -- the change form's sync panel ---------------------------------------------------------------------


def change_url(customer):
    return reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])


def sync_url(customer):
    return reverse("admin:fluentcart_sync_customer_sync", args=[customer.pk])


def test_sync_panel_shows_state_and_remote_field_errors_next_to_their_fields(admin_client):
    customer = Customer.objects.create(email="dup@example.com", full_name="Dup Licate")
    Customer.objects.filter(pk=customer.pk).update(
        sync_status=SyncStatus.FAILED, sync_attempts=3, sync_error="Another FluentCart customer already has this email.",
        sync_field_errors={"email": ["Email already exists."], "photo": ["Photo is broken."]})
    response = admin_client.get(change_url(customer))
    form = response.context["adminform"].form
    assert form.errors["email"] == ["FluentCart: Email already exists."]
    page = response.content.decode()
    assert "Another FluentCart customer already has this email." in page
    assert "FluentCart: photo" in page and "Photo is broken." in page  # no such form field: listed in the panel
    assert 'id="fluentcart-sync-now"' in page
    assert "Please correct the error" not in page


def test_remote_field_errors_do_not_block_the_save_that_fixes_them(admin_client, fake):
    customer = Customer.objects.create(email="dup@example.com", full_name="Dup Licate")
    Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.FAILED,
                                                   sync_field_errors={"email": ["Email already exists."]})
    data = {"email": "unique@example.com", "full_name": "Dup Licate", "first_name": "Dup", "last_name": "Licate",
            "status": "active", "notes": "", "city": "", "state": "", "postcode": "", "country": "", "user": ""}
    response = admin_client.post(change_url(customer), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.email == "unique@example.com"


def test_sync_now_pushes_and_returns_to_the_change_form(staff_client, fake):
    customer = Customer.objects.create(email="now@example.com", full_name="Right Now")
    response = staff_client.post(sync_url(customer), follow=True)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and customer.fluentcart_id == fake.customers()[0]["id"]
    assert response.redirect_chain[-1][0] == change_url(customer)
    assert f"Synced with FluentCart (customer {customer.fluentcart_id})" in response.content.decode()


def test_sync_now_recreates_a_customer_deleted_in_fluentcart(staff_client, fake):
    customer = Customer.objects.create(email="gone@example.com", full_name="Gone Away")
    Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.MISSING_REMOTE, fluentcart_id=999)
    staff_client.post(sync_url(customer))
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and fake.count() == 1


def test_sync_now_needs_post_the_sync_permission_and_a_csrf_token(client, fake):
    from django.test import Client

    customer = Customer.objects.create(email="x@example.com", full_name="X Y")
    user = get_user_model().objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    client.force_login(user)
    assert client.post(sync_url(customer)).status_code == 403
    assert 'id="fluentcart-sync-now"' not in client.get(change_url(customer)).content.decode()
    user.user_permissions.add(Permission.objects.get(codename="sync_customer"))
    user = get_user_model().objects.get(pk=user.pk)  # drop the cached permissions
    assert client.get(sync_url(customer)).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(sync_url(customer)).status_code == 403
    assert fake.count() == 0


def test_large_selection_is_enqueued_and_the_message_says_so(staff_client, fake, fluentcart_settings, monkeypatch):
    fluentcart_settings["ADMIN_INLINE_PUSH_LIMIT"] = 2
    queued = []
    fluentcart_settings["TASK_CHUNK_SIZE"] = 2
    monkeypatch.setattr("fluentcart_sync.tasks.enqueue_push_chunk", lambda chunk: queued.append(chunk) or True)
    ids = [Customer.objects.create(email=f"q{n}@example.com", full_name="Q Q").pk for n in range(3)]
    response = staff_client.post(CHANGELIST, {"action": "push_to_fluentcart", "_selected_action": ids}, follow=True)
    assert sorted(len(chunk) for chunk in queued) == [1, 2], "queued in chunks, not one task per customer"
    assert sorted(pk for chunk in queued for pk in chunk) == sorted(ids)
    assert "3 queued for a push in the background" in response.content.decode()
    assert fake.count() == 0, "nothing pushed while the person waited"


@pytest.mark.django_db(transaction=True)
def test_customer_added_in_the_admin_is_pushed_after_commit(admin_client, fake):
    response = admin_client.post(reverse("admin:fluentcart_sync_customer_add"), {
        "email": "added@example.com", "full_name": "Added  In Admin", "first_name": "", "last_name": "",
        "status": "active", "notes": "", "city": "Leeds", "state": "", "postcode": "", "country": "GB",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get(email="added@example.com")
    assert customer.sync_status == SyncStatus.SYNCED
    [remote] = fake.customers()
    assert customer.fluentcart_id == remote["id"]
    assert (remote["full_name"], remote["city"], remote["country"]) == ("Added In Admin", "Leeds", "GB")


def test_bad_input_in_the_admin_form_is_refused_with_a_clear_message(admin_client, fake):
    response = admin_client.post(reverse("admin:fluentcart_sync_customer_add"), {
        "email": "bad@example.com", "full_name": "<b>Bold</b>", "status": "active", "city": "x" * 50,
    })
    assert response.status_code == 200
    text = response.content.decode()
    assert "FluentCart refuses text containing them" in text
    assert "at most 45 characters" in text
    assert not Customer.objects.exists() and fake.count() == 0


# -- bad input and permissions on "Sync now" ----------------------------------------------------------------


def test_sync_now_with_a_key_that_is_not_an_id_is_a_404(admin_client, fake):
    url = reverse("admin:fluentcart_sync_customer_sync", args=["abc"])
    assert url.endswith("/abc/sync/")
    assert admin_client.post(url).status_code == 404
    assert admin_client.post(reverse("admin:fluentcart_sync_customer_sync", args=[987654])).status_code == 404


def test_sync_now_needs_the_change_permission_too(client, fake):
    customer = Customer.objects.create(email="x@example.com", full_name="X Y")
    user = get_user_model().objects.create_user("pusher", "p@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "sync_customer"]))
    client.force_login(user)
    assert 'id="fluentcart-sync-now"' not in client.get(change_url(customer)).content.decode()
    Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.MISSING_REMOTE, fluentcart_id=999)
    assert client.post(sync_url(customer)).status_code == 403
    assert fake.count() == 0, "a user refused the change page cannot push (nor re-create a deleted customer)"


# -- what the list and the change form show -----------------------------------------------------------------


def test_long_values_are_cut_in_the_list_with_the_full_value_in_a_tooltip(admin_client):
    name = "N" * 192
    Customer.objects.create(email="long@example.com", full_name=name)
    page = admin_client.get(CHANGELIST).content.decode()
    assert f'<span class="fluentcart-cut fluentcart-name" title="{name}">{name}</span>' in page
    assert "text-overflow: ellipsis" in page


def test_the_change_form_shows_the_sync_state_once_and_no_attempts_after_a_success(admin_client):
    from django.utils import timezone

    customer = Customer.objects.create(email="ok@example.com", full_name="All Good")
    Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.SYNCED, fluentcart_id=5, sync_attempts=0,
                                                   last_attempt_at=timezone.now(), synced_at=timezone.now())
    page = admin_client.get(change_url(customer)).content.decode()
    panel = page.split('id="fluentcart-sync-panel"', 1)[1].split("</section>", 1)[0]
    assert "Last attempt" in panel and "ttempts" not in panel
    assert "FluentCart sync</h2>" not in page.split("</section>", 1)[1], "no sync fieldset under the panel"
    assert "field-sync_status" not in page and "field-fluentcart_id" not in page
    Customer.objects.filter(pk=customer.pk).update(sync_status=SyncStatus.RETRYING, sync_attempts=2)
    page = admin_client.get(change_url(customer)).content.decode()
    assert "Failed attempts" in page and "2 since the last success" in page


def test_lifetime_value_reads_as_money_in_the_shops_currency(admin_client, fluentcart_settings):
    customer = Customer.objects.create(email="rich@example.com", full_name="Rich Buyer")
    Customer.objects.filter(pk=customer.pk).update(purchase_count=3, lifetime_value=12999)
    assert ">$129.99</span>" in admin_client.get(CHANGELIST).content.decode()
    fluentcart_settings["CURRENCY"] = "EUR"
    page = admin_client.get(reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])).content.decode()
    assert "€129.99 (FluentCart&#x27;s ltv: 12999 cents of the shop&#x27;s currency)" in page
    assert Customer.objects.get(pk=customer.pk).lifetime_value == 12999  # cents stay in the database


def test_conflicts_have_a_filter_and_a_marker_on_the_list(admin_client):
    Customer.objects.create(email="calm@example.com", full_name="Calm Row")
    both = Customer.objects.create(email="both@example.com", full_name="Both Sides")
    Customer.objects.filter(pk=both.pk).update(
        sync_conflicts={"city": {"django": "Paris", "fluentcart": "Lyon", "kept": "django"}})
    page = admin_client.get(CHANGELIST).content.decode()
    assert page.count('class="fluentcart-conflict-marker"') == 1
    assert "Both sides changed: city. Open the customer to choose." in page
    only = admin_client.get(CHANGELIST + "?conflicts=yes").content.decode()
    assert "both@example.com" in only and "calm@example.com" not in only
    none = admin_client.get(CHANGELIST + "?conflicts=no").content.decode()
    assert "calm@example.com" in none and "both@example.com" not in none
