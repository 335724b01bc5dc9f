"""The thin HTTP layer over FluentCart's customer REST API.

One ``requests.Session`` (keep-alive, a pool sized for the caller's concurrency), Basic auth with
a WordPress Application Password, explicit timeouts, and one choke point, ``_request``, that turns
every non-2xx answer into a typed exception from ``exceptions.py``. What the statuses and bodies
mean is taken from the observed behaviour (docs/fluentcart-api.md in the shared notes), not the
public docs: duplicate email is a 422, and FluentCart's own refusals arrive as HTTP 500 bodies
carrying an integer ``code``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from django.utils import timezone
from urllib3.exceptions import MaxRetryError, NewConnectionError

from . import __version__
from .conf import app_settings
from .deadlines import DeadlineAdapter, request_deadline
from .exceptions import (
    FluentCartAPIError,
    FluentCartAuthError,
    FluentCartBadRequest,
    FluentCartConfigurationError,
    FluentCartConnectError,
    FluentCartDuplicateEmail,
    FluentCartError,
    FluentCartLeaseExhausted,
    FluentCartLookupRefused,
    FluentCartNotFound,
    FluentCartPermissionError,
    FluentCartRateLimited,
    FluentCartRequestRefused,
    FluentCartRouteNotFound,
    FluentCartServerError,
    FluentCartTimeout,
    FluentCartTransportError,
    FluentCartUnexpectedAnswer,
    FluentCartValidationError,
    FluentCartWrongURL,
)
from .url_safety import redact_url, url_problem

logger = logging.getLogger("fluentcart_sync.client")

REST_BASE = "/wp-json/fluent-cart/v2"
USER_AGENT = f"fluentcart-sync/{__version__} (Django; +https://pypi.org/project/fluentcart-sync/)"
#: FluentCart accepts 1-199 per page; anything else silently becomes 10.
MAX_PER_PAGE = 199
#: FluentCart's email search is ``LIKE %term%`` with these unescaped.
LIKE_WILDCARDS = ("%", "_")
#: A look-up of an email holding a wildcard reads at most this many pages (199 customers each).
MAX_WILDCARD_LOOKUP_PAGES = 2
#: A search term FluentCart reads as a filter on ids, not as text (contract §4.2).
ID_FILTER = re.compile(r"^id(!=|=|>|<|::)", re.IGNORECASE)
#: The request that tells whether the credentials may read customers (the circuit's probe).
PROBE_PATH = "/customers"
#: Requests must end this long (or a tenth of the time left, if less) before the claim's lease,
#: so the outcome is recorded while the claim is still held.
LEASE_MARGIN_SECONDS = 1.0
#: A request is not started with less than this left of the lease: it could not do anything useful.
MIN_REQUEST_SECONDS = 0.25


def rest_base_url(site_url: str) -> str:
    """``https://shop.example.com`` → ``https://shop.example.com/wp-json/fluent-cart/v2``.

    A URL that already ends in the REST base (with or without a trailing slash) is kept as is.
    """
    url = (site_url or "").strip().rstrip("/")
    if not url:
        raise FluentCartConfigurationError(
            "FluentCart URL is not set: set FLUENTCART_SYNC['URL'] (FLUENTCART_URL in the environment)."
        )
    if problem := url_problem(url):  # never echoes credentials
        raise FluentCartConfigurationError(
            f"{problem} Set FLUENTCART_URL to the site alone, e.g. https://shop.example.com, and the credentials "
            "in FLUENTCART_USERNAME and FLUENTCART_APP_PASSWORD."
        )
    if url.endswith(REST_BASE):
        return url
    return url + REST_BASE


def site_url(url: str) -> str:
    """The WordPress site of a configured URL: the inverse of ``rest_base_url``."""
    url = (url or "").strip().rstrip("/")
    return url[: -len(REST_BASE)] if url.endswith(REST_BASE) else url


@dataclass(frozen=True)
class CustomerPage:
    """One page of ``GET /customers``."""

    customers: list[dict[str, Any]]
    current_page: int
    last_page: int
    total: int


class FluentCartClient:
    """Calls FluentCart's customer endpoints; raises ``FluentCartError`` subclasses on failure."""

    def __init__(
        self,
        site_url: str,
        username: str,
        app_password: str,
        *,
        timeout: tuple[float, float] = (3.05, 10.0),
        pool_size: int = 10,
        session: requests.Session | None = None,
    ):
        self.base_url = rest_base_url(site_url)
        self.timeout = timeout
        #: The longest one request may take in total: connect, send and the whole answer.
        self.deadline = float(timeout[0]) + float(timeout[1])
        self._lease = threading.local()  # .ends: monotonic time by which this thread's requests must end
        #: Entered around every request: a batch sets it to bound the requests in flight and their rate.
        self.gate: AbstractContextManager = nullcontext()
        self.session = session or requests.Session()
        # One pool per host, as large as the caller's concurrency, so every worker thread keeps
        # its connection alive instead of opening a new TCP/TLS connection per request.
        adapter = DeadlineAdapter(pool_connections=1, pool_maxsize=max(1, pool_size))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.auth = (username, app_password)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # TLS verification stays on: never set session.verify = False here.
        resolve_environment_once(self.session, self.base_url)

    def __repr__(self) -> str:
        # No credentials in reprs: they end up in logs and tracebacks.
        return f"<FluentCartClient {self.base_url}>"

    @contextmanager
    def bounded_by(self, lease_ends: datetime | None) -> Iterator[None]:
        """Within the block, this thread's requests must end before ``lease_ends`` (a claim's
        lease): one that could not is not sent (``FluentCartLeaseExhausted``), and one that is
        sent is cut off in time. So nothing a push sends can land after its claim has expired."""
        previous = getattr(self._lease, "ends", None)
        if lease_ends is not None:
            left = (lease_ends - timezone.now()).total_seconds()
            self._lease.ends = time.monotonic() + left - min(LEASE_MARGIN_SECONDS, left / 10)
        try:
            yield
        finally:
            self._lease.ends = previous

    # -- customer endpoints -------------------------------------------------------------------

    def create_customer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /customers; returns the created customer (``data``). Never retried here."""
        body = self._request("POST", "/customers", json=payload)
        return _expect_customer(body, "data", "POST /customers")

    def get_customer(self, customer_id: int) -> dict[str, Any]:
        """GET /customers/{id}; raises ``FluentCartNotFound`` if FluentCart no longer has it."""
        body = self._request("GET", f"/customers/{int(customer_id)}")
        return _expect_customer(body, "customer", "GET /customers/{id}")

    def update_customer(self, customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """PUT /customers/{id}. FluentCart replaces the whole record, and checks the email
        against every customer except the one whose ``id`` is in the body, so it is sent there.
        Returns the record as FluentCart re-read it after the update."""
        body = self._request("PUT", f"/customers/{int(customer_id)}", json={**payload, "id": int(customer_id)})
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise FluentCartUnexpectedAnswer(
                "FluentCart answered PUT /customers/{id} with JSON that is not FluentCart's", status_code=200, body=body
            )
        return body["data"]

    def delete_customer(self, customer_id: int) -> None:
        """FluentCart's bulk action ``delete_customers`` for this one id: the only delete there is,
        and it deletes the customer's orders too. A 500 with ``code`` 400 means FluentCart found
        no such customer."""
        self._request(
            "POST", "/customers/do-bulk-action", json={"action": "delete_customers", "customer_ids": [int(customer_id)]}
        )

    def list_customers(
        self, *, page: int = 1, per_page: int = MAX_PER_PAGE, search: str | None = None, ascending: bool = True
    ) -> CustomerPage:
        """GET /customers. Sends ``page`` itself: the paginator's URLs are unreliable."""
        params: dict[str, Any] = {"page": page, "per_page": per_page, "sort_type": "asc" if ascending else "desc"}
        if search:
            params["search"] = search
        body = self._request("GET", "/customers", params=params)
        paginator = body.get("customers") if isinstance(body, dict) else None
        if not isinstance(paginator, dict) or not isinstance(paginator.get("data", []), list):
            raise FluentCartUnexpectedAnswer(
                "FluentCart answered GET /customers with JSON that is not FluentCart's", status_code=200, body=body
            )
        return CustomerPage(
            customers=list(paginator.get("data") or []),
            current_page=int(paginator.get("current_page") or page),
            last_page=int(paginator.get("last_page") or 1),
            total=int(paginator.get("total") or 0),
        )

    def iter_pages(self, *, search: str | None = None, per_page: int = MAX_PER_PAGE) -> Iterator[CustomerPage]:
        """Every page of customers (matching ``search``), oldest first, until the last one."""
        page = 1
        while True:
            result = self.list_customers(page=page, per_page=per_page, search=search)
            yield result
            if result.current_page >= result.last_page or not result.customers:
                return
            page += 1

    def iter_customers(self, *, search: str | None = None, per_page: int = MAX_PER_PAGE) -> Iterator[dict[str, Any]]:
        """Every customer (matching ``search``), oldest first, page by page."""
        for result in self.iter_pages(search=search, per_page=per_page):
            yield from result.customers

    def find_by_email(self, email: str) -> list[dict[str, Any]]:
        """Customers whose email equals ``email`` exactly, ignoring case, lowest id first.

        FluentCart's search is a substring match, so the results are compared here. An email
        holding its wildcards (``%``, ``_``) could match most of the store: its look-up reads at
        most ``MAX_WILDCARD_LOOKUP_PAGES`` pages, and raises ``FluentCartLookupRefused`` beyond.
        """
        wanted = email.strip().lower()
        if ID_FILTER.match(wanted):
            raise FluentCartLookupRefused(
                f"FluentCart cannot look up {email!r}: its search reads a term beginning with “id=”, “id>”, “id<”, "
                "“id!=” or “id::” as a filter on customer ids, not an email. Check in FluentCart whether this "
                "customer exists (search its name), link or delete it there, or change the email here; then push again.",
                email=email,
            )
        bounded = any(wildcard in wanted for wildcard in LIKE_WILDCARDS)
        matches = []
        for page in self.iter_pages(search=search_term_for(email)):
            if bounded and page.last_page > MAX_WILDCARD_LOOKUP_PAGES:
                raise FluentCartLookupRefused(
                    f"FluentCart cannot look up {email!r} exactly: its search treats “%” and “_” as wildcards, and "
                    f"this email matches {page.total} of its customers. Check in FluentCart whether this customer "
                    "exists (search its name), link or delete it there, or change the email here; then push again.",
                    email=email,
                )
            matches += [c for c in page.customers if str(c.get("email", "")).strip().lower() == wanted]
        return sorted(matches, key=lambda c: int(c["id"]))

    # -- the choke point ----------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.base_url + path
        with self.gate:
            # Measured after the gate: time spent waiting there counts against the lease.
            seconds = self._seconds_allowed(method, path)
            timeout = (min(self.timeout[0], seconds), min(self.timeout[1], seconds))
            with request_deadline(seconds) as guard:
                try:
                    # Never follow a redirect: WordPress answers a wrong site path with a 301 to a guessed post.
                    response = self.session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
                except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as err:
                    if guard.expired:
                        raise self._too_slow(method, path, seconds) from err
                    raise FluentCartConnectError(f"Could not connect to FluentCart at {self.base_url}: {err}") from err
                except requests.exceptions.ReadTimeout as err:
                    raise self._too_slow(method, path, seconds) from err
                except requests.exceptions.ConnectionError as err:
                    if guard.expired:
                        raise self._too_slow(method, path, seconds) from err
                    raise _connection_error(err, self.base_url, method, path) from err
                except requests.exceptions.RequestException as err:
                    if guard.expired:  # cut off while reading the body
                        raise self._too_slow(method, path, seconds) from err
                    raise FluentCartTransportError(f"{method} {path} failed: {err}") from err
            answered = getattr(self.gate, "answered", None)
            if answered is not None:  # an adaptive gate learns the host's capacity from the answers
                answered(response.status_code)

        if 200 <= response.status_code < 300:
            try:
                return response.json()
            except ValueError as err:
                # A 200 that is not JSON is a caching plugin or login page in front of the API.
                raise FluentCartServerError(
                    f"FluentCart answered {method} {path} with a non-JSON page",
                    status_code=response.status_code,
                    response=response,
                ) from err
        error = error_from_response(response, method, path)
        if isinstance(error, FluentCartPermissionError) and (method, path) != ("GET", PROBE_PATH):
            error = self._confirmed_refusal(error, method, path)
        raise error

    def _confirmed_refusal(
        self, error: FluentCartPermissionError, method: str, path: str
    ) -> FluentCartPermissionError | FluentCartRequestRefused:
        """A ``rest_forbidden`` pauses every push only if the credentials cannot read customers
        either (one ``GET /customers``): a security plugin refusing one request must not stop them all."""
        try:
            self.list_customers(per_page=1)
            probe = "although the credentials read customers"
        except FluentCartPermissionError:
            return error
        except FluentCartError as probe_error:  # not confirmed: never pause every push on a guess
            probe = f"and the probe that would confirm a missing permission failed ({probe_error})"
        return FluentCartRequestRefused(
            f"FluentCart refused {method} {path} (rest_forbidden), {probe}: a security plugin or firewall rule "
            "refused this customer's request, or the user may view but not manage customers; it is retried",
            status_code=error.status_code,
            body=error.body,
            response=error.response,
        )

    def _seconds_allowed(self, method: str, path: str) -> float:
        ends = getattr(self._lease, "ends", None)
        if ends is None:
            return self.deadline
        left = ends - time.monotonic()
        if left < MIN_REQUEST_SECONDS:
            raise FluentCartLeaseExhausted(
                f"{method} {path} not sent: the push's claim had {max(left, 0):.1f}s left, too little for a request "
                "to finish (a long wait for the rate limit, or a slow push); it is retried"
            )
        return min(self.deadline, left)

    def _too_slow(self, method: str, path: str, seconds: float) -> FluentCartTimeout:
        return FluentCartTimeout(f"FluentCart did not answer {method} {path} completely within {seconds:g}s")


