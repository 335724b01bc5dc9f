"""The app's URLs for a host project to mount, e.g. ``path("fluentcart/", include("fluentcart_sync.urls"))``."""

from django.urls import path

from .metrics import metrics_view

app_name = "fluentcart_sync"

urlpatterns = [path("metrics", metrics_view, name="metrics")]
