"""Local versions of the checks FluentCart applies, so bad input is refused in Django with a clear
message instead of failing (or being silently cut) remotely."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

#: Column sizes in FluentCart's fct_customers table; longer values are truncated without an error.
NAME_MAX_LENGTH = 192
EMAIL_MAX_LENGTH = 192
ADDRESS_PART_MAX_LENGTH = 45

_WHITESPACE_RUN = re.compile(r"\s+")
_PERCENT_OCTET = re.compile(r"%[0-9a-fA-F]{2}")
# WordPress is_email(): the local part's allowed characters, and the domain labels' shape.
_EMAIL_LOCAL = re.compile(r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_EMAIL_LABEL = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")


def normalise_text(value: str | None) -> str:
    """Trim and fold every run of whitespace (tabs, newlines, double spaces) into one space.

    FluentCart rejects names with tabs, newlines or two spaces in a row, so they are fixed here
    rather than refused: nobody means anything by them.
    """
    if not value:
        return ""
    return _WHITESPACE_RUN.sub(" ", str(value)).strip()


def split_full_name(full_name: str) -> tuple[str, str]:
    """Split on the last space, as FluentCart's full-name mode does: "Jean Luc Picard" → ("Jean Luc", "Picard")."""
    full_name = normalise_text(full_name)
    if " " not in full_name:
        return full_name, ""
    first, last = full_name.rsplit(" ", 1)
    return first, last


@deconstructible
class PlainTextValidator:
    """Refuses what WordPress's sanitize_text_field() would change (FluentCart's sanitizeText rule)."""

    message = "Remove the “<” character and any %XX sequence: FluentCart refuses text containing them."
    code = "fluentcart_text"

    def __call__(self, value: str) -> None:
        if value and ("<" in value or _PERCENT_OCTET.search(value)):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainTextValidator)


validate_plain_text = PlainTextValidator()


@deconstructible
class WordPressEmailValidator:
    """WordPress's is_email(): stricter than Django's (ASCII only, a dotted domain, no IP literals)."""

    message = "Enter an email address WordPress accepts: ASCII letters, a domain with a dot (e.g. name@example.com)."
    code = "fluentcart_email"

    def __call__(self, value: str) -> None:
        if not value or not _is_wordpress_email(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordPressEmailValidator)


validate_wordpress_email = WordPressEmailValidator()


def _is_wordpress_email(email: str) -> bool:
    if len(email) < 6 or email.count("@") != 1 or email != email.strip():
        return False
    local, domain = email.split("@")
    if not local or not _EMAIL_LOCAL.match(local):
        return False
    if ".." in domain or domain.startswith(".") or domain.endswith("."):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(_EMAIL_LABEL.match(label) for label in labels)