def resolve_environment_once(session: requests.Session, url: str) -> None:
    """Read the proxy and CA bundle settings from the environment now, for every request to ``url``.

    requests otherwise re-reads them on every request (``merge_environment_settings`` scans every
    environment variable twice for proxies), about a sixth of a push's CPU time in the backfill
    benchmark's profile. The result is what it
    would have decided each time: the proxies for this host (``NO_PROXY`` honoured), with the
    environment's winning over the session's, and ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``)
    as the certificates to trust, as requests does. ``.netrc`` is never consulted, as before: the
    session always carries its own credentials. Set the environment before the client is built.
    """
    if not session.trust_env:
        return
    session.proxies = {**session.proxies, **requests.utils.get_environ_proxies(url)}
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False


def search_term_for(email: str) -> str:
    """The search that finds ``email``: the whole email. FluentCart matches it as ``LIKE %email%``
    with ``%`` and ``_`` unescaped, so any part of it would match more (``_`` matches one character,
    so the whole email still narrows to a handful); the exact matches are picked out afterwards."""
    return email.strip()


def _expect_customer(body: Any, key: str, what: str) -> dict[str, Any]:
    """``body[key]``, a customer with an id, or ``FluentCartUnexpectedAnswer``."""
    customer = body.get(key) if isinstance(body, dict) else None
    if not isinstance(customer, dict) or customer.get("id") in (None, ""):
        raise FluentCartUnexpectedAnswer(
            f"FluentCart answered {what} with JSON that is not FluentCart's (no {key!r} customer)",
            status_code=200,
            body=body,
        )
    return customer


