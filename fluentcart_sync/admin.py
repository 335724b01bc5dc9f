"""The Customer admin: sync state at a glance, and permission-guarded ways to push.

The change list stays at a fixed number of queries whatever the number of rows: every column is
computed from the row itself, and the per-status summary is one aggregate query.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import circuit
from .admin_health import health_view
from .claims import forget_conflict
from .client import get_client, site_url
from .conf import app_settings
from .display import moment_in_words, money
from .edit_guard import StaleEditGuardForm
from .forms import CustomerAdminForm
from .merge import DJANGO, FLUENTCART, model_value
from .models import (
    OWED_DELETION_STATES,
    PUSHED_MODEL_FIELDS,
    Customer,
    CustomerDeletion,
    DeletionState,
    OnDelete,
    SyncStatus,
)
from .names import NAME_FIELDS
from .outcomes import Outcome
from .push import push_customer

#: Badge colours per state: green done, blue/grey on its way, amber waiting, red needs a person.
BADGE_COLOURS: dict[str, tuple[str, str]] = {
    SyncStatus.SYNCED: ("#e3f8ec", "#146c43"),
    SyncStatus.PENDING: ("#e7eefc", "#2559b8"),
    SyncStatus.RETRYING: ("#fff4d6", "#8a5a00"),
    SyncStatus.FAILED: ("#fde8e8", "#b42318"),
    SyncStatus.MISSING_REMOTE: ("#f1e8fd", "#6b2fb3"),
}


#: How the two sides of a conflict are named to staff.
SIDE_NAMES = {DJANGO: "Django", FLUENTCART: "FluentCart"}


def cut(value: str, css_class: str = "fluentcart-cut") -> str:
    """A list cell that the stylesheet cuts with an ellipsis (so an unbroken 192-character name cannot
    push the sync columns off the screen), with the whole value in its tooltip."""
    if not value:
        return ""
    return format_html('<span class="{}" title="{}">{}</span>', css_class, value, value)


def fluentcart_customer_url(fluentcart_id: int) -> str:
    """The customer's page in FluentCart's own admin."""
    return f"{site_url(app_settings.URL)}/wp-admin/admin.php?page=fluent-cart#/customers/{int(fluentcart_id)}"


def status_badge(sync_status: str) -> str:
    background, colour = BADGE_COLOURS.get(sync_status, ("#eee", "#333"))
    label = SyncStatus(sync_status).label if sync_status in SyncStatus.values else sync_status
    return format_html(
        '<span class="fluentcart-badge fluentcart-badge-{}" style="background:{};color:{};padding:2px 8px;'
        'border-radius:10px;font-weight:600;white-space:nowrap;font-size:11px">{}</span>',
        sync_status,
        background,
        colour,
        label,
    )


class ConflictListFilter(admin.SimpleListFilter):
    """Customers whose sync kept one side of a field both sides changed: a person should look."""

    title = gettext_lazy("sync conflicts")
    parameter_name = "conflicts"

    def lookups(self, request, model_admin):
        return [("yes", _("With conflicts")), ("no", _("Without conflicts"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(sync_conflicts={})
        if self.value() == "no":
            return queryset.filter(sync_conflicts={})
        return queryset


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "customer_cell",
        "status",
        "sync_badge",
        "fluentcart_link",
        "sync_error_short",
        "purchases",
        "lifetime_value_short",
        "synced_at_short",
    )
    form = CustomerAdminForm
    list_filter = ("sync_status", ConflictListFilter, "status")
    search_fields = ("email", "full_name", "first_name", "last_name")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    actions = ["push_to_fluentcart"]
    change_list_template = "admin/fluentcart_sync/customer/change_list.html"
    change_form_template = "admin/fluentcart_sync/customer/change_form.html"
    readonly_fields = (
        "fluentcart_id",
        "sync_status",
        "sync_error",
        "sync_field_errors",
        "sync_attempts",
        "last_attempt_at",
        "next_attempt_at",
        "synced_at",
        "created_at",
        "updated_at",
        "purchase_count",
        "lifetime_value_money",
        "first_purchase_at",
        "last_purchase_at",
    )
    # The sync state is shown once, in the panel above the form (change_form.html), not again as a fieldset.
    fieldsets = (
        (None, {"fields": ("email", "full_name", "first_name", "last_name", "status", "user", "notes")}),
        (gettext_lazy("Address"), {"fields": ("city", "state", "postcode", "country")}),
        (
            gettext_lazy("Purchases (from FluentCart, refreshed by every pull)"),
            {"fields": ("purchase_count", "lifetime_value_money", "first_purchase_at", "last_purchase_at")},
        ),
    )

    # -- change list ------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("synced"), ordering="synced_at")
    def synced_at_short(self, obj: Customer) -> str:
        """Day and time on one short line; the full moment on hover."""
        if obj.synced_at is None:
            return ""
        moment = timezone.localtime(obj.synced_at)
        return format_html(
            '<span title="{}">{}</span>', moment.isoformat(timespec="seconds"), dateformat.format(moment, "j M H:i")
        )

    @admin.display(description=gettext_lazy("buys"), ordering="purchase_count")
    def purchases(self, obj: Customer) -> str:
        return "" if obj.purchase_count is None else str(obj.purchase_count)

    @admin.display(description=gettext_lazy("LTV"), ordering="lifetime_value")
    def lifetime_value_short(self, obj: Customer) -> str:
        """FluentCart's lifetime value as money in the shop's currency (the database keeps its cents)."""
        if obj.lifetime_value is None:
            return ""
        return format_html(
            '<span title="{}" style="white-space:nowrap">{}</span>', _("lifetime value"), money(obj.lifetime_value)
        )

    @admin.display(description=gettext_lazy("lifetime value"))
    def lifetime_value_money(self, obj: Customer) -> str:
        """The change form's lifetime value: money, with the cents FluentCart reported for reference."""
        if obj.lifetime_value is None:
            return "–"
        return _("%(money)s (FluentCart's ltv: %(cents)d cents of the shop's currency)") % {
            "money": money(obj.lifetime_value),
            "cents": obj.lifetime_value,
        }

    @admin.display(description=gettext_lazy("customer"), ordering="email")
    def customer_cell(self, obj: Customer) -> str:
        """The name above the email, both cut to fit (whole on hover): one column, so the sync columns
        keep their room at 1280 px with the navigation sidebar open."""
        return format_html(
            '<span class="fluentcart-customer">{}{}</span>',
            cut(obj.full_name, "fluentcart-cut fluentcart-name"),
            cut(obj.email, "fluentcart-cut fluentcart-email"),
        )

    @admin.display(description=gettext_lazy("sync status"), ordering="sync_status")
    def sync_badge(self, obj: Customer) -> str:
        if not obj.sync_conflicts:
            return status_badge(obj.sync_status)
        fields = ", ".join(_field_label(name) for name in sorted(obj.sync_conflicts) if name in PUSHED_MODEL_FIELDS)
        return format_html(
            '{} <span class="fluentcart-conflict-marker" title="{}">⚠ {}</span>',
            status_badge(obj.sync_status),
            _("Both sides changed: %(fields)s. Open the customer to choose.") % {"fields": fields},
            _("conflict"),
        )

    @admin.display(description=gettext_lazy("FluentCart id"), ordering="fluentcart_id")
    def fluentcart_link(self, obj: Customer) -> str:
        if not obj.fluentcart_id:
            return "–"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" title="{}">{}</a>',
            fluentcart_customer_url(obj.fluentcart_id),
            _("Open in FluentCart"),
            obj.fluentcart_id,
        )

    @admin.display(description=gettext_lazy("last error"))
    def sync_error_short(self, obj: Customer) -> str:
        return cut(obj.sync_error, "fluentcart-cut fluentcart-cut-error")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "sync_summary": self.sync_summary(request),
            "sync_circuit": circuit.state(),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def sync_summary(self, request: HttpRequest) -> list[dict]:
        """One entry per state (count and a filter link), from a single aggregate query."""
        counts = dict(Customer.objects.order_by().values_list("sync_status").annotate(n=Count("pk")))
        current = request.GET.get("sync_status__exact")
        changelist = reverse("admin:fluentcart_sync_customer_changelist")
        return [
            {
                "status": status.value,
                "label": status.label,
                "count": counts.get(status.value, 0),
                "url": f"{changelist}?{urlencode({'sync_status__exact': status.value})}",
                "active": current == status.value,
                "badge": status_badge(status.value),
            }
            for status in (
                SyncStatus.PENDING,
                SyncStatus.RETRYING,
                SyncStatus.FAILED,
                SyncStatus.MISSING_REMOTE,
                SyncStatus.SYNCED,
            )
        ]

    # -- change form ------------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Customer, form, change: bool) -> None:
        """On a change, save only the fields the person changed (``edit_guard.py``): a value the
        form showed before a pull or another save is never written back over a newer one."""
        if not change or not isinstance(form, StaleEditGuardForm):
            return super().save_model(request, obj, form, change)
        obj.save(update_fields=form.changed_fields())
        if form.changed_since:
            kept = ", ".join(
                str(getattr(Customer._meta.get_field(name), "verbose_name", name)) for name in form.changed_since
            )
            self.message_user(
                request,
                _(
                    "This customer was changed while you edited it (%(fields)s): only the fields you changed "
                    "were saved; the newer values of the others were kept."
                )
                % {"fields": kept},
                messages.WARNING,
            )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            form = context["adminform"].form
            context["sync_panel"] = {
                "badge": status_badge(obj.sync_status),
                "customer": obj,
                "remote_url": fluentcart_customer_url(obj.fluentcart_id) if obj.fluentcart_id else "",
                "unmapped_errors": self._show_remote_field_errors(form, obj),
                "sync_url": reverse("admin:fluentcart_sync_customer_sync", args=[obj.pk]),
                "can_sync": self.has_sync_permission(request) and self.has_change_permission(request, obj),
                "circuit": circuit.state(),
                "conflicts": _conflict_rows(obj),
                "last_attempt": moment_in_words(obj.last_attempt_at) if obj.last_attempt_at else "",
                "next_attempt": moment_in_words(obj.next_attempt_at) if obj.next_attempt_at else "",
            }
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @staticmethod
    def _show_remote_field_errors(form, obj: Customer) -> dict[str, list[str]]:
        """Put the stored field errors next to their form fields; return those with no field.

        Only on a fresh (unbound) form: on a submitted one, the errors are the form's own, and
        adding the old remote ones would block the save that fixes them.
        """
        remote = obj.sync_field_errors or {}
        if form.is_bound or not remote:
            return dict(remote)  # listed in the panel instead
        shown = ErrorDict()
        unmapped: dict[str, list[str]] = {}
        for name, messages_ in remote.items():
            if name in form.fields:
                shown[name] = form.error_class([f"FluentCart: {m}" for m in messages_])
            else:
                unmapped[name] = list(messages_)
        form._errors = shown  # an unbound form never validates, so this is only displayed
        return unmapped

    def get_urls(self):
        sync = self.admin_site.admin_view(self.sync_now_view)
        resolve = self.admin_site.admin_view(self.resolve_conflict_view)
        health = self.admin_site.admin_view(partial(health_view, self))
        return [
            path("health/", health, name="fluentcart_sync_customer_health"),
            path("<path:object_id>/sync/", sync, name="fluentcart_sync_customer_sync"),
            path(
                "<path:object_id>/conflict/<str:field_name>/",
                resolve,
                name="fluentcart_sync_customer_resolve_conflict",
            ),
            *super().get_urls(),
        ]

    def resolve_conflict_view(self, request: HttpRequest, object_id: str, field_name: str):
        """POST-only: take the value the sync overwrote (``use``: the other side's) or keep what won
        (``dismiss``) for one conflicting field; an ordinary save, so the choice is pushed like any edit."""
        return require_POST(partial(_resolve_conflict, self))(request, object_id, field_name)

    def sync_now_view(self, request: HttpRequest, object_id: str):
        """POST-only "Sync now": pushes outside any transaction of the change form, then goes back to it."""
        return require_POST(partial(_sync_now, self))(request, object_id)

    # -- deleting ---------------------------------------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: Customer) -> None:
        super().delete_model(request, obj)
        self._say_what_deleting_does(request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        super().delete_queryset(request, queryset)
        self._say_what_deleting_does(request)

    def _say_what_deleting_does(self, request: HttpRequest) -> None:
        """Staff learn what their deletion does in FluentCart (``ON_DELETE``), and that it is remembered."""
        policy = app_settings.ON_DELETE
        if policy == OnDelete.ANONYMIZE:
            message = _(
                "Remembered: no pull brings it back. Its FluentCart customer is being anonymized (orders kept); "
                "see Remembered deletions."
            )
        elif policy == OnDelete.DELETE:
            message = _(
                "Remembered: no pull brings it back. Its FluentCart customer is being deleted, with its orders; "
                "see Remembered deletions."
            )
        else:
            message = _("Remembered: no pull brings it back. FluentCart keeps its customer (ON_DELETE is “keep”).")
        self.message_user(request, message, messages.INFO)

    # -- actions ----------------------------------------------------------------------------------

    def has_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fluentcart_sync.sync_customer")

    @admin.action(description=gettext_lazy("Push to FluentCart"), permissions=["sync"])
    def push_to_fluentcart(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        selected = list(queryset.order_by("pk").values_list("pk", "sync_status"))
        limit = int(app_settings.ADMIN_INLINE_PUSH_LIMIT)
        if len(selected) > limit:
            self._enqueue_pushes(request, selected, limit)
            return
        counts = {"pushed": 0, "already": 0, "failed": 0, "busy": 0}
        if not _probe_if_paused(request, self):
            return
        for customer_id, sync_status in selected:
            # Pushing from here is a person's explicit decision, so it may re-create a customer
            # that was deleted in FluentCart.
            result = push_customer(customer_id, recreate_missing=sync_status == SyncStatus.MISSING_REMOTE)
            if result.outcome.pushed:
                counts["pushed"] += 1
            elif result.outcome == Outcome.UNCHANGED:
                counts["already"] += 1
            elif result.outcome == Outcome.BUSY:
                counts["busy"] += 1
            else:
                counts["failed"] += 1
            if result.configuration_error or result.outcome == Outcome.PAUSED:
                self.message_user(
                    request, _("Stopped, pushes are paused: %(reason)s") % {"reason": result.error}, messages.ERROR
                )
                break
        if counts["busy"]:
            message = _(
                "%(pushed)d pushed, %(already)d already synced, %(failed)d failed, %(busy)d in progress elsewhere."
            )
        else:
            message = _("%(pushed)d pushed, %(already)d already synced, %(failed)d failed.")
        level = messages.ERROR if counts["failed"] else messages.SUCCESS
        self.message_user(request, message % counts, level)

    def _enqueue_pushes(self, request: HttpRequest, selected: list[tuple[int, str]], limit: int) -> None:
        """Too many to push within one request: queue them, and say so."""
        from .tasks import chunked, enqueue_push_chunk

        # Re-creating a deleted FluentCart customer is decided one by one, not in bulk.
        wanted = [customer_id for customer_id, sync_status in selected if sync_status != SyncStatus.MISSING_REMOTE]
        skipped_missing = len(selected) - len(wanted)
        queued = refused = 0
        for chunk in chunked(wanted):  # a task per chunk: a worker pushes it with the backfill's engine
            if enqueue_push_chunk(chunk):
                queued += len(chunk)
            else:
                refused += len(chunk)
        numbers = {"selected": len(selected), "limit": limit, "queued": queued}
        message = (
            _(
                "%(selected)d customers selected (more than %(limit)d, the limit for pushing while you wait): "
                "%(queued)d queued for a push in the background; watch their sync status here."
            )
            % numbers
        )
        if skipped_missing:
            message += " " + _(
                "%(skipped)d deleted in FluentCart were not queued: push them in a selection of "
                "%(limit)d or fewer to re-create them."
            ) % {"skipped": skipped_missing, "limit": limit}
        if refused:
            message += " " + _(
                "%(refused)d could not be queued; the periodic sweep (fluentcart_sync_due) will push them."
            ) % {"refused": refused}
        self.message_user(request, message, messages.WARNING if refused else messages.SUCCESS)


def _sync_now(model_admin: CustomerAdmin, request: HttpRequest, object_id: str):
    if not model_admin.has_sync_permission(request):
        raise PermissionDenied
    # get_object() answers None for a key that is not an id ("abc"), as the change view does: a 404.
    customer = model_admin.get_object(request, unquote(object_id))
    if customer is None:
        raise Http404(_("No such customer."))
    # Pushing changes FluentCart (and may re-create a deleted customer): the change permission too.
    if not model_admin.has_change_permission(request, customer):
        raise PermissionDenied
    change_url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    if not _probe_if_paused(request, model_admin):
        return HttpResponseRedirect(change_url)
    result = push_customer(customer.pk, recreate_missing=customer.sync_status == SyncStatus.MISSING_REMOTE)
    if result.outcome.pushed:
        model_admin.message_user(
            request,
            _("Synced with FluentCart (customer %(fluentcart_id)s).") % {"fluentcart_id": result.fluentcart_id},
            messages.SUCCESS,
        )
    elif result.outcome == Outcome.UNCHANGED:
        model_admin.message_user(request, _("Already up to date in FluentCart: nothing was sent."), messages.SUCCESS)
    elif result.outcome == Outcome.BUSY:
        model_admin.message_user(
            request, _("Another worker is pushing this customer right now; reload in a moment."), messages.WARNING
        )
    elif result.outcome == Outcome.RETRY:
        model_admin.message_user(
            request, _("Not synced yet, will retry: %(error)s") % {"error": result.error}, messages.WARNING
        )
    elif result.outcome == Outcome.PAUSED:
        model_admin.message_user(
            request,
            _("Not sent, pushes are paused: %(reason)s The change stays owed.") % {"reason": result.error},
            messages.ERROR,
        )
    elif result.owed_again:
        model_admin.message_user(
            request, _("Pushed, but the customer was edited meanwhile: the newer version follows."), messages.WARNING
        )
    else:
        model_admin.message_user(request, _("Sync failed: %(error)s") % {"error": result.error}, messages.ERROR)
    return HttpResponseRedirect(change_url)


def _probe_if_paused(request: HttpRequest, model_admin: CustomerAdmin) -> bool:
    """A person pushing while pushes are paused asks FluentCart first (one request): if it answers,
    pushes resume for everyone; if not, say why and send nothing. True when pushes may go ahead."""
    if not circuit.is_open():
        return True
    if circuit.probe(get_client()):
        model_admin.message_user(request, _("FluentCart answers again: pushes resumed."), messages.SUCCESS)
        return True
    model_admin.message_user(
        request,
        _("Pushes to FluentCart are paused: %(reason)s Nothing was sent; every change stays owed.")
        % {"reason": circuit.state().reason},
        messages.ERROR,
    )
    return False


def _conflict_rows(customer: Customer) -> list[dict]:
    """The sync panel's conflicts: the field, both values, which one the sync kept, and the form to
    take the other one."""
    rows = []
    for name, conflict in sorted((customer.sync_conflicts or {}).items()):
        kept = conflict.get("kept", DJANGO)
        other = FLUENTCART if kept == DJANGO else DJANGO
        rows.append(
            {
                "field": name,
                "label": _field_label(name) if name in PUSHED_MODEL_FIELDS else name,
                "django": conflict.get(DJANGO),
                "fluentcart": conflict.get(FLUENTCART),
                "kept": SIDE_NAMES[kept],
                "other": SIDE_NAMES[other],
                "other_value": conflict.get(other),
                "url": reverse("admin:fluentcart_sync_customer_resolve_conflict", args=[customer.pk, name]),
            }
        )
    return rows


def _field_label(field_name: str) -> str:
    """The field's verbose name, as the change form labels it."""
    field = Customer._meta.get_field(field_name)
    return str(getattr(field, "verbose_name", field_name))


def _resolve_conflict(model_admin: CustomerAdmin, request: HttpRequest, object_id: str, field_name: str):
    customer = model_admin.get_object(request, unquote(object_id))
    if customer is None:
        raise Http404(_("No such customer."))
    if not (model_admin.has_change_permission(request, customer) and model_admin.has_sync_permission(request)):
        raise PermissionDenied
    change_url = reverse("admin:fluentcart_sync_customer_change", args=[customer.pk])
    conflict = (customer.sync_conflicts or {}).get(field_name)
    if conflict is None or field_name not in PUSHED_MODEL_FIELDS:
        model_admin.message_user(request, _("That conflict is already resolved."), messages.INFO)
        return HttpResponseRedirect(change_url)
    # The three name fields are one name: a choice on one of them is a choice of the whole name.
    unit = NAME_FIELDS if field_name in NAME_FIELDS else (field_name,)
    decided = {name: c for name, c in (customer.sync_conflicts or {}).items() if name in unit}
    if request.POST.get("choice") == "use":
        other = FLUENTCART if conflict.get("kept", DJANGO) == DJANGO else DJANGO
        for name, each in decided.items():
            setattr(customer, name, model_value(name, each.get(other)))
        try:
            customer.full_clean(exclude=["user"])
        except ValidationError as err:
            model_admin.message_user(
                request,
                _("That value is not valid here: %(error)s") % {"error": "; ".join(err.messages)},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        customer.save()  # an edit like any other: Django now holds it, and its push sends it to FluentCart
        shown = "full_name" if unit == NAME_FIELDS else field_name  # a name is shown whole
        message = _("%(field)s: now %(value)r here; it is pushed to FluentCart.") % {
            "field": _field_label(shown),
            "value": getattr(customer, shown),
        }
    else:
        message = _("%(field)s: kept the value the sync chose.") % {"field": _field_label(field_name)}
    for name in decided:
        forget_conflict(customer.pk, name)
    model_admin.message_user(request, message, messages.SUCCESS)
    return HttpResponseRedirect(change_url)


#: Badge colours per deletion state, as for customers: green done, blue/amber owed, red needs a person.
DELETION_BADGE_COLOURS: dict[str, tuple[str, str]] = {
    DeletionState.NOTHING: ("#eee", "#444"),
    DeletionState.PENDING: ("#e7eefc", "#2559b8"),
    DeletionState.RETRYING: ("#fff4d6", "#8a5a00"),
    DeletionState.DONE: ("#e3f8ec", "#146c43"),
    DeletionState.FAILED: ("#fde8e8", "#b42318"),
}


@admin.register(CustomerDeletion)
class CustomerDeletionAdmin(admin.ModelAdmin):
    """Deleted customers the pull must not bring back, and what each still owes FluentCart.

    Read-only; deleting a record *forgets* the deletion, so the next pull may bring the customer back.
    """

    list_display = ("email_cut", "fluentcart_link", "action", "state_badge", "error_short", "deleted_at", "done_at")
    list_filter = ("state", "action")
    search_fields = ("email", "=fluentcart_id")
    actions = ["forget", "retry_in_fluentcart"]
    readonly_fields = (
        "email",
        "fluentcart_id",
        "customer_id",
        "action",
        "state",
        "error",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "deleted_at",
        "done_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # remembered by deleting a customer, or by fluentcart_erase

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # written only by the deletion engine

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "forget" says what deleting a record means
        return actions

    @admin.display(description=gettext_lazy("email"), ordering="email")
    def email_cut(self, obj: CustomerDeletion) -> str:
        return cut(obj.email)

    @admin.display(description=gettext_lazy("FluentCart id"), ordering="fluentcart_id")
    def fluentcart_link(self, obj: CustomerDeletion) -> str:
        if not obj.fluentcart_id:
            return "–"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            fluentcart_customer_url(obj.fluentcart_id),
            obj.fluentcart_id,
        )

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_badge(self, obj: CustomerDeletion) -> str:
        background, colour = DELETION_BADGE_COLOURS.get(obj.state, ("#eee", "#333"))
        label = DeletionState(obj.state).label if obj.state in DeletionState.values else obj.state
        return format_html(
            '<span class="fluentcart-badge" style="background:{};color:{};padding:2px 8px;border-radius:10px;'
            'font-weight:600;white-space:nowrap;font-size:11px">{}</span>',
            background,
            colour,
            label,
        )

    @admin.display(description=gettext_lazy("last error"))
    def error_short(self, obj: CustomerDeletion) -> str:
        return cut(obj.error, "fluentcart-cut fluentcart-cut-error")

    @admin.action(
        description=gettext_lazy("Forget the selected deletions (the next pull may bring them back)"),
        permissions=["delete"],
    )
    def forget(self, request: HttpRequest, queryset: QuerySet[CustomerDeletion]) -> None:
        owed = queryset.filter(state__in=OWED_DELETION_STATES).count()
        count, _deleted = queryset.delete()
        message = _("Forgot %(count)d deletions: the next pull may bring those customers back.") % {"count": count}
        if owed:
            message += " " + _(
                "%(owed)d of them still owed FluentCart their anonymization or deletion; it will not happen."
            ) % {"owed": owed}
        self.message_user(request, message, messages.WARNING if owed else messages.SUCCESS)

    def has_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fluentcart_sync.sync_customer")

    @admin.action(description=gettext_lazy("Retry in FluentCart"), permissions=["sync"])
    def retry_in_fluentcart(self, request: HttpRequest, queryset: QuerySet[CustomerDeletion]) -> None:
        from .deletions import DONE, apply_deletion, retry

        ids = list(queryset.values_list("pk", flat=True))
        retry(ids)
        outcomes = [apply_deletion(deletion_id).outcome for deletion_id in ids]
        done = outcomes.count(DONE)
        level = messages.SUCCESS if done == len(ids) else messages.WARNING
        self.message_user(
            request, _("%(done)d of %(count)d done in FluentCart.") % {"done": done, "count": len(ids)}, level
        )
