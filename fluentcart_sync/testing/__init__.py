"""The fake FluentCart for a host project's own tests: route the app to it, seed it, break it, read it.

    from fluentcart_sync.testing import fluentcart_fake

    with fluentcart_fake() as fc:
        fc.seed_customer("old@example.com", full_name="Already There")
        ...  # code that pushes customers
        assert fc.customer("new@example.com")["full_name"] == "New Person"

The fake is served over real HTTP on an ephemeral 127.0.0.1 port, in a thread of the test process,
and ``FLUENTCART_SYNC`` is overridden to point at it for the duration. Serving it, rather than
patching ``requests`` through ``responses``, is deliberate:

- nothing is patched, so a host's own ``responses``/``requests-mock`` set-up for other services is
  left alone (two ``RequestsMock`` objects do not share a process gracefully);
- it needs nothing beyond the standard library and the app (``responses`` is not a dependency);
- the app's real HTTP stack runs (its pooled session, timeouts, a dropped connection), so the
  faults behave as they do against a real shop;
- a ``manage.py`` subprocess, a task worker or Django's ``live_server`` thread reach it too.

See docs/testing.md; the pytest fixture is in ``fluentcart_sync.testing.pytest_plugin``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.test.utils import override_settings

from fluentcart_sync import circuit

from ..sandbox import FakeFluentCart, SandboxServer, SeenRequest
from ..sandbox.audit import Audit, audit
from ..sandbox.wire import MODES

__all__ = ["FluentCartFake", "fluentcart_fake"]

USERNAME = "fluentcart-test"
APP_PASSWORD = "test only pass word 0000"


class FluentCartFake:
    """A running fake FluentCart: seed it, inject faults, read what it received and what it holds."""

    def __init__(self, fake: FakeFluentCart, server: SandboxServer) -> None:
        self.fake = fake  # the sandbox object itself, for anything the helpers below do not cover
        self.server = server
        self._initial_faults = fake.faults

    @property
    def url(self) -> str:
        """The site URL the app is pointed at (``http://127.0.0.1:<port>``)."""
        return self.server.url

    @property
    def username(self) -> str:
        return self.fake.username

    @property
    def app_password(self) -> str:
        return self.fake.password

    # -- what FluentCart holds ---------------------------------------------------------------------

    def seed_customer(self, email: str, **fields: Any) -> dict[str, Any]:
        """Store a customer in the fake as if created in FluentCart's own admin; returns it as
        ``GET /customers/{id}`` shows it (its ``id`` included). No request is logged."""
        return self.fake.create_customer(email=email, **fields)

    def customers(self) -> list[dict[str, Any]]:
        """Every customer FluentCart holds, oldest first."""
        return self.fake.customers()

    def customer(self, email: str) -> dict[str, Any] | None:
        """The customer with this email (ignoring case), or None. Raises AssertionError when
        FluentCart holds it twice, which is the one thing this app promises never to cause."""
        found = [c for c in self.fake.customers() if str(c["email"]).lower() == email.strip().lower()]
        assert len(found) <= 1, f"FluentCart holds {email} {len(found)} times: ids {[c['id'] for c in found]}"
        return found[0] if found else None

    def count(self) -> int:
        return self.fake.count()

    # -- what FluentCart received ------------------------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[SeenRequest]:
        """The requests received, oldest first, optionally one method's and/or one route's.

        Each is ``(method, path, body)`` with ``.query`` and ``.status``; ``path`` is the route inside
        FluentCart's namespace (``/customers``, ``/customers/7``) and ``body`` the parsed JSON.
        """
        return [
            seen
            for seen in list(self.fake.requests_seen)
            if (method is None or seen.method == method.upper()) and (path is None or seen.path == path)
        ]

    def created(self) -> list[dict[str, Any]]:
        """The bodies of the customer creations FluentCart accepted, oldest first."""
        return [seen.body for seen in self.requests("POST", "/customers") if seen.status == 200]

    def audit(self) -> Audit:
        """Compare every local ``Customer`` with FluentCart: ``.ok`` when each is synced, held exactly
        once and linked to the right id; ``.summary()`` says what is wrong. Needs database access."""
        from ..models import Customer

        rows = Customer.objects.values_list("email", "fluentcart_id", "sync_status")
        return audit(rows, self.fake.customers())

    def reset(self) -> None:
        """Forget every customer and request; faults and mode stay."""
        self.fake.reset()

    # -- breaking it -------------------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> None:
        """Change the fault settings until ``clear_faults()``: ``error_rate=1.0`` (every request a
        5xx), ``rate_limit_rate=1.0, retry_after=30`` (429s), ``drop_rate`` (connection closed without
        an answer), ``slow_rate`` (no answer within the app's timeout), ``latency``, ``seed``...
        See ``fluentcart_sync.sandbox.Faults``. Unknown names raise TypeError."""
        self.fake.faults = self.fake.faults.updated(changes)

    def clear_faults(self) -> None:
        self.fake.faults = self._initial_faults

    @contextlib.contextmanager
    def faults(self, **changes: Any) -> Iterator[None]:
        """``set_faults(**changes)`` for the duration of a ``with`` block."""
        before = self.fake.faults
        self.set_faults(**changes)
        try:
            yield
        finally:
            self.fake.faults = before

    @contextlib.contextmanager
    def mode(self, mode: str) -> Iterator[None]:
        """Answer every FluentCart request as a misconfigured site would, for a ``with`` block:
        ``"unauthorized"`` (401: wrong application password), ``"forbidden"`` (403: the user lacks
        FluentCart's permissions) or ``"no_route"`` (404: FluentCart inactive or a wrong URL)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        before, self.fake.mode = self.fake.mode, mode
        try:
            yield
        finally:
            self.fake.mode = before


@contextlib.contextmanager
def fluentcart_fake(*, timeout: float = 2.0, **app_settings: Any) -> Iterator[FluentCartFake]:
    """Serve a fresh fake FluentCart on 127.0.0.1 and point ``FLUENTCART_SYNC`` at it.

    ``timeout`` becomes the app's read timeout (short, so a ``slow_rate`` fault does not hold a test
    for long); other keyword arguments are ``FLUENTCART_SYNC`` keys to override as well
    (``AUTO_PUSH=False``, ``MAX_ATTEMPTS=2``...). The server is stopped and the settings restored
    when the block ends, however it ends.
    """
    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD)
    # A slow answer outlasts the app's timeout, whatever the timeout is.
    fake.faults = fake.faults.updated({"slow_seconds": timeout + 1.0})
    server = SandboxServer(fake, "127.0.0.1", 0)
    try:
        server.start()
        overrides = {
            **(getattr(settings, "FLUENTCART_SYNC", None) or {}),
            "URL": server.url,
            "USERNAME": USERNAME,
            "APP_PASSWORD": APP_PASSWORD,
            "TIMEOUT": timeout,
            **app_settings,
        }
        # Whether pushes are paused is cached per process: a test starts and ends with the database's answer.
        circuit.forget_cached_state()
        with override_settings(FLUENTCART_SYNC=overrides):
            yield FluentCartFake(fake, server)
    finally:
        circuit.forget_cached_state()
        server.stop()
        fake.close()
