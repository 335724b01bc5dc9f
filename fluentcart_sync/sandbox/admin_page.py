"""The fake's stand-in for FluentCart's customer screen in wp-admin, so the admin's "open in FluentCart"
links lead somewhere in the demo: a read-only table of the stored customers.

The real screen is a single-page app at ``/wp-admin/admin.php?page=fluent-cart#/customers/<id>``; the
fragment never reaches the server, so each row carries ``id="/customers/<id>"`` and the browser scrolls
to (and the stylesheet highlights) the customer the link names.
"""

from __future__ import annotations

from html import escape
from typing import Any

ADMIN_PATH = "/wp-admin/admin.php"
ADMIN_PAGE = "fluent-cart"

_COLUMNS = ("id", "email", "full_name", "status", "country", "city", "purchase_count", "ltv", "updated_at")


def is_admin_page(path: str, query: dict[str, str]) -> bool:
    return path.rstrip("/").endswith(ADMIN_PATH) and query.get("page") == ADMIN_PAGE


def customers_page(customers: list[dict[str, Any]]) -> bytes:
    """The HTML page: every customer, newest first, as FluentCart's list shows them."""
    header = "".join(f"<th>{escape(name)}</th>" for name in _COLUMNS)
    rows = "".join(
        f'<tr id="/customers/{int(customer["id"])}">'
        + "".join(f"<td>{escape(str(customer.get(name) or ''))}</td>" for name in _COLUMNS)
        + "</tr>"
        for customer in sorted(customers, key=lambda c: -int(c["id"]))
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Customers ‹ FluentCart (fake)</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}tr:target{background:#fff4d6}</style>"
        "</head><body><h1>FluentCart customers</h1>"
        "<p>The demo's fake FluentCart: what it stores, read-only. The customer you opened is highlighted.</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></body></html>"
    ).encode()
