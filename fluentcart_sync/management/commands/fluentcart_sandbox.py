"""`manage.py fluentcart_sandbox`: run the fake FluentCart over HTTP for the demo and manual testing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from fluentcart_sync.sandbox import cli


class Command(BaseCommand):
    help = (
        "Serve a fake FluentCart customers API (state kept in an SQLite file) with optional "
        "latency and faults. Credentials default to FLUENTCART_SYNC['USERNAME'/'APP_PASSWORD']."
    )
    # Lets a test stop the command from another thread: call_command(..., stop_event=event).
    stealth_options = ("stop_event",)

    def add_arguments(self, parser: Any) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        conf = getattr(settings, "FLUENTCART_SYNC", {}) or {}
        password = conf.get("APP_PASSWORD")
        cli.run(
            options,
            write=self.stdout.write,
            username=conf.get("USERNAME"),
            password=password,
            password_source=("settings FLUENTCART_SYNC['APP_PASSWORD']" if password else "the built-in demo default"),
            stop_event=options.get("stop_event"),
        )
