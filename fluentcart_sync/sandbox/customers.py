"""FluentCart's customer route handlers: what runs once WordPress has routed and authorised a request."""

from __future__ import annotations

import contextlib
import re
import time
from typing import TYPE_CHECKING, Any, Callable

from . import shapes
from .paginator import paginate
from .validation import PluginException, php_intval, read_customer

if TYPE_CHECKING:
    from .wire import FakeFluentCart, _Request

Answer = tuple[int, Any, dict[str, str]]

ENTITY_NOT_FOUND = {
    "data": {
        "message": "Customer not found",
        "buttonText": "Back to Customer List",
        "route": "/customers",
        "wpfluent": {"env": "production"},
    },
    "code": "fluent_cart_entity_not_found",
}
PLUGIN_EXCEPTION = {"code": "plugin_exception", "data": [], "message": "An internal error occurred."}
# The id of the one WordPress user the fake knows: the API user itself.
API_USER_ID = 1

_CUSTOMER = re.compile(r"^/customers/(\d+)$")
_PORTAL_CUSTOMER = re.compile(r"^/customers/([^/]+)$")


def _route_id(request: "_Request") -> int:
    """The id in a ``/customers/<id>`` route; 0 (no such customer) for a non-numeric one."""
    match = _CUSTOMER.match(request.route or "")
    return int(match.group(1)) if match else 0


def _refusal(code: int, message: str) -> Answer:
    """FluentCart refusing an operation: HTTP 500 with an integer `code` inside."""
    return 500, {"code": code, "message": message, "data": None}, {}


