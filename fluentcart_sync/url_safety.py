"""The one place that validates the configured FluentCart URL and redacts it for display.

A URL may carry a password (``https://user:pass@shop`` or, without a scheme, ``user:pass@shop``,
which ``urlsplit`` reads as scheme ``user`` and path ``pass@shop``). Every message that shows the
URL (the system checks, ``fluentcart_check``, the client's configuration errors) goes through
``redact_url``, and ``url_problem`` refuses any URL with an ``@`` before its path, whatever its shape.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext as _

#: What replaces the credentials of a URL in anything shown or logged.
REDACTED = "***"


def has_credentials(url: str) -> bool:
    """Any ``@`` counts: a site address never needs one, and a password may hide ``/`` or ``:``."""
    return "@" in (url or "")


def redact_url(url: str) -> str:
    """The URL with everything between the scheme and the last ``@`` replaced by ``***``; safe to print."""
    url = (url or "").strip()
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    return f"{scheme}{sep}{REDACTED}@{rest.rpartition('@')[2]}"


def url_problem(url: str) -> str | None:
    """Why the URL cannot be used (a sentence that never contains its credentials), or None."""
    url = (url or "").strip()
    if not url:
        return _("FluentCart URL is not set.")
    if has_credentials(url):
        return _("FluentCart URL contains a user name or password (not shown here).")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _("FluentCart URL %(url)r is not an http(s) URL.") % {"url": redact_url(url)}
    return None
