"""Real-browser tests: Chromium (Debian's) driven by Playwright against Django's live test server
and the shipped fake FluentCart served over real HTTP on 127.0.0.1.

They also write screenshots of the admin list, the change form and the signup page to
artifacts/screenshots/ (git-ignored); the README shows copies from docs/screenshots/.
Run them with `make test-browser`. Without Chromium or Playwright they are skipped, unless
FLUENTCART_BROWSER_REQUIRED is set (as `make test-browser` does), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

from .conftest import APP_PASSWORD, USERNAME

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("FLUENTCART_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
ADMIN_PASSWORD = "Browser-test-pass-1"


def _unavailable(reason: str):
    if os.environ.get("FLUENTCART_BROWSER_REQUIRED"):
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make here are
    # still plain synchronous code, so Django's async-safety guard is lifted for these tests only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 860}, device_scale_factor=1)
    # The admin's navigation sidebar closed, as staff with a list to read usually have it.
    context.add_init_script("window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def fake(fluentcart_settings):
    """The fake FluentCart over real HTTP on an ephemeral loopback port, with the app pointed at it."""
    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD)
    with SandboxServer(fake) as server:
        fluentcart_settings["URL"] = server.url
        yield fake
    fake.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def admin_login(page, live_server) -> None:
    get_user_model().objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def add_customer(page, live_server, **fields) -> None:
    page.goto(live_server.url + "/admin/fluentcart_sync/customer/add/")
    for name, value in fields.items():
        if name == "country":
            page.select_option("#id_country", value)  # a list of ISO codes with their names
        else:
            page.fill(f"#id_{name}", value)
    page.click("input[name=_save]")
    page.wait_for_selector("#changelist")


def row(page, email: str):
    return page.locator("#result_list tbody tr", has_text=email)


def seed_variety() -> None:
    """Rows in every state, so the list screenshot shows what staff see on a real day (no pushes)."""
    rows = [
        ("grace@example.com", "Grace Hopper", SyncStatus.SYNCED, 101, ""),
        ("alan@example.com", "Alan Turing", SyncStatus.SYNCED, 102, ""),
        ("katherine@example.com", "Katherine Johnson", SyncStatus.RETRYING, None,
         "FluentCart's host is rate limiting requests (HTTP 429) (attempt 2; next try in 58s)"),
        ("margaret@example.com", "Margaret Hamilton", SyncStatus.FAILED, None,
         "FluentCart rejected the customer: city: The city must be a valid text"),
        ("edsger@example.com", "Edsger Dijkstra", SyncStatus.PENDING, None, ""),
        ("barbara@example.com", "Barbara Liskov", SyncStatus.MISSING_REMOTE, 97,
         "This customer was deleted in FluentCart. Nothing was re-created automatically."),
    ]
    Customer.objects.bulk_create([
        Customer(email=email, full_name=name, first_name=name.split()[0], last_name=name.split()[1],
                 sync_status=status, fluentcart_id=remote_id, sync_error=error, country="US")
        for email, name, status, remote_id, error in rows
    ])


def test_staff_adds_a_customer_and_sees_it_synced_with_its_fluentcart_id(page, live_server, fake):
    seed_variety()
    admin_login(page, live_server)
    add_customer(page, live_server, email="ada@example.com", full_name="Ada Lovelace", city="London", country="GB")

    [remote] = [c for c in fake.customers() if c["email"] == "ada@example.com"]
    ada = row(page, "ada@example.com")
    assert ada.locator(".fluentcart-badge").inner_text() == "Synced"
    link = ada.locator(f"a:text-is('{remote['id']}')")
    assert link.get_attribute("href") == f"{fake.site_url}/wp-admin/admin.php?page=fluent-cart#/customers/{remote['id']}"
    # The counts above the list are filter links.
    assert page.locator("[data-sync-status=synced] .count").inner_text() == "3"
    assert page.locator("[data-sync-status=failed] .count").inner_text() == "1"
    screenshot(page, "admin-list.png")
    page.click("[data-sync-status=failed]")
    page.wait_for_url(re.compile(r"sync_status__exact=failed"))
    assert row(page, "margaret@example.com").count() == 1 and row(page, "ada@example.com").count() == 0


@pytest.fixture
def german_page(browser):
    """A browser asking for German (Accept-Language: de-DE), the sidebar closed as in `page`."""
    context = browser.new_context(viewport={"width": 1440, "height": 860}, device_scale_factor=1, locale="de-DE")
    context.add_init_script("window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_german_admin_adds_a_customer_and_reads_the_list_in_german(german_page, live_server, fake):
    """The demo follows the browser's language (LocaleMiddleware): a German browser gets German."""
    page = german_page
    seed_variety()
    seed_money_and_conflict()
    admin_login(page, live_server)
    add_customer(page, live_server, email="ada@example.com", full_name="Ada Lovelace", city="London")

    assert row(page, "ada@example.com").locator(".fluentcart-badge").inner_text() == "Synchronisiert"
    assert row(page, "margaret@example.com").locator(".fluentcart-badge").inner_text() == "Fehlgeschlagen: bitte prüfen"
    summary = page.locator(".fluentcart-summary")
    assert summary.get_attribute("aria-label") == "Kunden je Sync-Status"
    assert "Alle anzeigen" in summary.inner_text()
    headers = page.locator("#result_list thead").text_content()  # the text, not its CSS capitals
    assert "Sync-Status" in headers and "FluentCart-ID" in headers and "Letzter Fehler" in headers
    assert page.locator("select[name=action] option[value=push_to_fluentcart]").inner_text() == "An FluentCart übertragen"
    assert row(page, "grace@example.com").locator(".field-lifetime_value_short").inner_text() == "1.234,56 $"
    screenshot(page, "admin-list-de.png")

    row(page, "margaret@example.com").locator("a").first.click()
    panel = page.locator("#fluentcart-sync-panel")
    assert "FluentCart-Synchronisierung" in panel.inner_text() and "Letzter Fehler" in panel.inner_text()
    assert page.locator("#fluentcart-sync-now").inner_text() == "Jetzt synchronisieren"
    assert "Höchstens 45 Zeichen" in page.locator(".form-row.field-city").inner_text()
    screenshot(page, "admin-change-form-de.png")


