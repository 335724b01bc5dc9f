"""FluentCart's customer validation and text sanitising, as the contract (§6) describes them.

WordPress helpers are re-implemented from their documented behaviour (`is_email`,
`sanitize_text_field`), not copied: close enough for every case the contract lists.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

PHP_TRIM = " \t\n\r\0\x0b"
FULL_NAME_MODE = "full_name"
FIRST_LAST_MODE = "first_last"

# Fields FluentCart sanitises without a rule, and what a missing one is stored as.
SILENT_FIELDS = ("status", "aov", "notes", "country", "state", "postcode")


class PluginException(Exception):
    """A request that would crash FluentCart's PHP (wrong JSON types): answered with a 500."""


_LOCAL_PART = re.compile(r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL = re.compile(r"^[a-z0-9-]+$", re.IGNORECASE)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)[^>]*?>.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*(>|$)")
_LONE_LESS_THAN = re.compile(r"<[^>]*?((?=<)|>|$)")
_OCTET = re.compile(r"%[a-f0-9]{2}", re.IGNORECASE)
_SPACES = re.compile(r"[\r\n\t ]+")
_DIGITS = re.compile(r"^[0-9]+$")
# What PHP's intval() reads from a string: optional whitespace and sign, then ASCII digits.
_LEADING_INT = re.compile(r"^[ \t\n\r\v\f]*[+-]?[0-9]+")


def is_email(value: str) -> bool:
    """WordPress's is_email(): ASCII local part, dotted domain of letter/digit/hyphen labels."""
    if len(value.encode("utf-8")) < 6 or "@" not in value[1:]:
        return False
    local, domain = value.split("@", 1)
    if not _LOCAL_PART.match(local) or ".." in domain:
        return False
    if domain.strip(PHP_TRIM + ".") != domain:
        return False
    labels = domain.split(".")
    if len(labels) < 2:
        return False
    return all(label.strip(PHP_TRIM + "-") == label and _LABEL.match(label) for label in labels)


def sanitize_text_field(value: str) -> str:
    """WordPress's sanitize_text_field(): no tags, no line breaks, single spaces, no %XX, trimmed."""
    text = value
    if "<" in text:
        # A "<" that does not open a tag becomes an entity rather than eating the rest of the text.
        text = _LONE_LESS_THAN.sub(lambda m: m.group(0) if ">" in m.group(0) else m.group(0).replace("<", "&lt;"), text)
        text = _SCRIPT_OR_STYLE.sub("", text)
        text = _TAG.sub("", text).strip(PHP_TRIM)
        text = text.replace("<\n", "&lt;\n")
    text = _SPACES.sub(" ", text).strip(PHP_TRIM)
    if _OCTET.search(text):
        while _OCTET.search(text):
            text = _OCTET.sub("", text)
        text = re.sub(" +", " ", text).strip(PHP_TRIM)
    return text


def is_clean_text(value: str) -> bool:
    """FluentCart's sanitizeText rule: the trimmed value must survive sanitize_text_field unchanged."""
    trimmed = value.strip(PHP_TRIM)
    return sanitize_text_field(trimmed) == trimmed


def _as_text(field: str, value: Any) -> str | None:
    """PHP's view of a JSON value as text: scalars become strings, arrays crash FluentCart (trim())."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        raise PluginException(field)
    return php_string(value)


def php_string(value: bool | int | float) -> str:
    """PHP's (string) cast: true "1", false "", 0 "0", 1e20 "1.0E+20", INF "INF"."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    text = "%.14G" % value
    mantissa, e, exponent = text.partition("E")
    if e and "." not in mantissa:
        mantissa += ".0"
    return mantissa + (f"E{exponent}" if e else "")


