"""The health page of the admin (``admin/fluentcart_sync/customer/health/``): how the sync is doing,
at a glance, for staff who may view customers. The figures come from ``health.py``; the chart of
the last 24 hours is inline SVG drawn here, so there is no JavaScript to build."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import circuit, health
from .models import SyncRun, SyncStatus

#: The chart's colours per series (the admin's badge colours), and their legend labels.
SERIES_STYLE = {
    "pushed": ("#2e7d32", gettext_lazy("pushed")),
    "retry": ("#ef6c00", gettext_lazy("to retry")),
    "failed": ("#c62828", gettext_lazy("failed")),
    "paused": ("#757575", gettext_lazy("paused")),
}


def health_view(model_admin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    now = timezone.now()
    counts = health.counts_by_status()
    since = health.oldest_owed_since()
    runs = health.last_runs()
    paused = circuit.state()
    bars = health.chart_bars(now=now)
    changelist = reverse("admin:fluentcart_sync_customer_changelist")
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("FluentCart sync health"),
        "now": now,
        "changelist_url": changelist,
        "states": [
            {"status": state.value, "label": state.label, "count": counts[state.value]}
            for state in (
                SyncStatus.PENDING,
                SyncStatus.RETRYING,
                SyncStatus.FAILED,
                SyncStatus.MISSING_REMOTE,
                SyncStatus.SYNCED,
            )
        ],
        "oldest_owed_since": since,
        "oldest_owed_wait": duration_text(now - since) if since is not None else "",
        "circuit": paused,
        "paused_for": duration_text(now - paused.opened_at) if paused.open and paused.opened_at else "",
        "runs": [
            {"name": _("Last sweep"), "id": "sweep", "run": runs[SyncRun.SWEEP]},
            {"name": _("Last pull"), "id": "pull", "run": runs[SyncRun.PULL]},
        ],
        "conflicts": health.conflicts_waiting(),
        "errors": health.common_errors(),
        "chart": chart_svg(bars),
        "chart_total": {name: sum(bar.values[name] for bar in bars) for name in SERIES_STYLE},
        "legend": [{"name": name, "colour": colour, "label": label} for name, (colour, label) in SERIES_STYLE.items()],
    }
    return TemplateResponse(request, "admin/fluentcart_sync/customer/health.html", context)


def chart_svg(bars: list[health.ChartBar], *, width: int = 960, height: int = 180) -> SafeString:
    """Stacked bars (one per 15 minutes, oldest left) with an hour label every 3 hours and a tooltip
    per bar; the tallest bar sets the scale, which the top label states."""
    left, bottom, top = 40, 22, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((bar.total for bar in bars), default=0)
    scale = plot_h / (peak or 1)
    step = plot_w / max(1, len(bars))
    parts: list[str] = []
    for index, bar in enumerate(bars):
        x = left + index * step
        y = float(top + plot_h)
        start = timezone.localtime(bar.start)
        tip = ", ".join(f"{SERIES_STYLE[name][1]}: {n}" for name, n in bar.values.items() if n) or _("no pushes")
        rects = []
        for name, n in bar.values.items():
            if n:
                y -= n * scale
                rects.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(1.0, step - 1):.1f}" height="{n * scale:.1f}" '
                    f'fill="{SERIES_STYLE[name][0]}" data-series="{name}"></rect>'
                )
        parts.append(
            f'<g class="bar"><title>{escape(date_format(start, "H:i"))}: {escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{top}" width="{step:.1f}" height="{plot_h}" fill="transparent"></rect>'
            + "".join(rects)
            + "</g>"
        )
        if start.minute == 0 and start.hour % 3 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}" font-size="11" text-anchor="middle" fill="currentColor">'
                f"{escape(date_format(start, 'H:i'))}</text>"
            )
    axis = (
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="currentColor" '
        f'stroke-opacity="0.4"></line>'
        f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end" fill="currentColor">{peak}</text>'
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end" fill="currentColor">0</text>'
    )
    label = escape(_("Pushes per 15 minutes over the last 24 hours, by outcome"))
    return mark_safe(  # every text in it is escaped above; the rest are numbers and fixed names
        f'<svg id="fluentcart-chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{label}">'
        + axis
        + "".join(parts)
        + "</svg>"
    )


def duration_text(delta: timedelta | None) -> str:
    """A short human duration ("3 h 5 min", "42 s")."""
    if delta is None:
        return ""
    seconds = int(max(0, delta.total_seconds()))
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(d)d days") % {"d": hours // 24}
