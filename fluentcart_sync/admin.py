"""The Customer admin: sync state at a glance, and a permission-guarded push action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Customer, SyncStatus
from .services import Outcome, push_customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "status", "sync_status", "fluentcart_id", "sync_error_short", "synced_at")
    list_filter = ("sync_status", "status")
    search_fields = ("email", "full_name", "first_name", "last_name")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    actions = ["push_to_fluentcart"]
    readonly_fields = (
        "fluentcart_id", "sync_status", "sync_error", "sync_field_errors", "sync_attempts", "last_attempt_at",
        "next_attempt_at", "synced_at", "created_at", "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "full_name", "first_name", "last_name", "status", "user", "notes")}),
        ("Address", {"fields": ("city", "state", "postcode", "country")}),
        ("FluentCart sync", {"fields": readonly_fields}),
    )

    @admin.display(description="last error")
    def sync_error_short(self, obj: Customer) -> str:
        return (obj.sync_error[:80] + "…") if len(obj.sync_error) > 80 else obj.sync_error

    def has_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fluentcart_sync.sync_customer")

    @admin.action(description="Push to FluentCart", permissions=["sync"])
    def push_to_fluentcart(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        counts = {"pushed": 0, "already": 0, "failed": 0, "busy": 0}
        for customer_id, sync_status in queryset.values_list("pk", "sync_status"):
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
            if result.configuration_error:
                self.message_user(request, f"Stopped: {result.error}", messages.ERROR)
                break
        message = f"{counts['pushed']} pushed, {counts['already']} already synced, {counts['failed']} failed"
        if counts["busy"]:
            message += f", {counts['busy']} in progress elsewhere"
        level = messages.ERROR if counts["failed"] else messages.SUCCESS
        self.message_user(request, message + ".", level)