def test_a_german_visitor_signs_up_in_german(german_page, live_server, fake):
    page = german_page
    page.goto(live_server.url + "/signup/")
    assert page.locator("h1").inner_text() == "Konto anlegen"
    page.fill("#id_email", "Lise.Meitner@example.com")
    page.fill("#id_full_name", "Lise Meitner")
    page.fill("#id_password1", "Kernspaltung-1938")
    page.fill("#id_password2", "Kernspaltung-1938")
    screenshot(page, "signup-de.png")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/signup/done/$"))
    assert "Willkommen, Lise!" in page.locator("h1").inner_text()
    assert page.locator("#customer-state").inner_text() == "Ihr Kundenprofil in unserem Shop ist bereit."


def test_failed_push_shows_its_error_and_sync_now_succeeds_after_the_fix(page, live_server, fake):
    admin_login(page, live_server)
    fake.mode = "unauthorized"  # e.g. the application password was revoked in WordPress
    add_customer(page, live_server, email="linus@example.com", full_name="Linus Torvalds")
    linus = row(page, "linus@example.com")
    # Not the customer's fault: pushes pause (the banner says why) and the row waits, never `failed`.
    assert linus.locator(".fluentcart-badge").inner_text() == "Waiting to retry"
    assert "refused the credentials" in linus.inner_text()
    assert "refused the credentials" in page.locator("#fluentcart-paused").inner_text()

    linus.locator("th a").click()
    error = page.locator("#fluentcart-sync-error")
    assert "FluentCart refused the credentials" in error.inner_text()
    assert APP_PASSWORD not in page.content()

    fake.mode = "ok"  # the fix: a new application password
    page.click("#fluentcart-sync-now")
    page.wait_for_selector(".messagelist .success")
    assert "Synced with FluentCart" in page.locator(".messagelist").inner_text()
    assert page.locator("#fluentcart-sync-panel .fluentcart-badge").inner_text() == "Synced"
    customer = Customer.objects.get(email="linus@example.com")
    assert customer.sync_status == SyncStatus.SYNCED and fake.customers()[0]["id"] == customer.fluentcart_id


