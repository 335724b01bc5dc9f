"""A German admin: the change list, the change form's sync panel, an action's message and the system
checks speak German under LANGUAGE_CODE="de", from the catalogue the app ships (locale/de)."""

import gettext
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

import fluentcart_sync
from fluentcart_sync import circuit
from fluentcart_sync.checks import check_settings
from fluentcart_sync.models import Customer, CustomerStatus, SyncStatus

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:fluentcart_sync_customer_changelist")
LOCALE = Path(fluentcart_sync.__file__).parent / "locale" / "de" / "LC_MESSAGES"


@pytest.fixture
def german(settings):
    settings.LANGUAGE_CODE = "de"  # the project has no LocaleMiddleware: every request speaks this
    yield
    translation.deactivate()


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_customer", "change_customer", "sync_customer"])
    )
    client.force_login(user)
    return client


def test_the_catalogue_is_complete_and_compiled():
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert 'msgstr ""\n\n' not in po.split("\n\n", 1)[1] + "\n\n", "an untranslated message"
    assert "#, fuzzy" not in po
    # The compiled catalogue holds every message of the .po (compiled after the last edit).
    with open(LOCALE / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    entries = po.count("\nmsgid ")
    assert len({key for key in compiled._catalog if key}) == entries
    assert compiled.gettext("Sync now") == "Jetzt synchronisieren"


def test_status_names_and_labels_are_german():
    with translation.override("de"):
        assert str(SyncStatus.FAILED.label) == "Fehlgeschlagen: bitte prüfen"
        assert str(SyncStatus.PENDING.label) == "Ausstehend"
        assert str(CustomerStatus.INACTIVE.label) == "Inaktiv"
        assert str(Customer._meta.verbose_name_plural) == "Kunden"
        assert str(Customer._meta.get_field("sync_status").verbose_name) == "Sync-Status"
    with translation.override("en"):
        assert str(SyncStatus.FAILED.label) == "Failed: needs attention"


def test_the_change_list_is_german(german, admin_client):
    Customer.objects.create(email="a@example.com", full_name="Anna Alt")
    Customer.objects.filter(email="a@example.com").update(sync_status=SyncStatus.FAILED, sync_error="boom")
    Customer.objects.create(email="b@example.com", full_name="Bernd Bau")
    Customer.objects.filter(email="b@example.com").update(sync_status=SyncStatus.SYNCED, fluentcart_id=4242)
    page = admin_client.get(CHANGELIST).content.decode()
    # badges and the per-status counts above the list
    assert "Fehlgeschlagen: bitte prüfen" in page and "Synchronisiert" in page and "In FluentCart gelöscht" in page
    assert 'aria-label="Kunden je Sync-Status"' in page
    assert "Kunden mit dem Status „Ausstehend“ anzeigen" in page and "Alle anzeigen" in page
    # column headers, the action, the id link's tooltip
    for text in ("Sync-Status", "FluentCart-ID", "Letzter Fehler", "An FluentCart übertragen", "In FluentCart öffnen"):
        assert text in page, text
    assert "Failed: needs attention" not in page and "Show all" not in page


def test_the_paused_banner_is_german(german, admin_client):
    circuit.open_circuit("HTTP 401")
    page = admin_client.get(CHANGELIST).content.decode()
    assert "Die Übertragung an FluentCart ist seit" in page and "HTTP 401" in page
    assert "Nichts geht verloren" in page


def test_the_sync_panel_is_german(german, staff_client):
    customer = Customer.objects.create(email="p@example.com", full_name="Paula Panel", city="Köln")
    Customer.objects.filter(pk=customer.pk).update(
        sync_status=SyncStatus.RETRYING,
        sync_attempts=2,
        sync_error="HTTP 503",
        sync_field_errors={"city": ["The city must be a valid text"]},
        sync_conflicts={"city": {"django": "Köln", "fluentcart": "Bonn", "kept": "django"}},
    )
    page = staff_client.get(reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])).content.decode()
    for text in (
        "FluentCart-Synchronisierung",
        "Wartet auf neuen Versuch",
        "noch nicht in FluentCart",
        "Fehlgeschlagene Versuche",
        "2 seit dem letzten Erfolg",
        "Letzter Versuch",
        "Letzter Fehler",
        "Konflikt: Ort",
        "Beide Seiten haben es geändert",
        "Wert von FluentCart übernehmen",
        "Jetzt synchronisieren",
        "Speichern Sie Ihre Änderungen vorher.",
        "Postleitzahl",  # the form's own labels
        "Adresse",
    ):
        assert text in page, text
    assert "Sync now" not in page and "Last attempt" not in page


