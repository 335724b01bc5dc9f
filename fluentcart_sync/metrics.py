"""Metrics for Prometheus at ``<mount>/metrics`` (the host mounts ``fluentcart_sync.urls``).

Every value is read from the database at scrape time, so any web process can serve them and they
agree with the health page: the gauges from the rows, the push counters from the per-minute table
(``outcome_log``). Readable with ``Authorization: Bearer <FLUENTCART_METRICS_TOKEN>`` or by a staff
session; without a token set, staff only.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from . import circuit, health, outcome_log
from .conf import app_settings
from .models import SyncRun
from .outcomes import Outcome

#: Prometheus's classic text format, which every Prometheus version reads (the names here need nothing newer).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SyncCollector:
    """Computes every metric from the database when collected."""

    def collect(self) -> Iterator[Metric]:
        customers = GaugeMetricFamily("fluentcart_sync_customers", "Customers by sync status.", labels=["sync_status"])
        for status, n in health.counts_by_status().items():
            customers.add_metric([status], n)
        yield customers

        since = health.oldest_owed_since()
        age = 0.0
        if since is not None:
            age = max(0.0, (timezone.now() - since).total_seconds())
        yield GaugeMetricFamily(
            "fluentcart_sync_oldest_owed_push_age_seconds",
            "How long the oldest push still owed to FluentCart has waited (0 when none is owed).",
            value=age,
        )
        yield GaugeMetricFamily(
            "fluentcart_sync_pushes_paused",
            "1 while pushes are paused because FluentCart refuses the configuration, else 0.",
            value=1 if circuit.state().open else 0,
        )
        yield GaugeMetricFamily(
            "fluentcart_sync_conflicts", "Customers with a sync conflict recorded.", value=health.conflicts_waiting()
        )
        pull = SyncRun.objects.filter(kind=SyncRun.PULL).values_list("last_success_at", flat=True).first()
        yield GaugeMetricFamily(
            "fluentcart_sync_last_pull_success_timestamp_seconds",
            "When the last complete pull ended (Unix time; 0 if never).",
            value=pull.timestamp() if pull is not None else 0,
        )
        pushes = CounterMetricFamily(
            "fluentcart_sync_pushes", "Pushes by outcome (unchanged: nothing to send).", labels=["outcome"]
        )
        totals = outcome_log.totals()
        for outcome in Outcome:
            if outcome != Outcome.BUSY:
                pushes.add_metric([outcome.value], totals.get(outcome.value, 0))
        yield pushes


def metrics_token() -> str:
    """The bearer token: the ``METRICS_TOKEN`` setting, else the FLUENTCART_METRICS_TOKEN variable."""
    return app_settings.METRICS_TOKEN or os.environ.get("FLUENTCART_METRICS_TOKEN", "")


def _bearer_ok(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format; 401 without a valid token or session, 403 for a non-staff session."""
    user = getattr(request, "user", None)
    staff = bool(user is not None and user.is_active and user.is_staff)
    if not staff and not _bearer_ok(request, metrics_token()):
        if user is not None and user.is_authenticated:
            return HttpResponse("Staff only.\n", status=403, content_type="text/plain")
        response = HttpResponse("A bearer token or a staff session is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="fluentcart_sync"'
        response["Content-Type"] = "text/plain"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyncCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE)
