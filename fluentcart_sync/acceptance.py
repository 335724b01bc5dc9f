"""What Django can hold of FluentCart's values: a value FluentCart changed is copied into the row
only if the model accepts it (lengths, validators) and no other local customer holds it (the email,
unique here but not in FluentCart). A value refused is a conflict on that row, with the reason, never
an error for the page or the batch it came in."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Field
from django.utils import translation

from .merge import NAME_FIELDS, Merge, model_value
from .models import Customer


def refused_values(customer: Customer, to_django: dict[str, Any]) -> dict[str, str]:
    """{field: why} for each value of ``to_django`` the row cannot take; the name's three fields
    are refused together (a name is never taken in part)."""
    refused: dict[str, str] = {}
    with translation.override("en"):  # recorded on the row, as data
        for name, value in to_django.items():
            stored = model_value(name, value)
            field = Customer._meta.get_field(name)
            assert isinstance(field, Field)
            try:
                field.clean(stored, customer)
            except ValidationError as err:
                refused[name] = f"FluentCart's value {stored!r} cannot be held here: {' '.join(err.messages)}"
                continue
            if name == "email":
                holder = Customer.objects.filter(email__iexact=stored).exclude(pk=customer.pk).first()
                if holder is not None:
                    refused[name] = (
                        f"FluentCart changed the email of customer #{customer.pk} ({customer.email}) to {stored}, "
                        f"which local customer #{holder.pk} ({holder.email}) holds. Merge the two customers or "
                        "change one of the emails, then push again."
                    )
    if any(name in refused for name in NAME_FIELDS):
        reason = next(refused[name] for name in NAME_FIELDS if name in refused)
        for name in NAME_FIELDS:
            if name in to_django:
                refused.setdefault(name, reason)
    return refused


def hold_back(merged: Merge, refused: dict[str, str], local: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Keep Django's values where FluentCart's were refused, and record each as a conflict that says why."""
    for name, reason in refused.items():
        merged.to_django.pop(name, None)
        merged.conflicts[name] = {
            "django": local.get(name),
            "fluentcart": theirs.get(name),
            "kept": "django",
            "refused": reason,
        }


def base_without(base: dict[str, Any], refused: dict[str, str], old_base: dict[str, Any] | None) -> dict[str, Any]:
    """The next base, but with the refused fields as the old base had them: FluentCart's change is
    still a change next time, so it is refused again (and visible) instead of pushed over."""
    if not refused:
        return base
    kept = dict(base)
    for name in refused:
        kept[name] = (old_base or {}).get(name)
    return kept


def refusal_message(refused: dict[str, str]) -> str:
    return "FluentCart holds values this customer cannot take: " + "; ".join(
        f"{name}: {reason}" for name, reason in refused.items()
    )
