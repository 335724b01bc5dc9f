"""Local versions of the checks FluentCart applies, so bad input is refused in Django with a clear
message instead of failing (or being silently cut) remotely."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext, gettext_lazy

#: Column sizes in FluentCart's fct_customers table; longer values are truncated without an error.
NAME_MAX_LENGTH = 192
EMAIL_MAX_LENGTH = 192
ADDRESS_PART_MAX_LENGTH = 45
#: FluentCart's maxLength:255 rule on names and the email counts UTF-8 bytes, not characters.
TEXT_MAX_BYTES = 255

_WHITESPACE_RUN = re.compile(r"\s+")
_PERCENT_OCTET = re.compile(r"%[0-9a-fA-F]{2}")
# What WordPress's sanitize_text_field() rewrites besides "<" and %XX: tabs, line breaks, runs of
# spaces, and the characters PHP's trim() removes at either end (NUL and vertical tab included).
_PHP_TRIM = " \t\n\r\0\x0b"
_LINE_BREAK_OR_RUN = re.compile(r"[\r\n\t]|  ")
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


def sanitizing_problem(value: str, *, less_than: str | None = None, spacing: bool = True) -> str | None:
    """Why WordPress's sanitize_text_field() would change `value` (a message), or None if it keeps it.

    The function strips tags (any "<" is a tag or becomes "&lt;"), folds tabs, line breaks and runs
    of spaces into one space, trims, and deletes percent-encoded octets; so these are exactly the
    values it leaves alone. `spacing=False` leaves whitespace to the caller, for fields that
    normalise_text() folds before they are validated (names, address parts).
    """
    if "<" in value:
        return gettext("Remove every “<” character: %(reason)s") % {
            "reason": less_than or gettext("FluentCart refuses text containing them.")
        }
    octet = _PERCENT_OCTET.search(value)
    if octet:
        return gettext(
            "Remove “%(octet)s”: FluentCart deletes %%XX sequences (a %% followed by two hexadecimal digits)."
        ) % {"octet": octet.group(0)}
    if "\0" in value:
        return gettext("Remove the NUL character: FluentCart drops it.")
    if spacing and (_LINE_BREAK_OR_RUN.search(value) or value.strip(_PHP_TRIM) != value):
        return gettext("Use single spaces: FluentCart turns line breaks, tabs and repeated spaces into one space.")
    return None


@deconstructible
class PlainTextValidator:
    """FluentCart's sanitizeText and maxLength:255 rules: refuses what WordPress's
    sanitize_text_field() would change, and text over 255 UTF-8 bytes."""

    code = "fluentcart_text"

    def __call__(self, value: str) -> None:
        if not value:
            return
        # Whitespace is folded by normalise_text() before saving, so only what it cannot fix is refused.
        problem = sanitizing_problem(value, spacing=False)
        if problem:
            raise ValidationError(problem, code=self.code)
        size = len(value.encode("utf-8"))
        if size > TEXT_MAX_BYTES:
            raise ValidationError(
                gettext_lazy(
                    "FluentCart accepts at most %(limit)d bytes here and this is %(size)d (letters outside"
                    " the Latin alphabet take 2 to 4 bytes each): shorten it."
                ),
                code="fluentcart_bytes",
                params={"limit": TEXT_MAX_BYTES, "size": size},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainTextValidator)


validate_plain_text = PlainTextValidator()


@deconstructible
class NotesValidator:
    """Notes are not refused by FluentCart but silently rewritten by sanitize_text_field(): refuse
    what it would rewrite, so what Django holds is what FluentCart holds."""

    code = "fluentcart_notes"

    def __call__(self, value: str) -> None:
        problem = (
            sanitizing_problem(value, less_than=gettext("FluentCart strips them, and HTML tags with them."))
            if value
            else None
        )
        if problem:
            raise ValidationError(problem, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NotesValidator)


validate_notes = NotesValidator()


@deconstructible
class WordPressEmailValidator:
    """WordPress's is_email(): stricter than Django's (ASCII only, a dotted domain, no IP literals)."""

    message = gettext_lazy(
        "Enter an email address WordPress accepts: ASCII letters, a domain with a dot (e.g. name@example.com)."
    )
    code = "fluentcart_email"

    def __call__(self, value: str) -> None:
        if not value or not _is_wordpress_email(value):
            raise ValidationError(self.message, code=self.code)
        octet = _PERCENT_OCTET.search(value)
        if octet:
            # WordPress's is_email() allows "%", but FluentCart's sanitizeText rule refuses "%41".
            raise ValidationError(
                gettext_lazy(
                    "Remove “%(octet)s”: FluentCart refuses an email containing a %% followed by two"
                    " hexadecimal digits."
                ),
                code=self.code,
                params={"octet": octet.group(0)},
            )

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
