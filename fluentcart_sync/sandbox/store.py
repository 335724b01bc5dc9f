"""The fake FluentCart's customer table, kept in SQLite.

SQLite stands in for FluentCart's MySQL table `fct_customers`: a file keeps the state across a restart
or a SIGKILL (every statement commits on its own), `None` keeps it in memory. Like MySQL it truncates
over-long values to the column widths instead of refusing them, and like the MySQL table it has only a
non-unique index on the email, so duplicate rows are possible when two creates race.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
import unicodedata
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Iterable

# Column widths of fct_customers that silently cut values (varchar(192) / varchar(45)).
WIDTHS = {
    "email": 192,
    "first_name": 192,
    "last_name": 192,
    "status": 45,
    "country": 45,
    "city": 45,
    "state": 45,
    "postcode": 45,
}

# Every stored column but `id`, in the table's order (which is also the GET key order).
COLUMNS = (
    "user_id",
    "contact_id",
    "email",
    "first_name",
    "last_name",
    "status",
    "purchase_value",
    "purchase_count",
    "ltv",
    "first_purchase_date",
    "last_purchase_date",
    "aov",
    "notes",
    "uuid",
    "country",
    "city",
    "state",
    "postcode",
    "created_at",
    "updated_at",
)

# The columns a PUT overwrites; everything else (uuid, stats, created_at) survives an update.
REPLACED_COLUMNS = (
    "user_id",
    "email",
    "first_name",
    "last_name",
    "status",
    "aov",
    "notes",
    "country",
    "city",
    "state",
    "postcode",
)

# FluentCart sorts only by fillable columns; anything else (id, created_at, junk) means id.
SORTABLE = frozenset(COLUMNS) - {"created_at", "updated_at"}
_TEXT_SORT = frozenset(SORTABLE) - {"user_id", "contact_id", "purchase_count", "ltv"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER,
    contact_id INTEGER NOT NULL DEFAULT 0,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    status TEXT,
    purchase_value TEXT NOT NULL DEFAULT '[]',
    purchase_count INTEGER NOT NULL DEFAULT 0,
    ltv INTEGER NOT NULL DEFAULT 0,
    first_purchase_date TEXT,
    last_purchase_date TEXT,
    aov TEXT,
    notes TEXT NOT NULL DEFAULT '',
    uuid TEXT NOT NULL,
    country TEXT,
    city TEXT,
    state TEXT,
    postcode TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- FluentCart searches CONCAT(first_name, ' ', last_name); storing it keeps a 100k-row scan cheap.
    search_name TEXT GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED
);
CREATE INDEX IF NOT EXISTS customers_email_ci ON customers (lower(email));
"""

