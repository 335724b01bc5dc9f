"""``manage.py check`` for the FLUENTCART_SYNC settings, with stable ids (fluentcart_sync.E001 ...)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from .conf import app_settings

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@checks.register("fluentcart_sync")
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    url = (app_settings.URL or "").strip()
    if not url:
        errors.append(
            checks.Error(
                "FluentCart URL is not set.",
                hint="Set FLUENTCART_SYNC['URL'] (FLUENTCART_URL in the environment) to your WordPress site, "
                "e.g. https://shop.example.com",
                id="fluentcart_sync.E001",
            )
        )
    else:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            errors.append(
                checks.Error(
                    "FluentCart URL contains a user name or password (not shown here).",
                    hint="Put the credentials in FLUENTCART_USERNAME and FLUENTCART_APP_PASSWORD, and set the URL "
                    "to the site alone, e.g. https://shop.example.com",
                    id="fluentcart_sync.E004",
                )
            )
        elif parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(
                checks.Error(
                    f"FluentCart URL {url!r} is not an http(s) URL.",
                    hint="Use the site's address, e.g. https://shop.example.com",
                    id="fluentcart_sync.E004",
                )
            )
        elif parts.scheme == "http" and not settings.DEBUG and not is_loopback_url(url):
            errors.append(
                checks.Error(
                    "FluentCart URL uses plain http:// outside DEBUG: the application password would cross the "
                    "network unencrypted, and WordPress ignores Application Passwords over HTTP on non-local sites.",
                    hint="Use the https:// address of the shop.",
                    id="fluentcart_sync.E005",
                )
            )
    if not app_settings.USERNAME:
        errors.append(
            checks.Error(
                "FluentCart username is not set.",
                hint="Set FLUENTCART_SYNC['USERNAME'] (FLUENTCART_USERNAME): the WordPress user the app acts as.",
                id="fluentcart_sync.E002",
            )
        )
    if not app_settings.APP_PASSWORD:
        errors.append(
            checks.Error(
                "FluentCart application password is not set.",
                hint="Create an Application Password for that user (Users → Profile in WordPress) and set "
                "FLUENTCART_SYNC['APP_PASSWORD'] (FLUENTCART_APP_PASSWORD).",
                id="fluentcart_sync.E003",
            )
        )
    try:
        connect_timeout, read_timeout = app_settings.timeout
    except (TypeError, ValueError):
        errors.append(
            checks.Error(
                "FluentCart TIMEOUT must be a number of seconds or a (connect, read) pair.",
                id="fluentcart_sync.E006",
            )
        )
    else:
        if read_timeout <= 0 or connect_timeout <= 0:
            errors.append(checks.Error("FluentCart timeouts must be positive.", id="fluentcart_sync.E006"))
        elif app_settings.LEASE_SECONDS < 6 * (connect_timeout + read_timeout):
            errors.append(
                checks.Warning(
                    f"LEASE_SECONDS ({app_settings.LEASE_SECONDS}) is short for a push of several requests of up to "
                    f"{connect_timeout + read_timeout:g}s each: a slow push could lose its claim to another worker.",
                    hint="Keep FLUENTCART_LEASE_SECONDS at least 6 × (connect + read timeout).",
                    id="fluentcart_sync.W001",
                )
            )
    return errors
