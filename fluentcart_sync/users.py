"""Provisioning: the Customer that belongs to a Django user, created or linked by email."""

from __future__ import annotations

from typing import Any

from .conf import app_settings
from .models import Customer
from .names import fit_name


def customer_for_user(user: Any) -> Customer | None:
    """The user's linked Customer, created (or linked by email) if missing; None if the user has
    no email or is skipped by the settings."""
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        if not app_settings.INCLUDE_STAFF_USERS:
            return None
    email = (getattr(user, "email", "") or "").strip()
    if not email:
        return None
    existing = Customer.objects.filter(user=user).first()
    if existing:
        return existing
    customer = Customer.objects.with_email(email).filter(user__isnull=True).first()
    if customer is not None:
        customer.user = user
        customer.save(update_fields=["user", "updated_at"])
        return customer
    if Customer.objects.with_email(email).exists():
        return None  # the email belongs to another user's customer: nothing to link
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    if not full_name:
        username = user.get_username() if hasattr(user, "get_username") else ""
        full_name = username if username and "@" not in username else email.split("@")[0]

    # A user's first and last name (150 each) may add up to more than a customer's name holds.
    def fit(name: str, value: str) -> str:
        return fit_name(value, Customer._meta.get_field(name).max_length)  # type: ignore[union-attr,arg-type]

    return Customer.objects.create(
        user=user,
        email=email,
        full_name=fit("full_name", full_name),
        first_name=fit("first_name", getattr(user, "first_name", "") or ""),
        last_name=fit("last_name", getattr(user, "last_name", "") or ""),
    )