def test_remote_field_error_is_shown_next_to_the_field_and_sync_now_after_the_fix(page, live_server, fake):
    admin_login(page, live_server)
    add_customer(page, live_server, email="ken@example.com", full_name="Ken Thompson", city="Murray Hill",
                 country="US")
    other = fake.create_customer(email="dennis@example.com", full_name="Dennis Ritchie", status="active")
    # Staff change the email to one another FluentCart customer holds: FluentCart refuses the update.
    row(page, "ken@example.com").locator("th a").click()
    page.fill("#id_email", "dennis@example.com")
    page.click("input[name=_continue]")
    page.wait_for_selector("#fluentcart-sync-panel")
    email_row = page.locator(".form-row.field-email")
    assert "FluentCart: Email already exists." in email_row.inner_text()
    assert "already has this email" in page.locator("#fluentcart-sync-error").inner_text()
    page.locator("#fluentcart-sync-panel").scroll_into_view_if_needed()
    screenshot(page, "admin-change-form.png")

    fake.store.delete([other["id"]])  # the fix, in FluentCart: the stale duplicate is removed
    page.click("#fluentcart-sync-now")
    page.wait_for_selector(".messagelist .success")
    assert page.locator("#fluentcart-sync-panel .fluentcart-badge").inner_text() == "Synced"
    assert "FluentCart:" not in page.locator(".form-row.field-email").inner_text()
    assert [c["email"] for c in fake.customers()] == ["dennis@example.com"]


def test_visitor_signs_up_and_their_customer_ends_up_synced(page, live_server, fake):
    page.goto(live_server.url + "/signup/")
    screenshot(page, "signup.png")
    page.fill("#id_email", "Hedy.Lamarr@example.com")
    page.fill("#id_full_name", "Hedy Lamarr")
    page.fill("#id_password1", "frequency-Hopping-1942")
    page.fill("#id_password2", "frequency-Hopping-1942")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/signup/done/$"))
    assert "has been created" in page.locator("[role=status]").inner_text()
    screenshot(page, "signup-done.png")
    customer = Customer.objects.get(email="Hedy.Lamarr@example.com")
    assert customer.sync_status == SyncStatus.SYNCED
    assert [c["email"] for c in fake.customers()] == ["Hedy.Lamarr@example.com"]


def test_signup_shows_field_errors_and_refuses_a_known_email_in_any_case(page, live_server, fake):
    get_user_model().objects.create_user("someone", email="hedy.lamarr@example.com", password="x-x-x-x-x-1")
    page.goto(live_server.url + "/signup/")
    page.fill("#id_email", "HEDY.LAMARR@example.com")
    page.fill("#id_full_name", "Hedy <b>Lamarr</b>")
    page.fill("#id_password1", "frequency-Hopping-1942")
    page.fill("#id_password2", "something-else-1942")
    page.click("button[type=submit]")
    page.wait_for_selector(".errorlist")
    assert "An account with this email already exists." in page.locator("#field-email").inner_text()
    assert "FluentCart refuses" in page.locator("#field-full_name").inner_text()
    assert "didn" in page.locator("#field-password2").inner_text()
    screenshot(page, "signup-errors.png")
    assert get_user_model().objects.count() == 1
    assert [c["email"] for c in fake.customers()] == ["hedy.lamarr@example.com"]  # the existing account only