def _connection_error(
    err: requests.exceptions.ConnectionError, base_url: str, method: str, path: str
) -> FluentCartTransportError:
    """Tell "never reached the server" apart from "dropped after sending" (a POST may have landed)."""
    reason = err.args[0] if err.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, NewConnectionError):  # refused, unreachable, or the name did not resolve
        return FluentCartConnectError(f"Could not connect to FluentCart at {base_url}: {type(reason).__name__}")
    return FluentCartTransportError(f"The connection to FluentCart dropped during {method} {path}")


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _field_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    """``{field: {rule: message}}`` → ``{field: [message, ...]}``."""
    errors: dict[str, list[str]] = {}
    for field, rules in body.items():
        if isinstance(rules, dict):
            errors[field] = [str(message) for message in rules.values()]
        elif isinstance(rules, list):
            errors[field] = [str(message) for message in rules]
        elif isinstance(rules, str):
            errors[field] = [rules]
    return errors


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from WordPress hosts; the backoff applies instead


def error_from_response(response: requests.Response, method: str, path: str) -> FluentCartAPIError:
    """Map a non-2xx response to the matching exception (see the error model in the contract)."""
    status = response.status_code
    body = _json_body(response)
    common = {"status_code": status, "body": body, "response": response}
    remote_message = body.get("message") if isinstance(body, dict) else None
    code = body.get("code") if isinstance(body, dict) else None

    if status == 401:
        return FluentCartAuthError(
            "FluentCart refused the credentials: check FLUENTCART_USERNAME and FLUENTCART_APP_PASSWORD "
            "(an Application Password, not the login password; HTTPS is required unless the site is local)",
            **common,
        )
    if status == 403 and not is_wordpress_refusal(body):
        return FluentCartRequestRefused(
            f"FluentCart's host refused {method} {path} with a page that is not WordPress's (a firewall or a proxy, "
            "perhaps a rule this customer's data trips); it is retried",
            **common,
        )
    if status == 403:
        return FluentCartPermissionError(
            "The WordPress user in FLUENTCART_USERNAME lacks FluentCart's customer permissions "
            "(use an Administrator or a FluentCart Manager)",
            **common,
        )
    if 300 <= status < 400:
        return FluentCartWrongURL(
            f"FluentCart's API at {method} {path} redirected to {redact_url(response.headers.get('Location', '')) or '(no Location)'}: "
            "FLUENTCART_URL is not the WordPress site's address (use the final address, with https://)",
            **common,
        )
    if status == 404:
        if body is None:  # WordPress's HTML "page not found": the API is not at this address
            return FluentCartWrongURL(
                f"No FluentCart API at {method} {path} (a 404 web page, not JSON): check FLUENTCART_URL",
                **common,
            )
        if code == "rest_no_route":
            return FluentCartRouteNotFound(
                f"No FluentCart route at {method} {path}: check FLUENTCART_URL and that the FluentCart plugin is active",
                **common,
            )
        return FluentCartNotFound(f"FluentCart has no such record ({method} {path})", **common)
    if status == 422 and isinstance(body, dict) and "message" not in body:
        field_errors = _field_errors(body)
        summary = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in field_errors.items())
        email_rules = body.get("email")
        if (
            isinstance(email_rules, dict)
            and "exist" in email_rules
            and len(field_errors) == 1
            and len(email_rules) == 1
        ):
            return FluentCartDuplicateEmail(
                f"FluentCart already has this email: {summary}", field_errors=field_errors, **common
            )
        return FluentCartValidationError(
            f"FluentCart rejected the data: {summary}", field_errors=field_errors, **common
        )
    if status == 429 or (status == 503 and response.headers.get("Retry-After")):
        return FluentCartRateLimited(
            "FluentCart's host is rate limiting requests", retry_after=_retry_after(response), **common
        )
    if status >= 500:
        fluentcart_code = code if isinstance(code, int) else None
        message = f"FluentCart server error on {method} {path}"
        if remote_message:
            message += f": {remote_message}"
        return FluentCartServerError(message, fluentcart_code=fluentcart_code, **common)
    if remote_message:
        return FluentCartBadRequest(f"FluentCart refused {method} {path}: {remote_message}", **common)
    return FluentCartBadRequest(f"FluentCart refused {method} {path}", **common)


def is_wordpress_refusal(body: Any) -> bool:
    """WordPress's own "not allowed" answer, ``{"code": "rest_forbidden", ...}``: not a proxy's page."""
    return isinstance(body, dict) and body.get("code") == "rest_forbidden"


def get_client(*, pool_size: int = 10) -> FluentCartClient:
    """A client built from the FLUENTCART_SYNC settings (read now, not at import)."""
    return FluentCartClient(
        app_settings.URL,
        app_settings.USERNAME,
        app_settings.APP_PASSWORD,
        timeout=app_settings.timeout,
        pool_size=pool_size,
    )
