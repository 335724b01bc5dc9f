from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FluentCartSyncConfig(AppConfig):
    name = "fluentcart_sync"
    verbose_name = _("FluentCart sync")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.core.signals import request_finished
        from django.db.models.signals import post_save, pre_delete

        from . import (
            checks,  # noqa: F401  (registers the system checks)
            outcome_log,
        )
        from .deletions import customer_deleting
        from .models import Customer
        from .receivers import customer_saved, user_saved

        post_save.connect(customer_saved, sender=Customer, dispatch_uid="fluentcart_sync.customer_saved")
        pre_delete.connect(customer_deleting, sender=Customer, dispatch_uid="fluentcart_sync.customer_deleting")
        post_save.connect(user_saved, sender=get_user_model(), dispatch_uid="fluentcart_sync.user_saved")
        # A web process (the admin's "Sync now") writes its push counts when the request ends.
        request_finished.connect(outcome_log.flush, dispatch_uid="fluentcart_sync.outcome_log.flush")