_SELECT = "SELECT id, " + ", ".join(COLUMNS) + " FROM customers"
_ID_FILTER = re.compile(r"^id(!=|=|>|<|::)(.*)$")
# PHP's is_numeric, close enough: optional sign, digits with an optional fraction, optional exponent.
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def now_iso() -> str:
    """The current UTC time the way FluentCart prints it: 2026-11-26T21:10:28+00:00."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _id(number: int) -> int:
    """An id SQLite can bind: clamped to 64 bits, where no stored id is (MySQL answers "not found" too)."""
    return min(max(number, -(2**63)), 2**63 - 1)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cut(column: str, value: Any) -> Any:
    if column == "aov":
        return money(value)
    width = WIDTHS.get(column)
    if width is not None and isinstance(value, str) and len(value) > width:
        return value[:width]
    return value


def money(value: Any) -> str | None:
    """``aov`` as its decimal(…, 2) column stores it: "12" is "12.00". WordPress runs MySQL without
    strict mode, so text that is not a number is stored as 0.00 instead of refused."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return "0.00"
    if not amount.is_finite():
        return "0.00"
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def fold(value: Any) -> str | None:
    """Text as MariaDB's utf8mb4_unicode_520_ci compares it: case and accents ignored ("Ångström"
    matches "angstrom"), and ß as ss."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", str(value))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


class CustomerStore:
    """Thread-safe customer rows. Rows are plain dicts with `id` plus COLUMNS (database types)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        if self.path:
            folder = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(folder, exist_ok=True)
        # One connection behind one lock: SQLite serialises writers anyway and a single connection
        # is what makes ":memory:" shared between the server's threads.
        self.lock = threading.RLock()
        self._db = sqlite3.connect(self.path or ":memory:", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.create_function("fold", 1, fold, deterministic=True)
        if self.path:
            # WAL + NORMAL survives a killed process (not a power cut) and keeps writes cheap.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # -- reading -----------------------------------------------------------------------------------

    def get(self, customer_id: int) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute(_SELECT + " WHERE id = ?", (_id(customer_id),)).fetchone()
        return dict(row) if row else None

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = self._db.execute(_SELECT + " ORDER BY id").fetchall()
        return [dict(row) for row in rows]

    def count(self) -> int:
        with self.lock:
            return self._db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]

    def email_taken(self, email: str, exclude_id: int | None = None) -> bool:
        """True when another row has this email, compared case-insensitively (the exist rule)."""
        sql = "SELECT 1 FROM customers WHERE lower(email) = lower(?)"
        params: list[Any] = [email]
        if exclude_id is not None:
            sql += " AND id != ?"
            params.append(_id(exclude_id))
        with self.lock:
            return self._db.execute(sql + " LIMIT 1", params).fetchone() is not None

    def duplicate_emails(self) -> int:
        """How many emails are held by more than one row (the outcome of a lost create race)."""
        with self.lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM customers GROUP BY lower(email) HAVING COUNT(*) > 1)"
            ).fetchone()[0]

    def search(
        self,
        term: str = "",
        *,
        sort_by: str = "id",
        descending: bool = True,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total matches, the rows of one page) with FluentCart's search semantics (contract §4.2)."""
        where, params = _search_clause(term.strip())
        column = sort_by if sort_by in SORTABLE else "id"
        direction = "DESC" if descending else "ASC"
        collate = " COLLATE NOCASE" if column in _TEXT_SORT else ""
        order = f"{column}{collate} {direction}"
        if column != "id":
            order += f", id {direction}"
        with self.lock:
            if not where or where.startswith(" WHERE id"):
                # Counting by the primary key is cheap; fetch the page on its own.
                total = self._db.execute(f"SELECT COUNT(*) FROM customers{where}", params).fetchone()[0]
                if offset >= total:
                    return total, []
                sql = f"{_SELECT}{where} ORDER BY {order} LIMIT ? OFFSET ?"
                rows = [dict(row) for row in self._db.execute(sql, [*params, limit, offset])]
                return total, rows
            # A text search is a full LIKE scan: do it once, with the total riding along as a window
            # count. Only a page past the end needs a second query for the total.
            sql = (
                f"SELECT id, {', '.join(COLUMNS)}, COUNT(*) OVER () AS total_matches FROM customers"
                f"{where} ORDER BY {order} LIMIT ? OFFSET ?"
            )
            rows = [dict(row) for row in self._db.execute(sql, [*params, limit, offset])]
            if rows:
                total = rows[0]["total_matches"]
            elif offset == 0:
                total = 0
            else:
                total = self._db.execute(f"SELECT COUNT(*) FROM customers{where}", params).fetchone()[0]
        for row in rows:
            del row["total_matches"]
        return total, rows

    # -- writing -----------------------------------------------------------------------------------

    def insert(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new row from `fields` (unknown keys ignored), cutting values to the column widths."""
        stamp = now_iso()
        values: dict[str, Any] = {
            "user_id": None,
            "contact_id": 0,
            "status": None,
            "purchase_value": "[]",
            "purchase_count": 0,
            "ltv": 0,
            "aov": None,
            "notes": "",
            "uuid": secrets.token_hex(16),
            "created_at": stamp,
            "updated_at": stamp,
        }
        values.update({key: value for key, value in fields.items() if key in COLUMNS})
        if isinstance(values.get("purchase_value"), (list, dict)):
            values["purchase_value"] = json.dumps(values["purchase_value"])
        if values.get("notes") is None:
            values["notes"] = ""
        values = {key: _cut(key, value) for key, value in values.items()}
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.lock:
            cursor = self._db.execute(f"INSERT INTO customers ({names}) VALUES ({marks})", list(values.values()))
            assert cursor.lastrowid is not None
            row = self.get(cursor.lastrowid)
        assert row is not None
        return row

    def replace(self, customer_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Overwrite every REPLACED_COLUMNS value (missing ones become NULL, notes ""); None if absent."""
        values = {column: _cut(column, fields.get(column)) for column in REPLACED_COLUMNS}
        if values["notes"] is None:
            values["notes"] = ""
        if values["email"] is None:
            values.pop("email")
        with self.lock:
            current = self.get(customer_id)
            if current is None:
                return None
            if _dirty(current, values):  # like Eloquent, `updated_at` moves only when the row changes
                values["updated_at"] = now_iso()
            assignments = ", ".join(f"{column} = ?" for column in values)
            self._db.execute(f"UPDATE customers SET {assignments} WHERE id = ?", [*values.values(), _id(customer_id)])
            return self.get(customer_id)

    def edit(self, customer_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Change some columns, as FluentCart's own admin or a checkout would (a test's stand-in for
        an edit made in WordPress); ``updated_at`` moves if anything changed. None if absent."""
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise KeyError(f"not a customer column: {', '.join(sorted(unknown))}")
        with self.lock:
            current = self.get(customer_id)
            if current is None:
                return None
            values = {column: _cut(column, value) for column, value in fields.items()}
            if _dirty(current, values):
                values["updated_at"] = now_iso()
            if values:
                assignments = ", ".join(f"{column} = ?" for column in values)
                self._db.execute(
                    f"UPDATE customers SET {assignments} WHERE id = ?", [*values.values(), _id(customer_id)]
                )
            return self.get(customer_id)

    def set_status(self, ids: Iterable[int], status: str) -> int:
        ids = [_id(number) for number in ids]
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        with self.lock:
            return self._db.execute(
                f"UPDATE customers SET status = ?, updated_at = ? WHERE id IN ({marks})",
                [status, now_iso(), *ids],
            ).rowcount

    def delete(self, ids: Iterable[int]) -> int:
        ids = [_id(number) for number in ids]
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        with self.lock:
            return self._db.execute(f"DELETE FROM customers WHERE id IN ({marks})", ids).rowcount

    def reset(self) -> None:
        """Forget every customer and restart ids at 1."""
        with self.lock:
            self._db.execute("DELETE FROM customers")
            self._db.execute("DELETE FROM sqlite_sequence WHERE name = 'customers'")

    def close(self) -> None:
        with self.lock:
            self._db.close()


def _dirty(current: dict[str, Any], values: dict[str, Any]) -> bool:
    def loose(value: Any) -> str | None:
        return None if value is None else str(value)

    return any(loose(current.get(column)) != loose(value) for column, value in values.items())


def _search_clause(term: str) -> tuple[str, list[Any]]:
    """The WHERE clause for a trimmed search term, and its parameters."""
    if not term:
        return "", []
    match = _ID_FILTER.match(term)
    if match:
        return _id_filter(match.group(1), match.group(2).strip())
    # The name part escapes LIKE wildcards; the email part does not, which is FluentCart's
    # `_`-matches-anything quirk. Both sides are folded as MariaDB's collation compares: case and
    # accents ignored (a search for "Angstrom" finds "Ångström").
    folded = fold(term) or ""
    parts = ["fold(search_name) LIKE ? ESCAPE '\\'"]
    params: list[Any] = [f"%{_escape_like(folded)}%"]
    if _NUMERIC.match(term):
        parts.append("CAST(id AS TEXT) LIKE ?")
        params.append(f"%{term}%")
    if " " not in term:
        parts.append("fold(email) LIKE ?")
        params.append(f"%{folded}%")
    return " WHERE " + " OR ".join(parts), params


def _id_filter(operator: str, value: str) -> tuple[str, list[Any]]:
    nothing: tuple[str, list[Any]] = (" WHERE 0", [])
    if operator == "::":
        low, _, high = value.partition("-")
        if not (low.strip().isdigit() and high.strip().isdigit()):
            return nothing
        return " WHERE id BETWEEN ? AND ?", [_id(int(low)), _id(int(high))]
    if not value.isdigit():
        return nothing
    sql_operator = {"=": "=", "!=": "!=", ">": ">", "<": "<"}[operator]
    return f" WHERE id {sql_operator} ?", [_id(int(value))]
