"""The app's settings: one ``FLUENTCART_SYNC`` dict in Django settings, read on every access.

Reading lazily (never at import time) keeps ``override_settings`` working in tests and lets a
host project build the dict from its environment however it likes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Where FluentCart lives: the WordPress site URL (https://shop.example.com) or the full REST
    # base (https://shop.example.com/wp-json/fluent-cart/v2).
    "URL": "",
    # A WordPress user with FluentCart's customers/manage permission, and one of its
    # Application Passwords (never the login password: WordPress refuses that over REST).
    "USERNAME": "",
    "APP_PASSWORD": "",
    # Seconds: (connect, read). A number means the read timeout, with a short connect timeout.
    # connect + read is also each request's total deadline: a server that trickles its answer is cut
    # off then, however often it sends a byte.
    "TIMEOUT": 10.0,
    "CONNECT_TIMEOUT": 3.05,
    # Push new and changed customers automatically after their transaction commits.
    "AUTO_PUSH": True,
    # Create a linked Customer for every new user (staff and superusers skipped unless enabled).
    "CREATE_CUSTOMER_FOR_NEW_USERS": True,
    "INCLUDE_STAFF_USERS": False,
    # Send the linked WordPress user id. Off: FluentCart links users by email on its own, and a
    # wrong user_id is stored without any check.
    "SEND_USER_ID": False,
    # A claim on a row expires after this long, so a crashed worker's records are taken up again.
    # Keep it well above the time one push can take (a few requests, each bounded by TIMEOUT).
    "LEASE_SECONDS": 300,
    # Retry policy for transient failures (network, timeouts, 429, 5xx): exponential backoff from
    # RETRY_BASE_SECONDS up to RETRY_MAX_SECONDS between attempts, for RETRY_WINDOW_SECONDS after
    # the first failure of a run, then `failed`. MAX_ATTEMPTS (None: no limit) can end it sooner.
    "MAX_ATTEMPTS": None,
    "RETRY_BASE_SECONDS": 30,
    "RETRY_MAX_SECONDS": 6 * 3600,
    "RETRY_WINDOW_SECONDS": 3 * 24 * 3600,
    "RETRY_AFTER_CAP_SECONDS": 600,
    # After a POST that got no answer, no new POST for that customer for this long: the first could
    # still be processed. None: a minute, or twice the request deadline if longer. It must cover how
    # long the server may go on with a request the client gave up on (PHP's max_execution_time is 30 s
    # by default), not only how long the client waits.
    "QUARANTINE_SECONDS": None,
    # Two-way sync: who wins a field that both Django and FluentCart changed since the last sync
    # ("django" or "fluentcart"); the other value is kept on the row as a conflict.
    "CONFLICT_POLICY": "django",
    # A pull creates a local customer for each FluentCart customer Django does not have.
    "PULL_CREATES_CUSTOMERS": True,
    # What deleting a customer in Django does in FluentCart: "keep" (nothing), "anonymize" (personal
    # fields replaced, the id and orders kept) or "delete" (FluentCart deletes its orders with it).
    "ON_DELETE": "keep",
    # How often a process re-reads whether the circuit is open (pushes paused).
    "CIRCUIT_CHECK_SECONDS": 5,
    # Dotted path to a callable (customer, payload) -> payload that adds FluentCart fields to what is
    # sent, or None. It must be deterministic (docs/extending.md).
    "PAYLOAD_HOOK": None,
    # Name of the Django Tasks backend the push task is enqueued on.
    "TASK_BACKEND": "default",
    # The sweep and large admin selections queue one task per chunk of this many customers (a save
    # still queues one task for its customer) ...
    "TASK_CHUNK_SIZE": 100,
    # ... which pushes them with this many requests in flight. None: as many as FluentCart answers
    # well, found by the worker process as it goes (up to MAX_CONCURRENCY); a number fixes it.
    "TASK_CONCURRENCY": None,
    # The most requests in flight an adaptive limit may reach (the backfill without --concurrency,
    # tasks without TASK_CONCURRENCY), and the size of their connection pool.
    "MAX_CONCURRENCY": 16,
    # A worker that takes a customer's task while other pushes are owed pushes up to this many of
    # them with it, concurrently (0: each task pushes its own customer only).
    "COALESCE_LIMIT": 1000,
    # The shop's currency (ISO 4217), as set in FluentCart's Store Settings: the customers API gives
    # lifetime values in its cents but never names it. Used only to show money in the admin.
    "CURRENCY": "USD",
    # The admin pushes a selection inline up to this size; a larger one is enqueued.
    "ADMIN_INLINE_PUSH_LIMIT": 50,
    # The bearer token that reads /fluentcart/metrics (besides a staff session). Empty: the
    # FLUENTCART_METRICS_TOKEN environment variable, and if that is unset too, staff only.
    "METRICS_TOKEN": "",
}


class FluentCartSyncSettings:
    """Attribute access to ``settings.FLUENTCART_SYNC`` merged over ``DEFAULTS``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown fluentcart_sync setting: {name}")
        user_settings = getattr(settings, "FLUENTCART_SYNC", None) or {}
        return user_settings.get(name, DEFAULTS[name])

    @property
    def timeout(self) -> tuple[float, float]:
        """The (connect, read) timeout pair that requests expects."""
        value = self.TIMEOUT
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ValueError(f"TIMEOUT must be a number of seconds or a (connect, read) pair, not {value!r}")
            return float(value[0]), float(value[1])
        return float(self.CONNECT_TIMEOUT), float(value)

    @property
    def request_deadline(self) -> float:
        """The longest one request may take in total, answer included."""
        connect, read = self.timeout
        return connect + read

    @property
    def quarantine_seconds(self) -> float:
        value = self.QUARANTINE_SECONDS
        if value is None:
            return max(60.0, 2 * self.request_deadline)
        return float(value)


app_settings = FluentCartSyncSettings()
