"""The forms staff and visitors fill in: every limit FluentCart imposes is said in the help text and
refused with an error on the field that causes it, never cut silently by the browser.

The model stays permissive for host code (a value FluentCart refuses ends as a ``failed`` row with
FluentCart's message); these forms refuse it before anything is saved.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.http import QueryDict
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy

from .edit_guard import StaleEditGuardForm
from .models import PUSHED_MODEL_FIELDS, Customer
from .validation import (
    ADDRESS_PART_MAX_LENGTH,
    NAME_MAX_LENGTH,
    TEXT_MAX_BYTES,
    normalise_text,
)


def name_help() -> str:
    return gettext(
        "At most %(chars)d characters and %(bytes)d bytes (letters outside the Latin alphabet take 2 to 4"
        " bytes each); no “<”."
    ) % {"chars": NAME_MAX_LENGTH, "bytes": TEXT_MAX_BYTES}


def address_help() -> str:
    return gettext("At most %(chars)d characters; no “<”.") % {"chars": ADDRESS_PART_MAX_LENGTH}


def remove_browser_limit(field: forms.Field) -> None:
    """No ``maxlength`` attribute: the browser would cut a pasted value without a word; the limit is
    in the help text and an over-long value gets an error instead."""
    field.widget.attrs.pop("maxlength", None)


class FirstErrorCharField(forms.CharField):
    """A text field that reports only its first failed limit: a 297-character name is one problem
    (too long), not also "too many bytes"."""

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs

    def run_validators(self, value) -> None:
        if value in self.empty_values:
            return
        # The character limit first: a person counts characters, not bytes.
        ordered = sorted(self.validators, key=lambda validator: not isinstance(validator, MaxLengthValidator))
        for validator in ordered:
            validator(value)  # the first error ends the check


def fold_line_breaks(text: str) -> str:
    """Notes as FluentCart stores them: sanitize_text_field() turns line breaks, tabs and runs of
    spaces into one space and trims."""
    return normalise_text(text)


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166 codes with their names in the active language, sorted by name (django-countries)."""
    from django_countries import countries

    return [("", "---------"), *((country.code, country.name) for country in countries)]


class CustomerAdminForm(StaleEditGuardForm):
    """The admin's customer form: what it saves is what FluentCart accepts and stores as it is, and
    only what the person changed (``edit_guard.py``)."""

    country = forms.ChoiceField(
        label=capfirst(Customer._meta.get_field("country").verbose_name),
        choices=country_choices,
        required=False,
        help_text=gettext_lazy("FluentCart stores the two-letter code and shows the country's name."),
    )

    class Meta:
        model = Customer
        fields = [*PUSHED_MODEL_FIELDS, "user"]
        field_classes = dict.fromkeys(
            ("full_name", "first_name", "last_name", "city", "state", "postcode"), FirstErrorCharField
        )
        widgets = {"notes": AdminTextareaWidget(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            remove_browser_limit(field)
        # Built here, in the language of the request.
        help_texts = {
            "full_name": gettext("Needed by FluentCart; left blank, it is made from the first and last name.")
            + " "
            + name_help(),
            "first_name": name_help(),
            "last_name": name_help(),
            "city": address_help(),
            "state": address_help(),
            "postcode": address_help(),
            "notes": gettext(
                "Plain text on one line: FluentCart turns line breaks into spaces (you see the result before it"
                " is saved) and strips HTML tags."
            ),
        }
        for name, help_text in help_texts.items():
            if name in self.fields:  # a user with the view permission only gets no fields
                self.fields[name].help_text = help_text
        current = (self.instance.country or "") if self.instance.pk else ""
        country = self.fields.get("country")
        choices = country_choices()
        if isinstance(country, forms.ChoiceField) and current and current not in dict(choices):
            # A value from before the list (or from FluentCart): kept as it is until someone picks a code.
            label = gettext("%(value)s (not a country code: choose one)") % {"value": current}
            country.choices = [*choices, (current, label)]

    def clean_notes(self) -> str:
        notes = self.cleaned_data.get("notes", "")
        folded = fold_line_breaks(notes)
        if folded != notes.strip():
            # Shown in the box, to be checked and saved again: nothing is changed behind the person's back.
            data = cast(QueryDict, self.data).copy()
            data[self.add_prefix("notes")] = folded
            self.data = data
            raise ValidationError(
                gettext(
                    "FluentCart keeps notes on one line: the line breaks are now spaces, as FluentCart will"
                    " store them. Check the text and save again."
                ),
                code="fluentcart_notes_folded",
            )
        return folded

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        full_name = normalise_text(cleaned.get("full_name"))
        first_name = normalise_text(cleaned.get("first_name"))
        last_name = normalise_text(cleaned.get("last_name"))
        names_valid = not any(self.has_error(name) for name in ("full_name", "first_name", "last_name"))
        if names_valid and not (full_name or first_name):
            self.add_error(
                "full_name",
                ValidationError(
                    gettext("FluentCart needs a name: enter a full name, or a first name."),
                    code="fluentcart_name_required",
                ),
            )
        elif names_valid and not full_name:
            self._check_joined_name(first_name, last_name)
        return cleaned

    def _check_joined_name(self, first_name: str, last_name: str) -> None:
        """The full name FluentCart gets is "first last": its limits are reported on the longer part,
        the one the person typed, not on the full name they left blank."""
        joined = normalise_text(f"{first_name} {last_name}")
        size = len(joined.encode("utf-8"))
        if len(joined) <= NAME_MAX_LENGTH and size <= TEXT_MAX_BYTES:
            return
        culprit = "last_name" if len(last_name.encode("utf-8")) > len(first_name.encode("utf-8")) else "first_name"
        self.add_error(
            culprit,
            ValidationError(
                gettext(
                    "Together, the first and last name make a full name of %(chars)d characters and %(bytes)d"
                    " bytes; FluentCart accepts at most %(max_chars)d characters and %(max_bytes)d bytes."
                    " Shorten one of them, or enter a shorter full name."
                ),
                code="fluentcart_joined_name",
                params={
                    "chars": len(joined),
                    "bytes": size,
                    "max_chars": NAME_MAX_LENGTH,
                    "max_bytes": TEXT_MAX_BYTES,
                },
            ),
        )

    def _get_validation_exclusions(self):
        """The name fields the person left blank are made from the others when the model saves: their
        values are checked here, on the fields typed, so the model does not report them again."""
        exclusions = super()._get_validation_exclusions()  # type: ignore[misc]  # not in the stubs
        data = self.cleaned_data
        if not normalise_text(data.get("full_name")):
            exclusions.add("full_name")
        elif not (normalise_text(data.get("first_name")) or normalise_text(data.get("last_name"))):
            exclusions.update({"first_name", "last_name"})
        return exclusions
