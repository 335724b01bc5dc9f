"""The health page in a real browser (Chromium through Playwright, as tests/test_browser.py): reached
from the customer list, its chart drawn without any JavaScript, a bar's tooltip readable; it writes
artifacts/screenshots/admin-health.png (the README shows the copy in docs/screenshots/)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fluentcart_sync import circuit
from fluentcart_sync.models import Customer, PushOutcomeMinute, SyncRun, SyncStatus

from .test_browser import admin_login, browser, page, screenshot, seed_variety  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_a_day_with_an_outage() -> None:
    """A day of pushes: steady traffic, a 90-minute outage five hours ago (retries, then everything
    pushed at once when FluentCart came back), one customer FluentCart refuses."""
    now = timezone.now().replace(second=0, microsecond=0)
    rows = []
    for minutes_ago in range(0, 24 * 60, 3):
        minute = now - timedelta(minutes=minutes_ago)
        if 300 <= minutes_ago < 390:
            rows.append(PushOutcomeMinute(minute=minute, outcome="retry", count=4 + minutes_ago % 5))
        else:
            rows.append(PushOutcomeMinute(minute=minute, outcome="updated", count=2 + (minutes_ago // 7) % 4))
            rows.append(PushOutcomeMinute(minute=minute, outcome="created", count=1 + (minutes_ago // 11) % 3))
        if minutes_ago == 297:
            rows.append(PushOutcomeMinute(minute=minute, outcome="linked", count=60))
        if minutes_ago in (150, 700):
            rows.append(PushOutcomeMinute(minute=minute, outcome="failed", count=2))
    PushOutcomeMinute.objects.bulk_create(rows)
    SyncRun.objects.create(kind=SyncRun.SWEEP, finished_at=now, ok=True, duration_seconds=0.8,
                           result="Swept 4 customers: 4 pushed, 0 to retry, 0 failed.")
    SyncRun.objects.create(kind=SyncRun.PULL, finished_at=now - timedelta(minutes=12), ok=True,
                           last_success_at=now - timedelta(minutes=12), duration_seconds=3.4,
                           result="1208 read: 0 linked, 3 updated, 1 created, 0 conflicts, 0 deleted remotely")
    # From the clock, not the minute `now` was cut to: the page rounds the wait to whole minutes.
    Customer.objects.filter(email="edsger@example.com").update(updated_at=timezone.now() - timedelta(minutes=7))
    Customer.objects.filter(email="katherine@example.com").update(
        failing_since=now - timedelta(minutes=4), sync_status=SyncStatus.RETRYING)


def test_staff_open_the_health_page_from_the_list_and_read_the_day(page, live_server):  # noqa: F811
    seed_variety()
    seed_a_day_with_an_outage()
    admin_login(page, live_server)
    page.goto(live_server.url + "/admin/fluentcart_sync/customer/")
    page.click("#fluentcart-health-link")
    page.wait_for_url("**/admin/fluentcart_sync/customer/health/")

    assert page.locator("[data-sync-status=failed] .count").inner_text() == "1"
    assert "waiting 7 min" in page.locator("#fluentcart-health-oldest").inner_text()
    assert "running" in page.locator("#fluentcart-health-pushes").inner_text()
    assert "Swept 4 customers" in page.locator("#fluentcart-health-sweep").inner_text()
    assert "1208 read" in page.locator("#fluentcart-health-pull").inner_text()
    assert "city: The city must be a valid text" in page.locator("#fluentcart-health-errors").inner_text()

    chart = page.locator("#fluentcart-chart")
    box = chart.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 100, "drawn, at a readable size"
    assert chart.locator("rect[data-series=retry]").count() >= 6, "the outage shows as retries"
    assert chart.locator("rect[data-series=pushed]").count() >= 80
    assert "to retry" in chart.locator("g.bar title").nth(96 - 1 - 22).text_content()
    screenshot(page, "admin-health.png")

    circuit.open_circuit("FluentCart refused the credentials (HTTP 401)")
    page.reload()
    assert "refused the credentials" in page.locator("#fluentcart-health-paused").inner_text()
    assert "paused" in page.locator("#fluentcart-health-pushes").inner_text()
