"""The local customer, and on the same row its sync state: the row is the outbox.

Tasks only make a push happen sooner; whatever happens to them, a record whose ``sync_status`` is
pending or retrying is found again by the sweep and the backfill.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from .validation import (
    ADDRESS_PART_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    normalise_text,
    split_full_name,
    validate_notes,
    validate_plain_text,
    validate_wordpress_email,
)


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    RETRYING = "retrying", "Waiting to retry"
    FAILED = "failed", "Failed: needs attention"
    MISSING_REMOTE = "missing_remote", "Deleted in FluentCart"


#: States that the sweep and the backfill push.
UNSYNCED_STATES = (SyncStatus.PENDING, SyncStatus.RETRYING, SyncStatus.FAILED)


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class CustomerQuerySet(models.QuerySet):
    def unsynced(self) -> CustomerQuerySet:
        return self.filter(sync_status__in=UNSYNCED_STATES)

    def with_email(self, email: str) -> CustomerQuerySet:
        return self.filter(email__iexact=email.strip())


class Customer(models.Model):
    # -- the customer, limited to what FluentCart stores ---------------------------------------
    email = models.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        validators=[validate_wordpress_email],
        help_text="Unique, ignoring case. FluentCart keeps at most 192 characters.",
    )
    full_name = models.CharField(
        max_length=NAME_MAX_LENGTH,
        blank=True,
        validators=[validate_plain_text],
        help_text="Left blank, it is made from the first and last name.",
    )
    first_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True, validators=[validate_plain_text])
    last_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True, validators=[validate_plain_text])
    city = models.CharField(max_length=ADDRESS_PART_MAX_LENGTH, blank=True, validators=[validate_plain_text])
    state = models.CharField(max_length=ADDRESS_PART_MAX_LENGTH, blank=True, validators=[validate_plain_text])
    postcode = models.CharField(max_length=ADDRESS_PART_MAX_LENGTH, blank=True, validators=[validate_plain_text])
    country = models.CharField(
        max_length=ADDRESS_PART_MAX_LENGTH,
        blank=True,
        validators=[validate_plain_text],
        help_text="A country code such as US or DE, as FluentCart expects.",
    )
    status = models.CharField(max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    notes = models.TextField(
        blank=True, validators=[validate_notes], help_text="Plain text; FluentCart strips HTML tags."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="fluentcart_customer"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # -- sync state ------------------------------------------------------------------------------
    fluentcart_id = models.PositiveBigIntegerField("FluentCart id", null=True, blank=True, unique=True, editable=False)
    sync_status = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING, editable=False, db_index=True
    )
    sync_error = models.TextField("last sync error", blank=True, editable=False)
    sync_field_errors = models.JSONField("FluentCart field errors", default=dict, blank=True, editable=False)
    sync_attempts = models.PositiveIntegerField("attempts", default=0, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What was last sent successfully: a save that changes none of it sends nothing.
    synced_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # An earlier attempt ended without knowing whether FluentCart stored the customer (timeout,
    # dropped connection, 5xx on POST): the next attempt must look the email up before any POST.
    outcome_unknown = models.BooleanField(default=False, editable=False)
    # A worker's claim: only the holder of claim_token may record an outcome, until claimed_until.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="fluentcart_sync_customer_email_ci_unique",
                violation_error_message="A customer with this email already exists (emails are compared ignoring case).",
            ),
        ]
        indexes = [models.Index(fields=["sync_status", "next_attempt_at"], name="fluentcart_sync_due_idx")]
        permissions = [("sync_customer", "Can push customers to FluentCart")]

    def __str__(self) -> str:
        return f"{self.full_name or self.email} <{self.email}>" if self.full_name else self.email

    def normalise(self) -> None:
        """Trim and fold whitespace, and fill the name fields from each other."""
        self.email = (self.email or "").strip()
        for field in ("full_name", "first_name", "last_name", "city", "state", "postcode", "country"):
            setattr(self, field, normalise_text(getattr(self, field)))
        if not self.full_name:
            self.full_name = normalise_text(f"{self.first_name} {self.last_name}")
        if self.full_name and not (self.first_name or self.last_name):
            self.first_name, self.last_name = split_full_name(self.full_name)

    def clean_fields(self, exclude=None):
        # Normalise before the validators run, so "Mary  Lee" is stored as "Mary Lee" instead of refused.
        self.normalise()
        super().clean_fields(exclude=exclude)

    def save(self, *args, **kwargs):
        self.normalise()
        super().save(*args, **kwargs)

    @property
    def is_synced(self) -> bool:
        return self.sync_status == SyncStatus.SYNCED
