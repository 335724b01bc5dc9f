"""The Laravel-style length-aware paginator FluentCart wraps list answers in (contract §4.3)."""

from __future__ import annotations

import math
from typing import Any

ON_EACH_SIDE = 3


def paginate(items: list[Any], *, total: int, per_page: int, page: int, path: str) -> dict[str, Any]:
    """The paginator object, keys in FluentCart's order. Page URLs are `<path>/?page=N`, nothing else."""
    last_page = max(1, math.ceil(total / per_page))

    def url(number: int) -> str:
        return f"{path}/?page={number}"

    first_item = (page - 1) * per_page + 1 if items else None
    return {
        "current_page": page,
        "data": items,
        "first_page_url": url(1),
        "from": first_item,
        "last_page": last_page,
        "last_page_url": url(last_page),
        "links": _links(page, last_page, url),
        "next_page_url": url(page + 1) if last_page > page else None,
        "path": path,
        "per_page": per_page,
        "prev_page_url": url(page - 1) if page > 1 else None,
        "to": first_item + len(items) - 1 if first_item is not None else None,
        "total": total,
    }


def _links(page: int, last_page: int, url) -> list[dict[str, Any]]:
    def entries(pages: range) -> list[dict[str, Any]]:
        return [{"url": url(n), "label": str(n), "active": n == page} for n in pages]

    gap = [{"url": None, "label": "...", "active": False}]
    window = ON_EACH_SIDE + 4
    start, finish = range(1, 3), range(last_page - 1, last_page + 1)
    if last_page < ON_EACH_SIDE * 2 + 8:
        middle = entries(range(1, last_page + 1))
    elif page <= window:
        middle = entries(range(1, window + ON_EACH_SIDE + 1)) + gap + entries(finish)
    elif page > last_page - window:
        tail = range(last_page - (window + ON_EACH_SIDE - 1), last_page + 1)
        middle = entries(start) + gap + entries(tail)
    else:
        around = range(page - ON_EACH_SIDE, page + ON_EACH_SIDE + 1)
        middle = entries(start) + gap + entries(around) + gap + entries(finish)
    previous = {"url": url(page - 1) if page > 1 else None, "label": "pagination.previous", "active": False}
    following = {
        "url": url(page + 1) if last_page > page else None,
        "label": "pagination.next",
        "active": False,
    }
    return [previous, *middle, following]