def test_the_list_fits_1280px_with_a_192_character_unbroken_name(browser, live_server, fake):
    """Long values are cut with an ellipsis (the full value in the tooltip): the sync columns stay on screen."""
    seed_variety()
    long_name = "W" * 192
    Customer.objects.bulk_create([Customer(email="w" * 60 + "@example.com", full_name=long_name, sync_status=SyncStatus.FAILED,
                                           sync_error="FluentCart rejected the customer: " + "x" * 300)])
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    context.add_init_script("window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        admin_login(page, live_server)
        page.goto(live_server.url + "/admin/fluentcart_sync/customer/")
        wide = row(page, "w" * 60)
        name_cell = wide.locator(".field-customer_cell .fluentcart-name")
        assert name_cell.get_attribute("title") == long_name  # the whole value on hover
        # The list scrolls inside its own box (beside the filters): every sync column must fit in that box.
        results = page.locator("#changelist .results")
        visible = results.bounding_box()
        assert visible is not None and visible["x"] + visible["width"] <= 1280
        for column in (".field-sync_badge", ".field-fluentcart_link", ".field-sync_error_short", ".field-lifetime_value_short", ".field-synced_at_short"):
            box = wide.locator(column).bounding_box()
            assert box is not None and box["x"] + box["width"] <= visible["x"] + visible["width"] + 1, (
                f"{column} is off-screen: {box}, list box {visible}")
        assert results.evaluate("el => el.scrollWidth <= el.clientWidth"), "no horizontal scrolling in the list"
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, "no horizontal scrolling"
        screenshot(page, "admin-list-1280-long-name.png")
    finally:
        context.close()


def test_staff_resolve_a_sync_conflict_in_one_click(page, live_server, fake):
    from fluentcart_sync.services import push_customer

    customer = Customer.objects.create(email="conflict@example.com", full_name="Con Flict", city="Boston")
    push_customer(customer.pk)
    customer.refresh_from_db()
    fake.edit_customer(customer.fluentcart_id, city="Lyon")  # staff in WordPress
    customer.city = "Paris"  # and staff in Django, before any pull
    customer.save()
    customer.refresh_from_db()
    assert customer.sync_conflicts["city"]["fluentcart"] == "Lyon"

    admin_login(page, live_server)
    page.goto(f"{live_server.url}/admin/fluentcart_sync/customer/{customer.pk}/change/")
    conflict = page.locator('.fluentcart-conflict[data-field="city"]')
    assert "Lyon" in conflict.inner_text() and "Paris" in conflict.inner_text()
    screenshot(page, "admin-conflict.png")
    conflict.get_by_role("button", name="Use FluentCart's value").click()
    page.wait_for_load_state()

    assert page.locator('.fluentcart-conflict[data-field="city"]').count() == 0
    assert page.locator("input[name=city]").input_value() == "Lyon"
    customer.refresh_from_db()
    remote = next(c for c in fake.customers() if c["id"] == customer.fluentcart_id)
    assert customer.city == remote["city"] == "Lyon" and customer.sync_status == SyncStatus.SYNCED


def test_a_retry_moves_by_itself_when_fluentcart_comes_back(page, live_server, fake, fluentcart_settings):
    """The demo runs the sweep loop beside the server, as production does: FluentCart down, then up,
    and the customer the admin shows as waiting to retry becomes synced without a click."""
    from types import SimpleNamespace

    from fluentcart_sync.sandbox import Faults

    from .e2e_support import process_env, start_manage

    fluentcart_settings.update(RETRY_BASE_SECONDS=0.5, RETRY_MAX_SECONDS=1, QUARANTINE_SECONDS=1)
    fake.faults = Faults(error_rate=1.0, error_after_write_fraction=0.0, seed=3)
    customer = Customer.objects.create(email="patient@example.com", full_name="Patient Person")
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.RETRYING

    admin_login(page, live_server)
    change_url = f"{live_server.url}/admin/fluentcart_sync/customer/{customer.pk}/change/"
    page.goto(change_url)
    assert "Waiting to retry" in page.locator("#fluentcart-sync-panel").inner_text()

    served = SimpleNamespace(url=fluentcart_settings["URL"])
    sweep = start_manage("fluentcart_sync_due", "--run", "--loop", "0.5", "--grace", "0",
                         env=process_env(served, FLUENTCART_RETRY_BASE_SECONDS="0.5",
                                         FLUENTCART_RETRY_MAX_SECONDS="1", FLUENTCART_QUARANTINE_SECONDS="1"))
    try:
        fake.faults = Faults()  # FluentCart is back; nobody clicks anything
        for _ in range(120):
            page.goto(change_url)
            if "Synced" in page.locator("#fluentcart-sync-panel").inner_text():
                break
            page.wait_for_timeout(500)
        assert "Synced" in page.locator("#fluentcart-sync-panel").inner_text()
    finally:
        sweep.terminate()
        sweep.communicate(timeout=30)
    customer.refresh_from_db()
    assert customer.sync_status == SyncStatus.SYNCED and fake.count() == 1



def list_page(browser, live_server, width: int, height: int, *, sidebar_open: bool = True):
    """A logged-in page at this size, with Django's navigation sidebar as a new browser has it (open)."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    if not sidebar_open:
        context.add_init_script("window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    context.set_default_timeout(15_000)
    page = context.new_page()
    admin_login(page, live_server)
    return context, page


def seed_money_and_conflict() -> None:
    Customer.objects.filter(email="grace@example.com").update(
        purchase_count=12, lifetime_value=123456,
        sync_conflicts={"city": {"django": "Arlington", "fluentcart": "New York", "kept": "django"}})
    Customer.objects.filter(email="alan@example.com").update(purchase_count=1, lifetime_value=4999)


def test_the_list_fits_1280px_with_the_sidebar_open(browser, live_server, fake):
    """A new browser has Django's navigation sidebar open: every sync column is still on screen, headers
    read in full, money is money, and the conflicts have a filter and a marker."""
    seed_variety()
    seed_money_and_conflict()
    context, page = list_page(browser, live_server, 1280, 800)
    try:
        page.goto(live_server.url + "/admin/fluentcart_sync/customer/")
        screenshot(page, "admin-list-1280-sidebar.png")
        assert page.locator("#nav-sidebar").is_visible()
        grace = row(page, "grace@example.com")
        for column in (".field-sync_badge", ".field-fluentcart_link", ".field-sync_error_short", ".field-purchases",
                       ".field-lifetime_value_short", ".field-synced_at_short"):
            box = page.locator(f"#result_list thead {column.replace('.field-', '.column-')}").bounding_box()
            assert box is not None and box["x"] + box["width"] <= 1280, f"{column} is off-screen: {box}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, "no sideways scrolling"
        assert page.locator("#changelist .results").evaluate("el => el.scrollWidth <= el.clientWidth")
        header = page.locator("#result_list thead .column-sync_error_short")
        assert header.evaluate("el => el.scrollWidth <= el.clientWidth"), "the Last error header reads in full"
        email = row(page, "katherine@example.com").locator(".fluentcart-email")
        assert email.evaluate("el => el.scrollWidth <= el.clientWidth"), "an ordinary email reads in full"
        assert grace.locator(".field-lifetime_value_short").inner_text() == "$1,234.56"
        assert "conflict" in grace.locator(".fluentcart-conflict-marker").inner_text()
        page.get_by_role("link", name="With conflicts").click()
        page.wait_for_url(re.compile(r"conflicts=yes"))
        assert page.locator("#result_list tbody tr").count() == 1 and row(page, "grace@example.com").count() == 1
    finally:
        context.close()


def test_the_list_on_a_phone_shows_who_and_in_which_state(browser, live_server, fake):
    seed_variety()
    seed_money_and_conflict()
    context, page = list_page(browser, live_server, 390, 844)
    try:
        page.goto(live_server.url + "/admin/fluentcart_sync/customer/")
        screenshot(page, "admin-list-phone.png")
        margaret = row(page, "margaret@example.com")
        email = margaret.locator(".fluentcart-email")
        assert email.is_visible() and email.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the email reads in full"
        badge = margaret.locator(".fluentcart-badge")
        assert badge.is_visible() and badge.inner_text() == "Failed: needs attention"
        box = badge.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, "the sync state is on screen"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    finally:
        context.close()


def test_the_sync_panel_tells_last_and_next_attempt_apart(page, live_server, fake):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    customer = Customer.objects.create(email="waiting@example.com", full_name="Wait Ing")
    Customer.objects.filter(pk=customer.pk).update(
        sync_status=SyncStatus.RETRYING, sync_attempts=3, last_attempt_at=now - timedelta(minutes=20),
        next_attempt_at=now + timedelta(hours=1, minutes=15, seconds=30),
        sync_error="FluentCart did not answer in time (attempt 3; next try in 1 h 15 min)")
    admin_login(page, live_server)
    page.goto(f"{live_server.url}/admin/fluentcart_sync/customer/{customer.pk}/change/")
    assert re.search(r"\(20 min ago\)$", page.locator("#fluentcart-last-attempt").inner_text())
    assert re.search(r"\(in 1 h 15 min\)$", page.locator("#fluentcart-next-attempt").inner_text())