def test_an_action_message_is_german(german, staff_client, fake):
    ok = Customer.objects.create(email="ok@example.com", full_name="Olga Ok")
    bad = Customer.objects.create(email="bad@example.com", full_name="Bad")
    Customer.objects.filter(pk=bad.pk).update(full_name="<i>Bad</i>")
    response = staff_client.post(
        CHANGELIST, {"action": "push_to_fluentcart", "_selected_action": [ok.pk, bad.pk]}, follow=True
    )
    assert "1 übertragen, 0 bereits synchron, 1 fehlgeschlagen." in response.content.decode()


def test_sync_now_message_is_german(german, staff_client, fake):
    customer = Customer.objects.create(email="now@example.com", full_name="Nina Now")
    response = staff_client.post(reverse("admin:fluentcart_sync_customer_sync", args=[customer.pk]), follow=True)
    customer.refresh_from_db()
    assert f"Mit FluentCart synchronisiert (Kunde {customer.fluentcart_id})." in response.content.decode()


def test_a_validation_message_on_the_form_is_german(german, admin_client):
    response = admin_client.post(
        reverse("admin:fluentcart_sync_customer_add"),
        {"email": "x%41@example.com", "full_name": "Xaver X", "status": "active"},
    )
    assert "Entfernen Sie „%41“" in response.content.decode()


def test_check_messages_are_german(settings):
    settings.FLUENTCART_SYNC = {"URL": "", "USERNAME": "", "APP_PASSWORD": ""}
    with translation.override("de"):
        messages = {m.id: m for m in check_settings()}
        assert messages["fluentcart_sync.E001"].msg == "Die FluentCart-URL ist nicht gesetzt."
        assert "Anwendungspasswort" in messages["fluentcart_sync.E003"].hint


def test_makemessages_finds_nothing_new(tmp_path, monkeypatch):
    """Every marked string has its German: a fresh extraction holds no message the catalogue lacks."""
    import shutil

    if not shutil.which("xgettext"):
        pytest.skip("xgettext is not installed (apt-get install gettext)")
    app = Path(fluentcart_sync.__file__).parent
    copy = tmp_path / "fluentcart_sync"
    shutil.copytree(app, copy, ignore=shutil.ignore_patterns("sandbox", "management", "testing", "migrations",
                                                             "__pycache__", "locale"))
    (copy / "locale").mkdir()
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["de"], no_location=True, verbosity=0)
    fresh = (copy / "locale" / "de" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    shipped = (LOCALE / "django.po").read_text(encoding="utf-8")

    def msgids(po: str) -> set[str]:
        return {block.split("msgstr")[0] for block in po.split("\n\n")[1:]}

    assert msgids(fresh) - msgids(shipped) == set()


def test_errors_recorded_on_rows_stay_english_in_a_german_admin(german, staff_client, fake):
    bad = Customer.objects.create(email="bad@example.com", full_name="Bad")
    Customer.objects.filter(pk=bad.pk).update(full_name="<i>Bad</i>")
    staff_client.post(CHANGELIST, {"action": "push_to_fluentcart", "_selected_action": [bad.pk]})
    bad.refresh_from_db()
    assert bad.sync_error.startswith("Fix the customer before pushing: full_name: Remove every “<” character")
    assert bad.sync_field_errors["full_name"][0].startswith("Remove every")


def test_the_demo_admin_follows_the_browsers_language(admin_client):
    """The demo project has LocaleMiddleware: Accept-Language picks German, without any setting."""
    Customer.objects.create(email="a@example.com", full_name="Anna Alt")
    Customer.objects.filter(email="a@example.com").update(sync_status=SyncStatus.FAILED, lifetime_value=123456)
    german = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert "Fehlgeschlagen: bitte prüfen" in german and "An FluentCart übertragen" in german
    assert "Mit Konflikten" in german and "1.234,56 $" in german
    english = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Failed: needs attention" in english and "$1,234.56" in english


def test_the_admin_form_and_its_errors_follow_the_browsers_language(admin_client):
    add = reverse("admin:fluentcart_sync_customer_add")
    page = admin_client.get(add, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Höchstens 45 Zeichen" in page and '<option value="DE">Deutschland</option>' in page
    response = admin_client.post(add, {"email": "x@example.com", "status": "active"}, HTTP_ACCEPT_LANGUAGE="de")
    assert "FluentCart braucht einen Namen" in response.content.decode()


def test_the_sync_panel_shows_due_times_in_german(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    customer = Customer.objects.create(email="w@example.com", full_name="Wera Wart")
    Customer.objects.filter(pk=customer.pk).update(
        sync_status=SyncStatus.RETRYING, last_attempt_at=timezone.now() - timedelta(minutes=20, seconds=5),
        next_attempt_at=timezone.now() + timedelta(hours=1, minutes=15, seconds=20))
    url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    page = staff_client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "(vor 20 min)" in page and "(in 1 h 15 min)" in page
