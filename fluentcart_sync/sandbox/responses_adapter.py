"""Plug a FakeFluentCart into a `responses.RequestsMock`, for tests that never open a socket.

Faults become what `requests` would raise: a slow answer is a ReadTimeout (the request was stored),
a dropped connection a ConnectionError. Latency is not slept: these tests want speed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .wire import FakeFluentCart


def register(
    fake: "FakeFluentCart",
    rsps: Any,
    base_url: str,
    *,
    noperm_username: str | None = None,
    noperm_password: str | None = None,
) -> Any:
    """Route every method on URLs starting with `base_url` to `fake`; returns the registered response.

    When `base_url` is a REST base (…/wp-json/…), the fake takes the part before it as its site URL,
    so paginator URLs point at the mocked site. `noperm_username`/`noperm_password` add the login
    that authenticates without FluentCart permissions (answered 403), like the CLI options.
    """
    if noperm_username is not None:
        fake.noperm_username, fake.noperm_password = noperm_username, noperm_password
    import requests
    from responses import CallbackResponse

    class SandboxResponse(CallbackResponse):
        """One registration for every HTTP method: the fake decides what a method means."""

        def matches(self, request: Any) -> tuple[bool, str]:
            if not self._url_matches(self.url, str(request.url)):
                return False, "URL does not match"
            return True, ""

        @property
        def call_count(self) -> int:
            # The fake is a whole site, not an expectation: a test that sends nothing (the point of
            # some tests) must not trip assert_all_requests_are_fired.
            return max(1, len(self._calls))

    if "/wp-json" in base_url:
        fake.site_url = base_url.split("/wp-json", 1)[0].rstrip("/")
    pattern = re.compile(re.escape(base_url.rstrip("/")) + r"(/|\?|$)")

    def callback(request: Any) -> Any:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):  # a generator or file: read it all
            body = b"".join(body) if not hasattr(body, "read") else body.read()
        reply = fake.respond(request.method, request.url, dict(request.headers), body, sleep=False)
        if reply.fault == "drop":
            return requests.exceptions.ConnectionError(
                "Connection aborted: remote end closed connection without response", request=request
            )
        if reply.fault == "slow":
            return requests.exceptions.ReadTimeout("Read timed out (sandbox slow fault)", request=request)
        return reply.as_tuple()

    response = SandboxResponse("GET", pattern, callback=callback, content_type=None)
    rsps.add(response)
    return response
