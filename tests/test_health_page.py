"""The admin's health page: counts by state, the oldest owed push, pushes paused or not, the last
sweep and pull, conflicts, the most common errors and a chart of the last 24 hours; for staff who
may view customers, linked from the customer list, in German too."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from fluentcart_sync import circuit
from fluentcart_sync.models import Customer, PushOutcomeMinute, SyncRun, SyncStatus

pytestmark = pytest.mark.django_db

HEALTH = "/admin/fluentcart_sync/customer/health/"


def seed():
    now = timezone.now()
    for n, (state, error) in enumerate(
        [
            (SyncStatus.SYNCED, ""),
            (SyncStatus.RETRYING, "FluentCart server error on POST /customers (HTTP 502) (attempt 3; next try in 61s)"),
            (SyncStatus.RETRYING, "FluentCart server error on POST /customers (HTTP 502) (attempt 9; next try in 4511s)"),
            (SyncStatus.FAILED, "FluentCart rejected the customer: city: The city must be a valid text"),
            (SyncStatus.PENDING, ""),
        ]
    ):
        Customer.objects.create(email=f"h{n}@example.com", full_name=f"Heal Th {n}")
        Customer.objects.filter(email=f"h{n}@example.com").update(sync_status=state, sync_error=error)
    Customer.objects.filter(email="h4@example.com").update(updated_at=now - timedelta(minutes=95))
    Customer.objects.filter(email="h0@example.com").update(
        sync_conflicts={"city": {"django": "Paris", "fluentcart": "Lyon", "kept": "django"}}
    )
    SyncRun.objects.create(kind=SyncRun.SWEEP, finished_at=now, ok=True, duration_seconds=0.4, result="Swept 3 customers")
    minute = now.replace(second=0, microsecond=0)
    PushOutcomeMinute.objects.create(minute=minute - timedelta(hours=2), outcome="created", count=40)
    PushOutcomeMinute.objects.create(minute=minute - timedelta(hours=1), outcome="retry", count=12)
    PushOutcomeMinute.objects.create(minute=minute - timedelta(hours=30), outcome="created", count=999)  # too old


@pytest.fixture
def viewer(client):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(user)
    return client


def test_the_page_tells_how_the_sync_is_doing(viewer, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    seed()
    page = viewer.get(HEALTH).content.decode()
    for state, count in (("synced", 1), ("retrying", 2), ("failed", 1), ("pending", 1), ("missing_remote", 0)):
        assert f'data-sync-status="{state}"' in page
        tile = page.split(f'data-sync-status="{state}"', 1)[1]
        assert f'<span class="count">{count}</span>' in tile.split("</li>", 1)[0]
    oldest = page.split('id="fluentcart-health-oldest"', 1)[1].split("</tr>", 1)[0]
    assert "waiting 1 h 35 min" in oldest
    assert "running" in page.split('id="fluentcart-health-pushes"', 1)[1].split("</tr>", 1)[0]
    sweep = page.split('id="fluentcart-health-sweep"', 1)[1].split("</tr>", 1)[0]
    assert "Swept 3 customers" in sweep and "0.4 s" in sweep
    assert "never run" in page.split('id="fluentcart-health-pull"', 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in page.split('id="fluentcart-health-conflicts"', 1)[1].split("</tr>", 1)[0]
    errors = page.split('id="fluentcart-health-errors"', 1)[1]
    # the two 502s are one group, whatever their attempt count
    assert "<td>2</td><td>FluentCart server error on POST /customers (HTTP 502)</td>" in errors
    assert "<td>1</td><td>FluentCart rejected the customer" in errors
    chart = page.split('<svg id="fluentcart-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('data-series="pushed"') == 1 and chart.count('data-series="retry"') == 1
    assert ">40</text>" in chart, "the tallest bar sets the scale; the 30-hour-old minute is not drawn"


def test_paused_pushes_say_since_when_and_why(viewer):
    circuit.open_circuit("FluentCart refused the credentials")
    page = viewer.get(HEALTH).content.decode()
    row = page.split('id="fluentcart-health-pushes"', 1)[1].split("</tr>", 1)[0]
    assert "paused" in row and "FluentCart refused the credentials" in row
    assert 'id="fluentcart-health-paused"' in page


def test_the_last_pull_and_sweep_are_recorded_by_the_commands(viewer, fake, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    call_command("fluentcart_pull", "--no-progress", stdout=io.StringIO())
    call_command("fluentcart_sync_due", "--run", stdout=io.StringIO())
    runs = {run.kind: run for run in SyncRun.objects.all()}
    assert runs["pull"].ok and runs["pull"].last_success_at is not None
    assert runs["sweep"].ok and runs["sweep"].result.startswith("Swept 0 customers")
    page = viewer.get(HEALTH).content.decode()
    assert "0 read" in page.split('id="fluentcart-health-pull"', 1)[1].split("</tr>", 1)[0]


def test_linked_from_the_customer_list(admin_client):
    page = admin_client.get(reverse("admin:fluentcart_sync_customer_changelist")).content.decode()
    assert f'href="{HEALTH}" id="fluentcart-health-link"' in page


def test_only_for_staff_who_may_view_customers(client):
    assert client.get(HEALTH).status_code == 302  # to the admin login
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    client.force_login(user)
    assert client.get(HEALTH).status_code == 403


def test_german(viewer, settings):
    settings.LANGUAGE_CODE = "de"
    try:
        circuit.open_circuit("FluentCart lehnt die Zugangsdaten ab")
        page = viewer.get(HEALTH).content.decode()
        listing = viewer.get(reverse("admin:fluentcart_sync_customer_changelist")).content.decode()
    finally:
        translation.deactivate()
    assert 'id="fluentcart-health-link">Sync-Zustand</a>' in listing
    for text in ("Zustand der FluentCart-Synchronisierung", "Älteste ausstehende Übertragung", "Letzter Durchlauf", "Letzter Abruf",
                 "Übertragungen der letzten 24 Stunden", "Häufigste Fehler", "pausiert", "noch nie gelaufen"):
        assert text in page, text
    assert "Oldest owed push" not in page and "never run" not in page
