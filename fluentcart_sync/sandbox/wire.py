"""FakeFluentCart: one pure request -> response function that both transports (HTTP, responses) share.

It owns the order in which a real site answers: faults from the host first, then WordPress routing,
JSON parsing, authentication and permissions, and only then FluentCart's own handlers (customers.py).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple
from urllib.parse import parse_qs, urlsplit

from . import faults as fault
from .admin_page import customers_page, is_admin_page
from .body import JSONError, read_body
from .capacity import Capacity
from .customers import API_USER_ID, CustomerRoutes
from .faults import Faults
from .store import CustomerStore

REST_PREFIX = "/wp-json"
NAMESPACE = "/fluent-cart/v2"
CONTROL_PREFIX = "/__sandbox__/"
JSON_TYPE = "application/json; charset=UTF-8"
MODES = ("ok", "unauthorized", "forbidden", "no_route")
LOG_SIZE = 10_000
# The Allow header a real site sends on these routes (WordPress lists the route's methods).
# WordPress lists the methods of the route it matched. FluentCart registers GET /customers/{id} apart
# from the update route, so a GET of one customer says `Allow: GET` [live 1.5.2].
_ALLOW_CUSTOMERS = "GET, POST"
_ALLOW_ONE = "GET"
_ALLOW_UPDATE = "PUT, GET"
_ALLOW_BULK = "POST"
_NUMERIC_CUSTOMER = re.compile(r"^/customers/\d+$")

FORBIDDEN_MESSAGE = "Sorry, you are not allowed to do that."
NO_ROUTE_MESSAGE = "No route was found matching the URL and request method."
PLUGIN_EXCEPTION = {"code": "plugin_exception", "data": [], "message": "An internal error occurred."}
# Who a request authenticates as: FluentCart's API user, or a WordPress user without its permissions.
API_USER = "api"
NO_PERMISSION_USER = "noperm"

# What a host or proxy in front of WordPress says; not JSON, like the real thing.
_PROXY_PAGES = {
    400: "400 Bad Request",
    429: "429 Too Many Requests",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}


class ConnectionDropped(Exception):
    """Raised by FakeFluentCart.handle() when a drop fault closes the connection without an answer."""


def encode(obj: Any) -> bytes:
    """JSON the way PHP's json_encode writes it: compact, ASCII only, `/` escaped."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def html_page(status: int) -> bytes:
    """The plain HTML page a web server or proxy in front of WordPress answers with."""
    title = _PROXY_PAGES.get(status, f"{status} Not Found")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1>"
        "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


@dataclass
class Reply:
    """One answer. `fault` is None, "slow" (send after `delay` seconds) or "drop" (send nothing)."""

    status: int
    headers: dict[str, str]
    body: bytes
    fault: str | None = None
    delay: float = 0.0

    def as_tuple(self) -> tuple[int, dict[str, str], bytes]:
        return self.status, self.headers, self.body


class _Triple(NamedTuple):
    method: str
    path: str
    body: Any


class SeenRequest(_Triple):
    """(method, path, body) of one request, plus `.query` and `.status` for tests that need them.

    `path` is the route inside the namespace (`/customers/5`) for FluentCart requests, "?" outside it;
    `status` is 0 for a dropped connection. Compares and unpacks as the plain triple.
    """

    query: dict[str, str]
    status: int

    def __new__(cls, method: str, path: str, body: Any, query: dict[str, str], status: int):
        seen = super().__new__(cls, method, path, body)
        seen.query = query
        seen.status = status
        return seen


class RequestLog(deque):
    """The bounded request log, oldest first; compares equal to a list (`fake.requests_seen == []`)."""

    def __init__(self) -> None:
        super().__init__(maxlen=LOG_SIZE)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return super().__eq__(other)

    __hash__ = None


@dataclass
class _Request:
    method: str
    route: str | None  # path inside the fluent-cart namespace, None when outside it
    rest: bool  # a WordPress REST request at all (/wp-json/... or ?rest_route=)
    list_path: str  # the paginator's `path` for this URL form
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes
    payload: Any = None
    json_error: JSONError | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    admin_page: bool = False  # wp-admin's FluentCart screen, not the API