class CustomerRoutes:
    def __init__(self, fake: "FakeFluentCart") -> None:
        self.fake = fake

    def shape(self, row: dict[str, Any], *, labels: bool = True) -> dict[str, Any]:
        return shapes.stored_customer(row, self.fake.site_url, labels=labels)

    def match(self, method: str, route: str | None) -> Callable[["_Request"], Answer] | None:
        """The handler for a route, or None for WordPress's rest_no_route."""
        if route is None:
            return None
        if route == "/customers":
            return {"GET": self.list, "POST": self.create}.get(method)
        if route == "/customers/do-bulk-action":
            return self.bulk_action if method == "POST" else None
        if _CUSTOMER.match(route):
            return {"GET": self.show, "PUT": self.update}.get(method)
        if _PORTAL_CUSTOMER.match(route) and method == "GET":
            # A non-numeric id falls through to a customer-portal route on the same path.
            return lambda request: (422, {"message": "You are not authorized to view this customer"}, {})
        if _PORTAL_CUSTOMER.match(route) and method == "PUT":
            # The update route takes any id; a non-numeric one finds no customer (after validation).
            return self.update
        return None

    # -- GET -----------------------------------------------------------------------------------------

    def list(self, request: "_Request") -> Answer:
        query = request.query
        per_page = _int_in(query.get("per_page"), 1, 199, default=10)
        page = _int_in(query.get("page"), 1, None, default=1)
        descending = query.get("sort_type", "desc").lower() != "asc"
        total, rows = self.fake.store.search(
            query.get("search", ""),
            sort_by=query.get("sort_by", "id"),
            descending=descending,
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        items = [self.shape(row, labels=False) for row in rows]
        paginator = paginate(items, total=total, per_page=per_page, page=page, path=request.list_path)
        return 200, {"customers": paginator}, {"Allow": "GET, POST"}

    def show(self, request: "_Request") -> Answer:
        row = self.fake.store.get(_route_id(request))
        if row is None:
            return 404, ENTITY_NOT_FOUND, {}
        customer = self.shape(row)
        if request.query.get("params[customer_only]") == "yes":
            customer.pop("selected_labels")
        return 200, {"customer": customer}, {}

    # -- writes --------------------------------------------------------------------------------------

    def create(self, request: "_Request") -> Answer:
        fake = self.fake
        race = fake.faults.race_window
        # Without a race window the duplicate check and the insert are atomic; with one they are not,
        # which is how FluentCart (SELECT, then INSERT, no unique index) stores two rows for one email.
        guard = contextlib.nullcontext() if race else fake.store.lock
        with guard:
            refusal, values = self._read_fields(request)
            if refusal is not None:
                return refusal
            if fake.store.email_taken(values["email"]):
                # The exist rule skipped the row whose id the body carries; FluentCart's
                # firstOrCreate(email) then finds that very row and refuses.
                return _refusal(400, "Customer already exists.")
            if race:
                time.sleep(race)
            if values["email"].lower() == fake.user_email.lower():
                # A WordPress user with this email exists: FluentCart links it on its own.
                values["user_id"] = API_USER_ID
            row = fake.store.insert(values)
        data = shapes.created_customer(values, row, fake.site_url)
        return 200, {"message": "Customer created successfully!", "data": data}, {}

    def _read_fields(self, request: "_Request") -> tuple[Answer | None, dict[str, Any]]:
        """The body's customer fields, or the answer refusing them: 422 with FluentCart's
        `{field: {rule: message}}`, or the 500 its validator crashes into on wrong JSON types."""
        try:
            errors, values = read_customer(
                request.payload, name_mode=self.fake.name_mode, email_taken=self.fake.store.email_taken
            )
        except PluginException:
            return (500, PLUGIN_EXCEPTION, {}), {}
        if errors:
            return (422, errors, {}), {}
        return None, values

    def update(self, request: "_Request") -> Answer:
        fake = self.fake
        customer_id = _route_id(request)
        with fake.store.lock:
            refusal, values = self._read_fields(request)
            if refusal is not None:
                return refusal
            current = fake.store.get(customer_id)
            if current is None:
                return _refusal(400, "Customer not found, please reload the page and try again!")
            if current["user_id"]:
                # A customer linked to a WordPress user keeps its email; the body's email is ignored,
                # and that user is updated first: if WordPress has no such user, nothing is saved.
                values["email"] = current["email"]
                if current["user_id"] not in fake.wordpress_user_ids:
                    return _refusal(423, "Failed to update user.")
            row = fake.store.replace(customer_id, values)
        assert row is not None
        data = self.shape(row, labels=False)
        return 200, {"message": "Customer updated successfully!", "data": data}, {}

    def bulk_action(self, request: "_Request") -> Answer:
        payload = request.payload
        raw_ids = payload.get("customer_ids", [])
        if not isinstance(raw_ids, (list, dict)):
            # FluentCart maps over customer_ids with array_map(): anything but an array is a TypeError.
            return 500, PLUGIN_EXCEPTION, {}
        values = raw_ids.values() if isinstance(raw_ids, dict) else raw_ids
        ids = [number for number in (php_intval(value) for value in values) if number]
        if not ids:
            return _refusal(403, "Customers selection is required")
        action = _as_text_or_none(payload.get("action"))
        if action == "delete_customers":
            # FluentCart deletes what it found and refuses when it found nothing at all.
            if not self.fake.store.delete(ids):
                return _refusal(400, "Customer update failed.")
            return 200, {"message": "Selected Customers has been deleted permanently", "data": ""}, {}
        if action == "change_customer_status":
            status = _as_text_or_none(payload.get("new_status"))
            if not status:
                return _refusal(403, "Please select status")
            if status not in ("active", "inactive"):
                return _refusal(403, "Provided customer status is not valid")
            self.fake.store.set_status(ids, status)
            return 200, {"message": "Customer Status has been changed", "data": ""}, {}
        return _refusal(400, "Selected action is invalid")


def _as_text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_in(value: str | None, low: int, high: int | None, *, default: int) -> int:
    """`value` as an int when it is digits within [low, high], else `default` (FluentCart's leniency)."""
    if value is None or not value.strip().isdigit():
        return default
    number = int(value.strip())
    if number < low or (high is not None and number > high):
        return default
    return number