def php_intval(value: Any) -> int:
    """PHP's intval() of a decoded JSON value: leading digits of a string, 0 when there are none."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # Infinite or out-of-range floats become 0 on 64-bit PHP 8.
        return int(value) if math.isfinite(value) and abs(value) < 2**63 else 0
    if isinstance(value, str):
        match = _LEADING_INT.match(value)
        if not match:
            return 0
        number = int(match.group(0))
        return number if -(2**63) <= number < 2**63 else 0
    if isinstance(value, (list, dict)):
        return 1 if value else 0
    return 0


class _Rules:
    """Collects {field: {rule: message}} in the order FluentCart reports them."""

    def __init__(self) -> None:
        self.errors: dict[str, dict[str, str]] = {}

    def fail(self, field: str, rule: str, message: str) -> None:
        self.errors.setdefault(field, {})[rule] = message

    def text(self, payload: Mapping[str, Any], field: str, label: str | None, *, max_length: bool = True) -> None:
        """required (when `label` is given), sanitizeText and maxLength:255 (unless told not) on one text field."""
        if field not in payload:
            if label:
                self.fail(field, "required", f"{label} is required.")
            return
        value = payload[field]
        if value is None or not value.strip(PHP_TRIM):
            if label:
                self.fail(field, "required", f"{label} is required.")
            if value is None:
                return
        if not is_clean_text(value):
            self.fail(field, "sanitizeText", f"The {field} must be a valid text")
        if max_length and len(value.strip(PHP_TRIM).encode("utf-8")) > 255:
            self.fail(field, "maxLength", f"The {field} must not be greater than 255 characters.")


def read_customer(
    payload: Mapping[str, Any],
    *,
    name_mode: str,
    email_taken: Callable[[str, int | None], bool],
) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """Validate a POST/PUT body: (422 errors or {}, the sanitised but untruncated values to store).

    Raises PluginException for JSON types that make FluentCart's PHP crash.
    """
    text_fields = ("full_name", "first_name", "last_name", "city", "email")
    data = {key: _as_text(key, payload[key]) for key in text_fields if key in payload}
    for key in SILENT_FIELDS:
        if key in payload:
            data[key] = _as_text(key, payload[key])
    if "notes" in payload and payload["notes"] is None:
        # FluentCart's notes sanitiser does not take null: the request dies with a PHP TypeError.
        raise PluginException("notes")

    rules = _Rules()
    if name_mode == FIRST_LAST_MODE:
        rules.text(data, "first_name", "First Name")
        if data.get("last_name") is not None:
            rules.text(data, "last_name", None)
    else:
        rules.text(data, "full_name", "Full Name")
    if data.get("city") is not None:
        # city has sanitizeText but no maxLength rule: a long one is stored cut to 45.
        rules.text(data, "city", None, max_length=False)

    exclude_id = _int_or_none(payload.get("id"))
    if "email" not in data:
        rules.fail("email", "required", "Email is required.")
    else:
        email = data["email"]
        if email is None or not email.strip(PHP_TRIM):
            rules.fail("email", "required", "Email is required.")
        if email is not None and not is_clean_text(email):
            rules.fail("email", "sanitizeText", "The email must be a valid text")
        if email is None or not is_email(email):
            rules.fail("email", "email", "Email must be a valid email address.")
        if email is not None and len(email.strip(PHP_TRIM).encode("utf-8")) > 255:
            rules.fail("email", "maxLength", "The email must not be greater than 255 characters.")
        if email and email.strip(PHP_TRIM) and email_taken(email.strip(PHP_TRIM), exclude_id):
            rules.fail("email", "exist", "Email already exists.")
    if rules.errors:
        return rules.errors, {}
    return {}, _values(payload, data, name_mode)


def _values(payload: Mapping[str, Any], data: dict[str, Any], name_mode: str) -> dict[str, Any]:
    if name_mode == FIRST_LAST_MODE:
        first = data["first_name"].strip(PHP_TRIM)
        last = (data.get("last_name") or "").strip(PHP_TRIM)
    else:
        # Split on the last space: "Jean Luc Picard" is "Jean Luc" + "Picard".
        first, _, last = data["full_name"].strip(PHP_TRIM).rpartition(" ")
        if not first:
            first, last = last, ""
    values: dict[str, Any] = {
        "email": data["email"].strip(PHP_TRIM),
        "user_id": None if payload.get("user_id") is None else php_intval(payload["user_id"]),
        "first_name": first,
        "last_name": last,
        "city": None if data.get("city") is None else data["city"].strip(PHP_TRIM),
    }
    for key in SILENT_FIELDS:
        value = data.get(key)
        values[key] = None if value is None else sanitize_text_field(value)
    if values["notes"] is None:
        values["notes"] = ""
    return values


def _int_or_none(value: Any) -> int | None:
    """The body's `id` as the exist rule uses it: a whole number, else None (nothing excluded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        return int(value.strip())
    return None