class FakeFluentCart:
    """An in-process FluentCart customers API with FluentCart's exact answers and injectable faults."""

    def __init__(
        self,
        username: str = "demo",
        password: str = "demo app pass word 1234",
        db_path: str | None = None,
        site_url: str = "http://127.0.0.1:8765",
        user_email: str = "admin@example.com",
        *,
        name_mode: str = "full_name",
        faults: Faults | None = None,
        mode: str = "ok",
        noperm_username: str | None = None,
        noperm_password: str | None = None,
    ) -> None:
        self.username = username
        self.password = password
        # A logged-in WordPress user without FluentCart permissions (a Subscriber): answered 403.
        self.noperm_username = noperm_username
        self.noperm_password = noperm_password
        self.user_email = user_email
        self.site_url = site_url.rstrip("/")
        self.name_mode = name_mode
        self.store = CustomerStore(db_path)
        self.faults = faults or Faults()
        self.mode = mode
        self.requests_seen = RequestLog()
        # WordPress users that exist: the API user, plus any a seeded customer is linked to. A PUT of
        # a customer linked to anyone else fails like FluentCart's (500, code 423).
        self.wordpress_user_ids: set[int] = {API_USER_ID}
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._serial_lock = threading.Lock()
        self.capacity = Capacity()
        self._routes = CustomerRoutes(self)

    # -- helpers for tests and seeding -------------------------------------------------------------

    def customers(self) -> list[dict[str, Any]]:
        """Every stored customer in id order, shaped like GET /customers/{id}."""
        return [self._routes.shape(row) for row in self.store.all()]

    def create_customer(self, **fields: Any) -> dict[str, Any]:
        """Store a customer directly (no HTTP, no validation, no faults); returns its GET shape.

        `full_name` is split like FluentCart does when first/last names are not given.
        """
        if "full_name" in fields and "first_name" not in fields:
            first, _, last = str(fields.pop("full_name")).strip().rpartition(" ")
            fields["first_name"], fields["last_name"] = (first, last) if first else (last, "")
        fields.pop("full_name", None)
        fields.setdefault("first_name", "")
        fields.setdefault("last_name", "")
        if fields.get("user_id"):
            self.wordpress_user_ids.add(int(fields["user_id"]))
        row = self.store.insert(fields)
        return self._routes.shape(row)

    def edit_customer(self, customer_id: int, **fields: Any) -> dict[str, Any]:
        """Change a stored customer directly, as staff in FluentCart's admin would (no HTTP, no
        faults); ``updated_at`` moves if anything changed. Returns its GET shape."""
        if "full_name" in fields and "first_name" not in fields:
            first, _, last = str(fields.pop("full_name")).strip().rpartition(" ")
            fields["first_name"], fields["last_name"] = (first, last) if first else (last, "")
        fields.pop("full_name", None)
        row = self.store.edit(customer_id, fields)
        if row is None:
            raise KeyError(f"no customer {customer_id}")
        return self._routes.shape(row)

    def count(self) -> int:
        return self.store.count()

    def reset(self) -> None:
        """Forget every customer, the request log and the counters (faults and mode stay)."""
        self.store.reset()
        self.wordpress_user_ids = {API_USER_ID}
        self.requests_seen.clear()
        with self._stats_lock:
            self.stats.clear()

    def close(self) -> None:
        self.store.close()

    def register(self, rsps: Any, base_url: str, **noperm: str | None) -> None:
        """Answer every request to URLs starting with `base_url` on a responses.RequestsMock
        (`noperm_username=`, `noperm_password=`: see responses_adapter.register)."""
        from .responses_adapter import register

        register(self, rsps, base_url, **noperm)

    # -- the wire ----------------------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request, sleeping like the server would. Raises ConnectionDropped on a drop."""
        reply = self.respond(method, url, headers, body)
        if reply.fault == "drop":
            raise ConnectionDropped(f"{method} {url}")
        if reply.fault == "slow":
            time.sleep(reply.delay)
        return reply.as_tuple()

    def respond(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        sleep: bool = True,
    ) -> Reply:
        """Answer one request; slow and drop faults are left to the transport (see Reply)."""
        parts = urlsplit(url)
        path = parts.path or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if CONTROL_PREFIX in path:
            from .control import control

            status, obj = control(self, method.upper(), path.split(CONTROL_PREFIX, 1)[1], body)
            return Reply(status, {"Content-Type": JSON_TYPE}, encode(obj))

        request = self._parse(method.upper(), path, query, headers, body or b"")
        faults = self.faults
        self.capacity.configure(faults.php_workers, faults.backlog)
        if not self.capacity.admit():  # every PHP worker busy and the queue full: refused at once
            reply = Reply(429, {"Content-Type": "text/html", "Retry-After": str(faults.retry_after)}, html_page(429))
            self._record(request, reply)
            return reply
        try:
            serial = self._serial_lock if faults.serialize else contextlib.nullcontext()
            with serial:
                if sleep:
                    pause = faults.delay()  # with php_workers: the service time, a PHP worker held
                    if pause:
                        time.sleep(pause)
                reply = self._with_faults(request, faults)
        finally:
            self.capacity.leave()
        self._record(request, reply)
        return reply

    def _with_faults(self, request: _Request, faults: Faults) -> Reply:
        if request.route is None:
            return self._answer(request)
        outcome, kind = faults.roll()
        if outcome == fault.RATE_LIMITED:
            return Reply(
                429,
                {"Content-Type": "text/html", "Retry-After": str(faults.retry_after)},
                html_page(429),
            )
        if outcome in (fault.ERROR, fault.ERROR_AFTER_WRITE):
            if outcome == fault.ERROR_AFTER_WRITE:
                self._answer(request)
            if kind == "plugin_exception":
                return Reply(500, {"Content-Type": JSON_TYPE}, encode(PLUGIN_EXCEPTION))
            status = 502 if kind == "bad_gateway" else 503
            return Reply(status, {"Content-Type": "text/html"}, html_page(status))
        if outcome in (fault.DROP, fault.DROP_AFTER_WRITE):
            if outcome == fault.DROP_AFTER_WRITE:
                self._answer(request)
            return Reply(0, {}, b"", fault="drop")
        reply = self._answer(request)
        if outcome == fault.SLOW:
            reply.fault, reply.delay = "slow", faults.slow_seconds
        return reply

    def _parse(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> _Request:
        lower = {key.lower(): value for key, value in headers.items()}
        if method == "POST":
            # WordPress honours both override spellings; FluentCart clients behind strict proxies use them.
            override = lower.get("x-http-method-override") or query.get("_method")
            if override:
                method = override.upper()
        if method == "HEAD":
            method = "GET"
        rest = False
        route = None
        list_path = self.site_url
        if REST_PREFIX + "/" in path + "/":
            rest = True
            inner = path.split(REST_PREFIX, 1)[1]
            if (inner + "/").startswith(NAMESPACE + "/"):
                route = inner[len(NAMESPACE) :]
                list_path = self.site_url + REST_PREFIX + NAMESPACE + "/customers"
        elif "rest_route" in query:
            rest = True
            inner = query["rest_route"]
            if (inner + "/").startswith(NAMESPACE + "/"):
                route = inner[len(NAMESPACE) :]
        if route is not None:
            route = "/" + route.strip("/") if route.strip("/") else "/"
        request = _Request(method, route, rest, list_path, query, lower, body)
        request.admin_page = method == "GET" and is_admin_page(path, query)
        request.payload, request.json_error = read_body(lower.get("content-type", ""), body)
        return request

    def _answer(self, request: _Request) -> Reply:
        """WordPress's part: mode, routing, JSON errors, authentication, permission; then FluentCart."""
        if request.admin_page:
            return Reply(200, {"Content-Type": "text/html; charset=UTF-8"}, customers_page(self.customers()))
        if not request.rest:
            return Reply(404, {"Content-Type": "text/html; charset=UTF-8"}, html_page(404))
        if self.mode == "no_route":
            # With the plugin inactive WordPress answers alone, without FluentCart's `wpfluent` marker.
            return self._json(404, _no_route(plugin_active=False))
        if self.mode == "unauthorized":
            return self._json(401, _forbidden(401))
        handler = self._routes.match(request.method, request.route)
        if handler is None:
            return self._json(404, _no_route(plugin_active=True))
        # WordPress reads the JSON while matching the route, then asks the route's permission
        # callback: a 400 beats a 401/403, and both beat FluentCart's validation.
        user = self._user(request.headers.get("authorization", ""))
        if request.json_error:
            return self._with_allow(self._json(400, _invalid_json(request.json_error)), request, user)
        if user is None:
            return self._json(401, _forbidden(401))
        if self.mode == "forbidden" or user == NO_PERMISSION_USER:
            return self._json(403, _forbidden(403))
        status, obj, extra_headers = handler(request)
        reply = self._json(status, obj)
        reply.headers.update(extra_headers)
        return self._with_allow(reply, request, user)

    def _with_allow(self, reply: Reply, request: _Request, user: str | None) -> Reply:
        """WordPress's Allow header: the route's methods the caller may use, so only for the API user."""
        allow = _allow(request.method, request.route or "")
        if allow and user == API_USER and self.mode != "forbidden":
            reply.headers["Allow"] = allow
        return reply

    def _json(self, status: int, obj: Any) -> Reply:
        return Reply(status, {"Content-Type": JSON_TYPE}, encode(obj))

    def _user(self, authorization: str) -> str | None:
        """API_USER, NO_PERMISSION_USER or None (anonymous: every failure looks the same, a 401).

        Basic auth with the login (or the API user's email) and the application password with or
        without spaces.
        """
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # not base64, not ASCII, or not UTF-8 once decoded
            return None
        user, _, password = decoded.partition(":")
        if user == self.username or user.lower() == self.user_email.lower():
            return API_USER if _same_app_password(password, self.password) else None
        if self.noperm_username and user == self.noperm_username:
            return NO_PERMISSION_USER if _same_app_password(password, self.noperm_password or "") else None
        return None

    def _record(self, request: _Request, reply: Reply) -> None:
        path = request.route if request.route is not None else "?"
        body = request.payload if request.json_error is None else request.raw_body.decode("utf-8", "replace")
        self.requests_seen.append(SeenRequest(request.method, path, body, request.query, reply.status))
        with self._stats_lock:
            self.stats[f"{request.method} {reply.status}"] += 1


def _allow(method: str, route: str) -> str:
    """The methods of the route WordPress matched (its Allow header), "" for none."""
    if route == "/customers":
        return _ALLOW_CUSTOMERS
    if route == "/customers/do-bulk-action":
        return _ALLOW_BULK
    if not _NUMERIC_CUSTOMER.match(route):
        return ""
    return _ALLOW_ONE if method == "GET" else _ALLOW_UPDATE


def _forbidden(status: int) -> dict[str, Any]:
    return {"code": "rest_forbidden", "message": FORBIDDEN_MESSAGE, "data": {"status": status}}


def _no_route(*, plugin_active: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"status": 404}
    if plugin_active:
        data["wpfluent"] = {"env": "production"}
    return {"code": "rest_no_route", "message": NO_ROUTE_MESSAGE, "data": data}


def _invalid_json(error: JSONError) -> dict[str, Any]:
    return {
        "code": "rest_invalid_json",
        "message": "Invalid JSON body passed.",
        "data": {"status": 400, "json_error_code": error.code, "json_error_message": error.message},
    }


def _same_app_password(sent: str, expected: str) -> bool:
    # WordPress strips everything but letters and digits from an application password.
    clean_sent = re.sub(r"[^A-Za-z0-9]", "", sent)
    clean_expected = re.sub(r"[^A-Za-z0-9]", "", expected)
    return bool(clean_expected) and hmac.compare_digest(clean_sent.encode(), clean_expected.encode())
