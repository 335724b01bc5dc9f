"""The local customer, and on the same row its sync state: the row is the outbox.

Tasks only make a push happen sooner; whatever happens to them, a record whose ``sync_status`` is
pending or retrying is found again by the sweep and the backfill.

**Who writes what.** The row holds two kinds of columns. The customer's data (email, names,
address, ...) is written by ordinary saves: the admin, forms, host code. The sync state
(``SYNC_STATE_FIELDS``: remote id, status, claim, what FluentCart holds, ...) is written only by the
sync engine, with conditional UPDATEs that name the claim and the data revision they expect
(``claims.py``). ``Customer.save()`` never writes a sync column of an existing row, so an instance
loaded long ago cannot write back an old remote id or clear another worker's claim.

We keep both on one row rather than moving the state to a table of its own: ``fluentcart_id`` and
``sync_status`` stay plain columns that the admin, host code and the docs filter on, a push still
claims and reads everything it needs in one statement, and the rule "only the engine writes these"
is enforced in one place, ``save()``.

**The data revision.** Every save that changes a pushed field bumps ``data_revision`` and marks the
row owed (``pending``) in the same UPDATE, computed by the database from the row as it is, not from
what the instance last saw. A push records ``synced`` only if the revision it sent is still the
current one; an edit saved while a push is in flight therefore leaves the row owed, and it is pushed
again instead of lost.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .names import one_name
from .validation import (
    ADDRESS_PART_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    normalise_text,
    validate_notes,
    validate_plain_text,
    validate_wordpress_email,
)


class SyncStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SYNCED = "synced", _("Synced")
    RETRYING = "retrying", _("Waiting to retry")
    FAILED = "failed", _("Failed: needs attention")
    MISSING_REMOTE = "missing_remote", _("Deleted in FluentCart")


#: States that the sweep and the backfill push.
UNSYNCED_STATES = (SyncStatus.PENDING, SyncStatus.RETRYING, SyncStatus.FAILED)

#: The model fields whose values FluentCart holds: a change to one of them is owed to FluentCart.
PUSHED_MODEL_FIELDS = (
    "email",
    "full_name",
    "first_name",
    "last_name",
    "status",
    "country",
    "city",
    "state",
    "postcode",
    "notes",
)

#: Columns only the sync engine writes (``claims.py``); ``Customer.save()`` never writes them on an
#: existing row.
SYNC_STATE_FIELDS = frozenset(
    {
        "data_revision",
        "fluentcart_id",
        "sync_status",
        "sync_error",
        "sync_field_errors",
        "sync_attempts",
        "last_attempt_at",
        "next_attempt_at",
        "synced_at",
        "synced_fingerprint",
        "synced_revision",
        "outcome_unknown",
        "posted_email",
        "posted_revision",
        "quarantine_until",
        "failing_since",
        "retry_not_before",
        "remote_duplicates",
        "remote_base",
        "remote_base_stamp",
        "unanswered_write",
        "sync_conflicts",
        "purchase_count",
        "lifetime_value",
        "first_purchase_at",
        "last_purchase_at",
        "claimed_until",
        "claim_token",
    }
)

#: The columns a save that changes pushed data sets through expressions. MySQL evaluates an
#: UPDATE's assignments left to right, so these go first: they must compare against the old data.
_OWED_MARKERS = ("data_revision", "sync_status", "next_attempt_at")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class CustomerQuerySet(models.QuerySet):
    def unsynced(self) -> CustomerQuerySet:
        return self.filter(sync_status__in=UNSYNCED_STATES)

    def with_email(self, email: str) -> CustomerQuerySet:
        return self.filter(email__iexact=email.strip())

    def update(self, **kwargs):
        """``QuerySet.update()`` from host code (and ``bulk_update``): changing a pushed field owes
        FluentCart a push, exactly as a save does. The sync engine writes with ``update_sync_state``."""
        if any(name in PUSHED_MODEL_FIELDS for name in kwargs):
            kwargs = {**owed_markers(), **kwargs}  # first: MySQL evaluates assignments left to right
        return super().update(**kwargs)

    update.alters_data = True  # type: ignore[attr-defined]

    def update_sync_state(self, **kwargs) -> int:
        """The sync engine's write: FluentCart's values and the sync state, never a new revision."""
        return super().update(**kwargs)

    update_sync_state.alters_data = True  # type: ignore[attr-defined]


def owed_markers() -> dict:
    """A change owed to FluentCart: a new revision, and ``pending`` (unless deleted in FluentCart,
    which only a person re-creates)."""
    missing = Q(sync_status=SyncStatus.MISSING_REMOTE)
    return {
        "data_revision": F("data_revision") + 1,
        "sync_status": Case(
            When(missing, then=Value(SyncStatus.MISSING_REMOTE.value)), default=Value(SyncStatus.PENDING.value)
        ),
        "next_attempt_at": Case(
            When(missing, then=F("next_attempt_at")), default=None, output_field=models.DateTimeField()
        ),
    }


class Customer(models.Model):
    # -- the customer, limited to what FluentCart stores ---------------------------------------
    email = models.EmailField(
        _("email"),
        max_length=EMAIL_MAX_LENGTH,
        validators=[validate_wordpress_email],
        help_text=_("Unique, ignoring case. FluentCart keeps at most 192 characters."),
    )
    full_name = models.CharField(
        _("full name"),
        max_length=NAME_MAX_LENGTH,
        blank=True,
        validators=[validate_plain_text],
        help_text=_("Left blank, it is made from the first and last name."),
    )
    first_name = models.CharField(
        _("first name"), max_length=NAME_MAX_LENGTH, blank=True, validators=[validate_plain_text]
    )
    last_name = models.CharField(
        _("last name"), max_length=NAME_MAX_LENGTH, blank=True, validators=[validate_plain_text]
    )
    city = models.CharField(_("city"), max_length=ADDRESS_PART_MAX_LENGTH, blank=True, validators=[validate_plain_text])
    state = models.CharField(
        _("state"), max_length=ADDRESS_PART_MAX_LENGTH, blank=True, validators=[validate_plain_text]
    )
    postcode = models.CharField(
        _("postcode"), max_length=ADDRESS_PART_MAX_LENGTH, blank=True, validators=[validate_plain_text]
    )
    country = models.CharField(
        _("country"),
        max_length=ADDRESS_PART_MAX_LENGTH,
        blank=True,
        validators=[validate_plain_text],
        help_text=_("A country code such as US or DE, as FluentCart expects."),
    )
    status = models.CharField(_("status"), max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    notes = models.TextField(
        _("notes"), blank=True, validators=[validate_notes], help_text=_("Plain text; FluentCart strips HTML tags.")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fluentcart_customer",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # -- sync state: written only by the sync engine (see the module docstring) ---------------------
    # Bumped by every save that changes a pushed field; a push records `synced` only for the
    # revision it sent.
    data_revision = models.PositiveBigIntegerField(default=1, editable=False)
    fluentcart_id = models.PositiveBigIntegerField(
        _("FluentCart id"), null=True, blank=True, unique=True, editable=False
    )
    sync_status = models.CharField(
        _("sync status"),
        max_length=16,
        choices=SyncStatus.choices,
        default=SyncStatus.PENDING,
        editable=False,
        db_index=True,
    )
    sync_error = models.TextField(_("last sync error"), blank=True, editable=False)
    sync_field_errors = models.JSONField(_("FluentCart field errors"), default=dict, blank=True, editable=False)
    sync_attempts = models.PositiveIntegerField(_("attempts"), default=0, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, editable=False)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True, editable=False)
    # What FluentCart holds (the fingerprint of the last payload it accepted) and the data revision
    # it came from: a save that changes none of it sends nothing.
    synced_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    synced_revision = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # An earlier attempt ended without knowing whether FluentCart stored the customer (timeout,
    # dropped connection, 5xx on POST): the next attempt must look the email up before any POST.
    outcome_unknown = models.BooleanField(default=False, editable=False)
    # The email and revision of the POST that may be in flight, written before it goes out: after
    # an unknown outcome the look-up uses this email, not one edited since.
    posted_email = models.CharField(max_length=EMAIL_MAX_LENGTH, blank=True, editable=False)
    posted_revision = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # No new POST before this time: an earlier POST with an unknown outcome could still land.
    quarantine_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When the current run of transient failures began: retries go on for RETRY_WINDOW_SECONDS.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # FluentCart's Retry-After: no attempt before this time, even once FluentCart answers again
    # (``recovery.py`` makes every other waiting row due at once then).
    retry_not_before = models.DateTimeField(null=True, blank=True, editable=False)
    # Other FluentCart customers with this email (FluentCart allows duplicates): a person should merge them.
    remote_duplicates = models.JSONField(_("FluentCart duplicates"), default=list, blank=True, editable=False)
    # The merge base: the pushed fields as FluentCart held them after the last successful push or
    # pull, with the provenance of that record (FluentCart's `id`, `uuid` and `updated_at`): a field
    # that differs from it was changed on that side since; a record older than it is a stale read,
    # and one with another uuid is another customer (docs/sync-states.md).
    remote_base = models.JSONField(_("FluentCart's record at the last sync"), default=dict, blank=True, editable=False)
    # Who wrote the base last (the push's claim token, or a pull's own token): a pull that merged
    # against one base writes only if it is still the row's base, so a push that recorded a newer
    # one meanwhile is never reverted by a page read before it.
    remote_base_stamp = models.CharField(max_length=32, blank=True, editable=False)
    # A POST or PUT that may still be in flight (sent, no answer): {"method", "record", "at"}, written
    # before it goes out. The next attempt merges against it (what FluentCart holds if it landed),
    # and sends no new write for that customer before the quarantine ends.
    unanswered_write = models.JSONField(default=dict, blank=True, editable=False)
    # Fields both sides changed since the base: {field: {"django": ..., "fluentcart": ..., "kept": side}}.
    sync_conflicts = models.JSONField(_("sync conflicts"), default=dict, blank=True, editable=False)

    # -- what the customer bought, as FluentCart computes it from orders (refreshed by every pull) ------
    purchase_count = models.PositiveIntegerField(_("purchases"), null=True, blank=True, editable=False)
    lifetime_value = models.BigIntegerField(
        _("lifetime value (cents)"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("FluentCart's ltv: the total of the customer's orders, in cents of the shop's currency."),
    )
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True, editable=False)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True, editable=False)
    # A worker's claim: only the holder of claim_token may record an outcome, until claimed_until.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="fluentcart_sync_customer_email_ci_unique",
                violation_error_message=_(
                    "A customer with this email already exists (emails are compared ignoring case)."
                ),
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
        # One name in three fields (names.py): an edit of one part carries the others with it.
        self.full_name, self.first_name, self.last_name = one_name(
            (self.full_name, self.first_name, self.last_name), self._loaded_name()
        )

    def _loaded_name(self) -> tuple[str, str, str] | None:
        loaded = getattr(self, "_loaded_pushed_data", None)
        if loaded is None:
            return None
        values = dict(zip(PUSHED_MODEL_FIELDS, loaded, strict=True))
        return values["full_name"], values["first_name"], values["last_name"]

    def clean_fields(self, exclude=None):
        # Normalise before the validators run, so "Mary  Lee" is stored as "Mary Lee" instead of refused.
        self.normalise()
        super().clean_fields(exclude=exclude)

    @classmethod
    def from_db(cls, db, field_names, values, *args, **kwargs):
        instance = super().from_db(db, field_names, values, *args, **kwargs)
        instance._loaded_pushed_data = instance.pushed_data()
        return instance

    def pushed_data(self) -> tuple | None:
        """The pushed fields' values, or None if some are deferred (not loaded)."""
        loaded = self.__dict__
        if any(name not in loaded for name in PUSHED_MODEL_FIELDS):
            return None
        return tuple(loaded[name] for name in PUSHED_MODEL_FIELDS)

    def save(self, *args, **kwargs):
        """Save the customer's data; on an existing row, never a sync column (see the module docstring).

        When a pushed field differs from what the row holds, the same UPDATE bumps ``data_revision``
        and marks the row ``pending`` (unless it was deleted in FluentCart, which only a person re-creates).
        """
        self.normalise()
        if self._state.adding or kwargs.get("force_insert"):
            super().save(*args, **kwargs)
            self._loaded_pushed_data = self.pushed_data()
            return
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            names = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in SYNC_STATE_FIELDS
            ]
        else:
            names = [name for name in update_fields if name not in SYNC_STATE_FIELDS]
        writes_pushed = any(name in PUSHED_MODEL_FIELDS for name in names)
        if writes_pushed:
            self._assign_owed_markers()
            names = [*_OWED_MARKERS, *names]
        # Tells the post_save receiver whether this save changed the data as this instance knew it
        # (a stale instance writing back old values is marked owed by the UPDATE; the sweep sends it).
        self._pushed_data_changed = writes_pushed and self.pushed_data() != getattr(self, "_loaded_pushed_data", None)
        # With update_fields, a save of a row that is gone raises instead of quietly becoming an
        # INSERT with stale sync state.
        kwargs["update_fields"] = names
        try:
            super().save(*args, **kwargs)
        finally:
            for name in _OWED_MARKERS:
                if isinstance(self.__dict__.get(name), Combinable):
                    del self.__dict__[name]  # deferred: read from the database on next access
        self._loaded_pushed_data = self.pushed_data()

    def _assign_owed_markers(self) -> None:
        """Database expressions: if any pushed column differs from the value being saved, bump the
        revision and owe a push, all decided inside the UPDATE from the row as it is now."""
        unchanged = Q(**{name: getattr(self, name) for name in PUSHED_MODEL_FIELDS})
        self.data_revision = Case(When(unchanged, then=F("data_revision")), default=F("data_revision") + 1)
        self.sync_status = Case(
            When(unchanged, then=F("sync_status")),
            When(sync_status=SyncStatus.MISSING_REMOTE, then=Value(SyncStatus.MISSING_REMOTE.value)),
            default=Value(SyncStatus.PENDING.value),
        )
        self.next_attempt_at = Case(
            When(unchanged | Q(sync_status=SyncStatus.MISSING_REMOTE), then=F("next_attempt_at")),
            default=None,
            output_field=models.DateTimeField(),
        )

    def _do_update(self, base_qs, using, pk_val, values, *args, **kwargs):
        # MySQL evaluates assignments left to right: the owed markers must see the old data.
        values = sorted(values, key=lambda item: item[0].name not in _OWED_MARKERS)
        return super()._do_update(base_qs, using, pk_val, values, *args, **kwargs)

    @property
    def is_synced(self) -> bool:
        return self.sync_status == SyncStatus.SYNCED


