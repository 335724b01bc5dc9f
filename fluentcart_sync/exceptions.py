"""Errors raised by the FluentCart client.

``FluentCartError`` is the runtime hierarchy: everything a push can meet on the wire. The
configuration error stands apart (it subclasses ``ImproperlyConfigured``) so that "mark the record
failed and carry on" code, which catches ``FluentCartError``, never swallows a broken setup.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured


class FluentCartConfigurationError(ImproperlyConfigured):
    """The FLUENTCART_SYNC settings are missing or unusable."""


class FluentCartError(Exception):
    """Base of every error met while talking to FluentCart."""

    #: Another attempt later may succeed (network trouble, overload).
    transient = False
    #: The configuration is at fault (credentials, permissions, URL): every request will fail the
    #: same way until a person fixes it, so the circuit opens (``circuit.py``).
    configuration = False


class FluentCartTransportError(FluentCartError):
    """No HTTP answer: the connection failed, dropped or timed out."""

    transient = True
    #: True when the request may have reached the server (read timeout, dropped connection):
    #: a POST may then have created the customer.
    may_have_reached_server = True


class FluentCartConnectError(FluentCartTransportError):
    """The server was never reached (DNS, refused, connect timeout, TLS handshake)."""

    may_have_reached_server = False


class FluentCartTimeout(FluentCartTransportError):
    """The request was sent but no complete answer came within its deadline."""


class FluentCartLeaseExhausted(FluentCartTransportError):
    """Not sent: too little of the push's claim was left for a request to finish inside it (a long
    wait at the rate gate, or a slow push). Nothing reached FluentCart; the push is retried."""

    may_have_reached_server = False


class FluentCartAPIError(FluentCartError):
    """FluentCart (or the host in front of it) answered with a non-2xx status."""

    def __init__(self, message: str, *, status_code: int, body: Any = None, response: Any = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.response = response

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status_code})"


class FluentCartValidationError(FluentCartAPIError):
    """422 ``{field: {rule: message}}``: FluentCart refused the data."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.field_errors = field_errors


class FluentCartDuplicateEmail(FluentCartValidationError):
    """422 ``{"email": {"exist": ...}}``: a customer with this email already exists."""


class FluentCartAuthError(FluentCartAPIError):
    """401: wrong or missing credentials (FluentCart cannot tell which)."""

    configuration = True


class FluentCartPermissionError(FluentCartAPIError):
    """403 ``rest_forbidden``, WordPress's own answer, confirmed by a probe (``GET /customers``
    refused too): the WordPress user lacks FluentCart's customer permissions."""

    configuration = True


class FluentCartRequestRefused(FluentCartAPIError):
    """A 403 that is not the configuration's: a firewall's or proxy's page (HTML, another JSON), or a
    ``rest_forbidden`` for one request while the credentials still read customers (a security rule
    that this customer's data trips). That customer's failure, retried with backoff; pushes go on."""

    transient = True


class FluentCartRouteNotFound(FluentCartAPIError):
    """404 ``rest_no_route``: wrong URL, or the FluentCart plugin is not active."""

    configuration = True


class FluentCartWrongURL(FluentCartRouteNotFound):
    """A redirect, or a 404 that is not JSON, on the API path: FLUENTCART_URL is not the API's address."""


class FluentCartNotFound(FluentCartAPIError):
    """404 for a customer id that FluentCart does not hold (deleted there)."""


class FluentCartRateLimited(FluentCartAPIError):
    """429 (or 503 with ``Retry-After``) from the host or a firewall in front of WordPress."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class FluentCartServerError(FluentCartAPIError):
    """5xx. ``fluentcart_code`` holds the integer ``code`` FluentCart puts in its 500 bodies
    (400, 403, 404, 423), or None for a crash, a proxy error or a non-JSON page."""

    transient = True

    def __init__(self, message: str, *, fluentcart_code: int | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.fluentcart_code = fluentcart_code


class FluentCartBadRequest(FluentCartAPIError):
    """Any other 4xx: a request this app should never have sent."""


class FluentCartUnexpectedAnswer(FluentCartServerError):
    """A 2xx whose JSON is not what FluentCart sends (a proxy, a cache, another plugin): the request
    may or may not have been applied."""


class FluentCartLookupRefused(FluentCartError):
    """An email FluentCart's search cannot find exactly within a bounded number of requests (its
    ``%`` and ``_`` are wildcards there, or it reads as an ``id=`` filter): that customer's failure,
    with the reason on its email field, rather than a read of every page."""

    def __init__(self, message: str, *, email: str):
        super().__init__(message)
        self.email = email


class FluentCartPayloadHookError(FluentCartError):
    """The ``PAYLOAD_HOOK`` cannot be imported, raised, or returned something that is not a payload:
    that customer's push fails with this message on its row (a person fixes the hook, then pushes)."""
