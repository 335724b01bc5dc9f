"""The admin change form against stale copies: a form opened before a pull (or before a colleague's
save) must not write back the old values of fields the person never touched.

Every pushed field carries the value the form showed (Django's ``show_hidden_initial``), so the
form knows which fields *this person* changed, whatever the row holds now. Only those are saved
(``update_fields``); a field the person changed that also changed on the row since the form was
opened is refused with the current value shown (an optimistic lock per field, as django-concurrency
does per row); a row that changed elsewhere is saved with a message that says what was kept.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _

from .merge import NAME_FIELDS
from .models import PUSHED_MODEL_FIELDS, Customer


def _comparable(value: Any) -> str:
    """A value as a form and the database both hold it: text, line breaks as one ``\\n``."""
    return "" if value is None else str(value).replace("\r\n", "\n").strip()


class StaleEditGuardForm(forms.ModelForm):
    """A ``Customer`` change form that saves only what the person changed (``changed_fields``)."""

    #: Pushed fields that changed on the row since the form was opened, set by ``clean()``.
    changed_since: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed_since = {}
        if self.instance.pk is not None:
            for name in PUSHED_MODEL_FIELDS:
                if name in self.fields:
                    self.fields[name].show_hidden_initial = True

    def shown_value(self, name: str) -> Any:
        """What the form showed for ``name`` when it was opened; None if the submission did not say."""
        bound = self[name]
        key = bound.html_initial_name
        if key not in self.data:
            return None  # a client that posts no initial values: nothing to compare with
        return self.fields[name].hidden_widget().value_from_datadict(self.data, self.files, key)

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.instance.pk is None or not self.is_bound:
            return cleaned
        # Locked until the admin's transaction ends (PostgreSQL, MariaDB): a pull cannot slip in
        # between this check and the save.
        current = Customer.objects.select_for_update().filter(pk=self.instance.pk).values(*PUSHED_MODEL_FIELDS).first()
        if current is None:
            # Deleted after the admin read it: saving would either fail (nothing to update) or, worse,
            # bring the customer back. The person sees why instead of a server error.
            raise forms.ValidationError(
                _("This customer was deleted while you edited it; your changes were not saved."),
                code="deleted",
            )
        changed_by_person = set(self.changed_data)
        for name in PUSHED_MODEL_FIELDS:
            shown = self.shown_value(name) if name in self.fields else None
            if shown is None or _comparable(shown) == _comparable(current[name]):
                continue
            self.changed_since[name] = current[name]
            if name in changed_by_person:
                self.add_error(
                    name,
                    _(
                        "This field was changed while you edited it (by a pull from FluentCart or by someone "
                        "else); it now holds “%(value)s”. Your value was not saved: enter it again if it "
                        "should replace that one."
                    )
                    % {"value": current[name]},
                )
        return cleaned

    def changed_fields(self) -> list[str]:
        """The model fields to save: those the person changed (a name as a whole, its three fields)."""
        names = [name for name in self.changed_data if name in self.fields and name in self._model_field_names()]
        if any(name in NAME_FIELDS for name in names):
            names += [name for name in NAME_FIELDS if name not in names]
        return names

    @staticmethod
    def _model_field_names() -> set[str]:
        return {field.name for field in Customer._meta.concrete_fields}