class SyncCircuit(models.Model):
    """One row: whether pushes are paused because FluentCart refuses the configuration (``circuit.py``)."""

    KEY = "fluentcart"

    key = models.CharField(max_length=32, primary_key=True, default=KEY, editable=False)
    is_open = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    # When FluentCart last answered a push or a probe: a row whose last failure is older is due at
    # once, whatever its backoff (``recovery.py``).
    last_answer_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("FluentCart circuit")

    def __str__(self) -> str:
        return f"paused: {self.reason}" if self.is_open else "pushing"


class PushOutcomeMinute(models.Model):
    """How many pushes ended in each outcome, per minute (``outcome_log.py``): the health page's chart
    and the metrics' counters. Minutes older than a day are folded into one row per outcome at
    ``TOTALS_MINUTE``, so the counters never go down."""

    minute = models.DateTimeField()
    outcome = models.CharField(max_length=16)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("push outcomes of a minute")
        constraints = [
            models.UniqueConstraint(fields=["minute", "outcome"], name="fluentcart_sync_outcome_minute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.outcome}: {self.count}"


class SyncRun(models.Model):
    """The last run of a recurring job (the sweep, the pull): when it ended, how, and how long it took."""

    SWEEP = "sweep"
    PULL = "pull"

    kind = models.CharField(max_length=16, primary_key=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(default=0)
    ok = models.BooleanField(default=True)
    result = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("last run")

    def __str__(self) -> str:
        return f"{self.kind} at {self.finished_at}: {'ok' if self.ok else 'not everything done'}"


# -- deletions (deletions.py) ------------------------------------------------------------------------


class OnDelete(models.TextChoices):
    """What a deletion in Django does in FluentCart (the ``ON_DELETE`` setting)."""

    KEEP = "keep", _("Keep in FluentCart")
    ANONYMIZE = "anonymize", _("Anonymize in FluentCart")
    DELETE = "delete", _("Delete in FluentCart, with its orders")


class DeletionState(models.TextChoices):
    NOTHING = "nothing", _("Nothing to do in FluentCart")
    PENDING = "pending", _("Owed to FluentCart")
    RETRYING = "retrying", _("Waiting to retry")
    DONE = "done", _("Done in FluentCart")
    FAILED = "failed", _("Failed: needs attention")


#: Deletion states the sweep works on.
OWED_DELETION_STATES = (DeletionState.PENDING, DeletionState.RETRYING)


class CustomerDeletion(models.Model):
    """A deleted customer, remembered: the FluentCart id and email it was linked to.

    No pull re-creates or re-links a remembered deletion; forgetting it (deleting this record) lets
    the next pull bring the customer back. The row is also the outbox of what the deletion owes
    FluentCart (``action``), written only by ``deletions.py`` under a claim, as pushes are.
    """

    customer_id = models.PositiveBigIntegerField(_("local customer id"), null=True, blank=True, editable=False)
    # Lower-cased, so a pull matches a page of emails in one query without an expression index.
    email = models.CharField(_("email"), max_length=EMAIL_MAX_LENGTH, blank=True, db_index=True, editable=False)
    fluentcart_id = models.PositiveBigIntegerField(
        _("FluentCart id"), null=True, blank=True, db_index=True, editable=False
    )
    # FluentCart's uuid of that customer, when known: FluentCart can give a deleted customer's id to a
    # new one, never its uuid. Only the record with this uuid is the deleted customer.
    fluentcart_uuid = models.CharField(max_length=64, blank=True, editable=False)
    # Deleted before a push linked it, with a POST that got no answer: FluentCart may hold the customer
    # under the email that POST carried. Looked up (exactly) until ``look_until``, when no POST can land.
    posted_email = models.CharField(max_length=EMAIL_MAX_LENGTH, blank=True, db_index=True, editable=False)
    look_until = models.DateTimeField(null=True, blank=True, editable=False)
    action = models.CharField(
        _("in FluentCart"), max_length=16, choices=OnDelete.choices, default=OnDelete.KEEP, editable=False
    )
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=DeletionState.choices,
        default=DeletionState.NOTHING,
        db_index=True,
        editable=False,
    )
    deleted_at = models.DateTimeField(_("deleted at"), default=timezone.now, editable=False)
    done_at = models.DateTimeField(_("done in FluentCart at"), null=True, blank=True, editable=False)
    error = models.TextField(_("last error"), blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["-deleted_at", "-id"]
        verbose_name = _("remembered deletion")
        verbose_name_plural = _("remembered deletions")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="fluentcart_sync_deletion_due")]

    def __str__(self) -> str:
        return self.email or f"FluentCart customer {self.fluentcart_id}"
