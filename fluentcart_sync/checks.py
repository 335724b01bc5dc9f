"""``manage.py check`` for the FLUENTCART_SYNC settings, with stable ids (fluentcart_sync.E001 ...)."""

from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .conf import app_settings
from .url_safety import url_problem

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _sandbox_demo_password() -> str:
    from .sandbox.cli import DEFAULT_PASSWORD

    return DEFAULT_PASSWORD


@checks.register("fluentcart_sync")
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    url = (app_settings.URL or "").strip()
    if not url:
        errors.append(
            checks.Error(
                _("FluentCart URL is not set."),
                hint=_(
                    "Set FLUENTCART_SYNC['URL'] (FLUENTCART_URL in the environment) to your WordPress site, "
                    "e.g. https://shop.example.com"
                ),
                id="fluentcart_sync.E001",
            )
        )
    elif problem := url_problem(url):
        # url_problem never repeats the credentials of a URL, whatever its shape (user:pass@host too).
        errors.append(
            checks.Error(
                problem,
                hint=_(
                    "Put the credentials in FLUENTCART_USERNAME and FLUENTCART_APP_PASSWORD, and set the URL "
                    "to the site alone, e.g. https://shop.example.com"
                ),
                id="fluentcart_sync.E004",
            )
        )
    elif urlsplit(url).scheme == "http" and not settings.DEBUG and not is_loopback_url(url):
        errors.append(
            checks.Error(
                _(
                    "FluentCart URL uses plain http:// outside DEBUG: the application password would cross the "
                    "network unencrypted, and WordPress ignores Application Passwords over HTTP on non-local sites."
                ),
                hint=_("Use the https:// address of the shop."),
                id="fluentcart_sync.E005",
            )
        )
    elif not settings.DEBUG and app_settings.APP_PASSWORD == _sandbox_demo_password():
        errors.append(
            checks.Error(
                _(
                    "FluentCart settings point at the demo fake FluentCart (its well-known demo password) outside "
                    "DEBUG: every customer would go to a local fake, not the shop."
                ),
                hint=_("Set FLUENTCART_URL, FLUENTCART_USERNAME and FLUENTCART_APP_PASSWORD to the real shop."),
                id="fluentcart_sync.E007",
            )
        )
    if not app_settings.USERNAME:
        errors.append(
            checks.Error(
                _("FluentCart username is not set."),
                hint=_("Set FLUENTCART_SYNC['USERNAME'] (FLUENTCART_USERNAME): the WordPress user the app acts as."),
                id="fluentcart_sync.E002",
            )
        )
    if not app_settings.APP_PASSWORD:
        errors.append(
            checks.Error(
                _("FluentCart application password is not set."),
                hint=_(
                    "Create an Application Password for that user (Users → Profile in WordPress) and set "
                    "FLUENTCART_SYNC['APP_PASSWORD'] (FLUENTCART_APP_PASSWORD)."
                ),
                id="fluentcart_sync.E003",
            )
        )
    try:
        connect_timeout, read_timeout = app_settings.timeout
    except (TypeError, ValueError):
        errors.append(
            checks.Error(
                _("FluentCart TIMEOUT must be a number of seconds or a (connect, read) pair."),
                id="fluentcart_sync.E006",
            )
        )
    else:
        if read_timeout <= 0 or connect_timeout <= 0:
            errors.append(checks.Error(_("FluentCart timeouts must be positive."), id="fluentcart_sync.E006"))
        elif app_settings.LEASE_SECONDS < 6 * (connect_timeout + read_timeout):
            errors.append(
                checks.Warning(
                    _(
                        "LEASE_SECONDS (%(lease)s) is short for a push of several requests of up to %(deadline)gs "
                        "each: a slow push could lose its claim to another worker."
                    )
                    % {"lease": app_settings.LEASE_SECONDS, "deadline": connect_timeout + read_timeout},
                    hint=_("Keep FLUENTCART_LEASE_SECONDS at least 6 × (connect + read timeout)."),
                    id="fluentcart_sync.W001",
                )
            )
        quarantine = app_settings.QUARANTINE_SECONDS
        if quarantine is not None and float(quarantine) < connect_timeout + read_timeout:
            errors.append(
                checks.Warning(
                    _(
                        "QUARANTINE_SECONDS (%(quarantine)s) is shorter than one request may take (%(deadline)gs): a "
                        "POST that got no answer could still land after a second one is sent, and FluentCart would "
                        "hold the customer twice."
                    )
                    % {"quarantine": quarantine, "deadline": connect_timeout + read_timeout},
                    hint=_(
                        "Leave FLUENTCART_QUARANTINE_SECONDS unset (a minute, or twice connect + read timeout), or raise it."
                    ),
                    id="fluentcart_sync.W002",
                )
            )
    return errors


def tasks_api_importable() -> bool:
    """Django 6 ships ``django.tasks``; Django 5.2 needs the ``django-tasks`` backport."""
    return any(importlib.util.find_spec(name) is not None for name in ("django.tasks", "django_tasks"))


@checks.register("fluentcart_sync")
def check_tasks_api(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if tasks_api_importable():
        return []
    return [
        checks.Error(
            _(
                "Neither django.tasks (Django 6+) nor the django-tasks backport is importable: every save would "
                "fail to queue its push after commit and customers would stay pending."
            ),
            hint=_(
                "pip install django-tasks (on Django 5.2), add 'django_tasks' to INSTALLED_APPS and configure "
                "TASKS; or upgrade to Django 6."
            ),
            id="fluentcart_sync.E008",
        )
    ]


@checks.register("fluentcart_sync")
def check_payload_hook(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    path = app_settings.PAYLOAD_HOOK
    if not path:
        return []
    hint = _(
        "Set it to the dotted path of a function taking (customer, payload) and returning the payload, or to None."
    )
    try:
        hook = import_string(path) if isinstance(path, str) else path
    except ImportError as err:
        message = _("FLUENTCART_SYNC['PAYLOAD_HOOK'] %(path)r cannot be imported: %(error)s") % {
            "path": path,
            "error": err,
        }
        return [checks.Error(message, hint=hint, id="fluentcart_sync.E009")]
    if not callable(hook):
        message = _("FLUENTCART_SYNC['PAYLOAD_HOOK'] %(path)r is not callable.") % {"path": path}
        return [checks.Error(message, hint=hint, id="fluentcart_sync.E009")]
    return []


@checks.register("fluentcart_sync")
def check_on_delete(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .models import OnDelete

    value = app_settings.ON_DELETE
    if value in OnDelete.values:
        return []
    return [
        checks.Error(
            _("FLUENTCART_SYNC['ON_DELETE'] is %(value)r, not one of %(choices)s.")
            % {"value": value, "choices": ", ".join(repr(choice) for choice in OnDelete.values)},
            hint=_(
                "'keep' (the default) leaves FluentCart alone, 'anonymize' replaces the customer's personal data "
                "there and keeps its orders, 'delete' deletes it with its orders (docs/deletion.md)."
            ),
            id="fluentcart_sync.E010",
        )
    ]
