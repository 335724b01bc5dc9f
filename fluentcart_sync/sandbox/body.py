"""What WordPress and FluentCart's framework make of a request body.

Two readers look at the body of a real request, and the fake follows both:

- WordPress parses it as JSON only when the Content-Type is a JSON media type, and answers
  400 ``rest_invalid_json`` (with PHP's ``json_last_error()`` code) before anything else runs.
- FluentCart's framework (WPFluent's ``Request``) then json_decodes the raw body whatever the
  Content-Type says, keeps it when it decodes cleanly, and otherwise falls back to the form
  fields PHP parsed; a ``text/plain`` body that is not valid JSON is simply not read.

The JSON decoder mirrors PHP's ``json_decode``: no NaN/Infinity, strict UTF-8, no lone UTF-16
surrogates, a nesting limit of 512, and integers beyond 64 bits turned into floats.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

# PHP's json_last_error() codes and json_last_error_msg() texts that WordPress puts in its 400.
JSON_ERROR_DEPTH = (1, "Maximum stack depth exceeded")
JSON_ERROR_CTRL_CHAR = (3, "Control character error, possibly incorrectly encoded")
JSON_ERROR_SYNTAX = (4, "Syntax error")
JSON_ERROR_UTF8 = (5, "Malformed UTF-8 characters, possibly incorrectly encoded")
JSON_ERROR_UTF16 = (10, "Single unpaired UTF-16 surrogate in unicode escape")

PHP_JSON_DEPTH = 512
_INT64 = (-(2**63), 2**63 - 1)
# wp_is_json_media_type(): application/json, application/*+json, with parameters after ";".
_JSON_MEDIA_TYPE = re.compile(r"(^|\s|,)application/([\w!#$&\-^.+]+\+)?json(\+oembed)?($|\s|;|,)", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONError(Exception):
    """PHP's json_decode failed: `code` and `message` as json_last_error() / _msg() report them."""

    def __init__(self, error: tuple[int, str]) -> None:
        super().__init__(error[1])
        self.code, self.message = error


def is_json_media_type(content_type: str) -> bool:
    return bool(_JSON_MEDIA_TYPE.search(content_type))


def read_body(content_type: str, body: bytes) -> tuple[dict[str, Any], JSONError | None]:
    """(the fields FluentCart sees, WordPress's JSON error or None) for one request body."""
    # WordPress skips an empty body (PHP's empty(): "" and "0"); FluentCart then sees no fields.
    if body in (b"", b"0"):
        return {}, None
    if is_json_media_type(content_type):
        try:
            return _fields(php_json_decode(body)), None
        except JSONError as error:
            return {}, error
    try:
        decoded = php_json_decode(body)
    except JSONError:
        decoded = None
    else:
        return _fields(decoded), None
    if "application/x-www-form-urlencoded" in content_type.lower():
        return php_form(body.decode("utf-8", "replace")), None
    return {}, None


def _fields(decoded: Any) -> dict[str, Any]:
    # A JSON list or scalar has no named fields for FluentCart to read.
    return decoded if isinstance(decoded, dict) else {}


def php_json_decode(body: bytes) -> Any:
    """Decode like PHP's json_decode($body, true); raises JSONError with PHP's code."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise JSONError(JSON_ERROR_UTF8) from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_php_int)
    except RecursionError:
        raise JSONError(JSON_ERROR_DEPTH) from None
    except ValueError as err:
        if "control character" in str(err).lower():
            raise JSONError(JSON_ERROR_CTRL_CHAR) from None
        raise JSONError(JSON_ERROR_SYNTAX) from None
    problem = _too_deep_or_surrogate(value)
    if problem == "surrogate":
        raise JSONError(JSON_ERROR_UTF16)
    if problem == "deep":
        raise JSONError(JSON_ERROR_DEPTH)
    return value


def _no_constant(name: str) -> Any:
    # PHP's JSON has no NaN, Infinity or -Infinity: a syntax error.
    raise ValueError(name)


def _php_int(digits: str) -> int | float:
    # PHP decodes an integer that does not fit 64 bits as a float (1e999 as INF already).
    if len(digits.lstrip("-")) <= 19:
        number = int(digits)
        if _INT64[0] <= number <= _INT64[1]:
            return number
    return float(digits)


def _too_deep_or_surrogate(value: Any) -> str | None:
    """ "surrogate" for a lone UTF-16 surrogate anywhere, "deep" past PHP's nesting limit, else None."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    deep = False
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "surrogate"
        elif isinstance(item, (list, dict)):
            if depth + 1 > PHP_JSON_DEPTH:
                deep = True
            children = list(item.items()) if isinstance(item, dict) else [(None, child) for child in item]
            for key, child in children:
                if isinstance(key, str) and _SURROGATE.search(key):
                    return "surrogate"
                stack.append((child, depth + 1))
    return "deep" if deep else None


def php_form(text: str) -> dict[str, Any]:
    """PHP's view of a form body: `key[]=a&key[]=b` is a list, otherwise the last value wins."""
    parsed: dict[str, Any] = {}
    for key, values in parse_qs(text, keep_blank_values=True).items():
        if key.endswith("[]"):
            parsed[key[:-2]] = values
        else:
            parsed[key] = values[-1]
    return parsed
