"""Say whether the FLUENTCART_SYNC settings work, and if not, the likely cause and the fix.

Five steps, each depending on the one before: the settings are complete, the server answers, FluentCart's
REST API is there, it accepts the credentials, and the user may read customers (one page is read). Exit code 0 only
when all five pass. The application password is never printed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from fluentcart_sync import circuit
from fluentcart_sync.checks import check_settings, is_loopback_url
from fluentcart_sync.client import get_client
from fluentcart_sync.conf import app_settings
from fluentcart_sync.exceptions import (
    FluentCartAuthError,
    FluentCartConfigurationError,
    FluentCartConnectError,
    FluentCartError,
    FluentCartNotFound,
    FluentCartPermissionError,
    FluentCartRequestRefused,
    FluentCartRouteNotFound,
    FluentCartServerError,
    FluentCartTimeout,
    FluentCartTransportError,
    FluentCartUnexpectedAnswer,
    FluentCartWrongURL,
)
from fluentcart_sync.url_safety import redact_url

STEPS = ("settings", "reach the server", "find FluentCart's API", "authenticate", "read customers")


@dataclass
class Diagnosis:
    step: str  # the first step that failed
    problem: str
    cause: str
    fix: str


class Command(BaseCommand):
    help = (
        "Check the FluentCart connection: settings, reaching the server, authenticating, and reading one page "
        "of customers. Prints the likely cause and fix of a failure; exit code 0 only when everything works."
    )

    # The doctor checks the settings itself, with a cause and a fix: Django's system checks must not
    # stop it first with a bare SystemCheckError.
    requires_system_checks: list[str] = []

    # From the command line a failure exits 1 without Django's "CommandError: ..." line, which would
    # only repeat the verdict; call_command() still raises CommandError.
    exit_quietly = False

    def run_from_argv(self, argv):
        self.exit_quietly = True
        super().run_from_argv(argv)

    def handle(self, *args, **options):
        self.secret = app_settings.APP_PASSWORD or ""
        url = (app_settings.URL or "").strip()
        self.say("FluentCart connection check")
        self.say(f"  URL:       {redact_url(url) or '(not set)'}")
        self.say(f"  Username:  {app_settings.USERNAME or '(not set)'}")
        self.say(f"  Password:  {'set (hidden)' if self.secret else '(not set)'}")
        self.say_pushes_state()
        self.say("")

        diagnosis = self.check_settings()
        if diagnosis is None:
            diagnosis, page, elapsed = self.read_one_page(url)
        if diagnosis is not None:
            self.report_failure(diagnosis)
            if self.exit_quietly:
                sys.exit(1)
            raise CommandError(f"FluentCart check failed at “{diagnosis.step}”: {diagnosis.problem}")

        for step in STEPS:
            self.say(self.style.SUCCESS(f"  [ok]   {step}"))
        self.say(f"\nVerdict: OK. FluentCart answered in {elapsed * 1000:.0f} ms and holds {page.total} customers.")
        self.say(
            "Pushing also needs FluentCart's customers/manage permission (an Administrator or a FluentCart "
            "Manager has it); reading alone does not prove it."
        )
        if urlsplit(url).scheme == "http" and not is_loopback_url(url):
            self.say(
                self.style.WARNING(
                    "Warning: the URL is plain http://, so the application password crosses the "
                    "network unencrypted. Use https:// for a real shop."
                )
            )

    def say_pushes_state(self) -> None:
        """Whether pushes are paused (the circuit is open), and why: the first thing to know."""
        try:
            state = circuit.state()
        except DatabaseError:
            return  # no database yet (before migrate): nothing can be paused
        if state.open:
            self.say(
                self.style.WARNING(
                    f"  Pushes:    paused since {state.opened_at:%Y-%m-%d %H:%M} UTC: {state.reason}. Every change "
                    "stays owed; the sweep (fluentcart_sync_due) resumes pushing once FluentCart accepts the settings."
                )
            )
        else:
            self.say("  Pushes:    flowing")

    # -- steps --------------------------------------------------------------------------------------

    def check_settings(self) -> Diagnosis | None:
        serious = [message for message in check_settings() if message.is_serious()]
        if not serious:
            return None
        return Diagnosis(
            "settings",
            "; ".join(str(m.msg) for m in serious),
            "the FLUENTCART_SYNC settings are incomplete or unusable",
            " ".join(f"[{m.id}] {m.hint}" for m in serious if m.hint) or "Fix the settings above.",
        )

    def read_one_page(self, url: str):
        try:
            client = get_client(pool_size=1)
        except FluentCartConfigurationError as err:
            return (
                Diagnosis(
                    "settings",
                    str(err),
                    "the URL setting is unusable",
                    "Set FLUENTCART_URL to the shop's address, e.g. https://shop.example.com",
                ),
                None,
                0.0,
            )
        started = time.monotonic()
        try:
            page = client.list_customers(page=1, per_page=10)
        except FluentCartUnexpectedAnswer:
            unexpected = True
        except FluentCartError as err:
            return diagnose(err, url, app_settings.timeout), None, 0.0
        except (KeyError, TypeError, AttributeError, ValueError):
            unexpected = True
        else:
            unexpected = False
        if unexpected:
            # A 200 with JSON that is not FluentCart's customer list: another plugin or a proxy answers.
            return (
                Diagnosis(
                    "find FluentCart's API",
                    "the server answered with JSON that is not FluentCart's customer list",
                    "another plugin, a proxy or a different API answers at this address, or FluentCart's version "
                    "differs from the one this app supports",
                    "Check that FLUENTCART_URL is the shop's address and that …/wp-json/fluent-cart/v2/customers "
                    "opens in a browser (logged in) with a 'customers' list.",
                ),
                None,
                0.0,
            )
        return None, page, time.monotonic() - started

    # -- output -------------------------------------------------------------------------------------

    def report_failure(self, diagnosis: Diagnosis) -> None:
        failed_at = STEPS.index(diagnosis.step)
        for step in STEPS[:failed_at]:
            self.say(self.style.SUCCESS(f"  [ok]   {step}"))
        self.say(self.style.ERROR(f"  [FAIL] {diagnosis.step}: {diagnosis.problem}"))
        for step in STEPS[failed_at + 1 :]:
            self.say(f"  [--]   {step} (not tried)")
        self.say("")
        self.say(self.style.ERROR(f"Verdict: FAILED at “{diagnosis.step}”."))
        self.say(f"  Likely cause: {diagnosis.cause}")
        self.say(f"  Fix: {diagnosis.fix}")

    def say(self, text: str) -> None:
        if self.secret and len(self.secret) >= 4:
            text = text.replace(self.secret, "********")  # belt and braces: nothing should carry it
        self.stdout.write(text)


def diagnose(err: FluentCartError, url: str, timeout: tuple[float, float]) -> Diagnosis:
    """The failed step, the likely cause and the fix for one error from the first request."""
    import requests
    from urllib3.exceptions import NameResolutionError

    host = urlsplit(url).hostname or url
    if isinstance(err, FluentCartConnectError):
        cause = err.__cause__
        reason = _root_reason(cause)
        if isinstance(cause, requests.exceptions.SSLError):
            return Diagnosis(
                "reach the server",
                f"TLS error talking to {host}: {_short(reason or cause)}",
                "the site's HTTPS certificate is not trusted (self-signed, expired, for another name, or an "
                "incomplete chain), or the port does not speak HTTPS",
                "Install a valid certificate on the site (e.g. Let's Encrypt) and use the exact host name it is issued "
                "for; for a private CA, point REQUESTS_CA_BUNDLE at it. Do not turn certificate checks off.",
            )
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return Diagnosis(
                "reach the server",
                f"no connection to {host} within {timeout[0]:g}s",
                "a firewall drops the connection, the host name points at the wrong server, or the site is down",
                "Check that the site opens in a browser from this machine, and that its firewall lets this server in.",
            )
        if isinstance(reason, NameResolutionError):
            return Diagnosis(
                "reach the server",
                f"the host name {host} does not resolve",
                "a typo in FLUENTCART_URL, or DNS not set up for the site",
                "Correct the host name in FLUENTCART_URL.",
            )
        if "refused" in str(reason or cause).lower():
            return Diagnosis(
                "reach the server",
                f"connection refused by {host}",
                "nothing listens at that address and port: the web server is down, or the URL has the wrong port or "
                "scheme",
                "Start the site, or correct the host, port and http/https in FLUENTCART_URL.",
            )
        return Diagnosis(
            "reach the server",
            str(err),
            "the server could not be reached",
            "Check FLUENTCART_URL and that the site opens in a browser from this machine.",
        )
    if isinstance(err, FluentCartTimeout):
        return Diagnosis(
            "reach the server",
            f"the server accepted the connection but did not answer within {timeout[1]:g}s",
            "the WordPress host is overloaded or very slow, or a firewall holds the request",
            "Open the site in a browser to see if it is slow; raise FLUENTCART_TIMEOUT if it is merely slow.",
        )
    if isinstance(err, FluentCartTransportError):
        return Diagnosis(
            "reach the server",
            str(err),
            "the connection dropped before an answer came (a crashing PHP worker or a proxy cutting the connection)",
            "Look at the web server's error log.",
        )
    if isinstance(err, FluentCartAuthError):
        if urlsplit(url).scheme == "http" and not is_loopback_url(url):
            return Diagnosis(
                "authenticate",
                "FluentCart refused the credentials (HTTP 401) over plain http://",
                "WordPress accepts Application Passwords only over HTTPS (unless the site's environment type is "
                "'local'), so over http:// the credentials are ignored",
                "Use the https:// address of the shop in FLUENTCART_URL.",
            )
        return Diagnosis(
            "authenticate",
            "FluentCart refused the credentials (HTTP 401)",
            "a wrong username or application password (the account's login password does not work here), or a host "
            "that strips the Authorization header",
            "In WordPress, Users → Profile → Application Passwords: create one for this user and set it as "
            "FLUENTCART_APP_PASSWORD, with the user's login name or email as FLUENTCART_USERNAME. If both are right, "
            "the host strips the Authorization header: on Apache add "
            "'SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1' to .htaccess.",
        )
    if isinstance(err, FluentCartPermissionError):
        return Diagnosis(
            "read customers",
            "the user is logged in but may not read customers (HTTP 403)",
            "the WordPress user has no FluentCart customer permissions (a Subscriber, for instance)",
            "Give the user the Administrator role, or FluentCart Pro's Manager role (customers view and manage).",
        )
    if isinstance(err, FluentCartRequestRefused):
        return Diagnosis(
            "read customers",
            "the request was refused (HTTP 403) by something in front of WordPress, not by WordPress itself",
            "a firewall, a proxy or a security plugin blocks this client (its address, its User-Agent or its rules)",
            "Allow requests to /wp-json/fluent-cart/ from this server in the firewall or security plugin.",
        )
    if isinstance(err, FluentCartWrongURL):
        location = err.response.headers.get("Location") if err.response is not None else None
        if location:
            return Diagnosis(
                "find FluentCart's API",
                f"the API address redirects (HTTP {err.status_code}) to {redact_url(location)}",
                "FLUENTCART_URL is not the site's final address: a wrong path (WordPress redirects it to a guessed "
                "post), http:// instead of https://, or www. missing or extra",
                "Set FLUENTCART_URL to the address WordPress is installed at, exactly as the browser ends up showing "
                "it (e.g. https://shop.example.com); API requests never follow redirects.",
            )
        return Diagnosis(
            "find FluentCart's API",
            "no WordPress REST API at this URL (a 404 web page, not JSON)",
            "FLUENTCART_URL is not the WordPress site's address, or WordPress is installed in a subdirectory",
            "Set FLUENTCART_URL to the address WordPress is installed at (e.g. https://example.com/shop); "
            "…/wp-json/fluent-cart/v2/customers should open in a browser.",
        )
    if isinstance(err, FluentCartRouteNotFound):
        body = err.body if isinstance(err.body, dict) else {}
        data = found if isinstance(found := body.get("data"), dict) else {}
        if "wpfluent" in data:
            return Diagnosis(
                "find FluentCart's API",
                "FluentCart is active but has no customers route at this URL (404 rest_no_route)",
                "the URL's path is wrong, or the FluentCart version lacks the v2 customers API",
                "Set FLUENTCART_URL to the site's address (https://shop.example.com) and update FluentCart.",
            )
        return Diagnosis(
            "find FluentCart's API",
            "WordPress answers, but there is no fluent-cart/v2 route (404 rest_no_route)",
            "the FluentCart plugin is not active on this site, or FLUENTCART_URL points at another WordPress site",
            "Activate FluentCart in WordPress (Plugins), and check that FLUENTCART_URL is the shop's address.",
        )
    if isinstance(err, FluentCartNotFound):
        return Diagnosis(
            "find FluentCart's API",
            "no WordPress REST API at this URL (HTTP 404)",
            "FLUENTCART_URL is not the WordPress site's address, or WordPress is installed in a subdirectory",
            "Set FLUENTCART_URL to the address WordPress is installed at (e.g. https://example.com/shop); "
            "…/wp-json/fluent-cart/v2/customers should open in a browser.",
        )
    if isinstance(err, FluentCartServerError) and err.status_code < 300:
        return Diagnosis(
            "find FluentCart's API",
            str(err),
            "a caching plugin, a login wall or a maintenance page answers instead of the REST API",
            "Exclude /wp-json/ from caching and login protection.",
        )
    status = getattr(err, "status_code", "?")
    return Diagnosis(
        "read customers",
        str(err),
        f"FluentCart or its host answered HTTP {status}",
        "Look at the WordPress error log; run the check again in a minute if the host was busy.",
    )


def _root_reason(cause: BaseException | None):
    """urllib3's own reason inside a requests exception (NewConnectionError, SSLError, ...)."""
    reason = cause.args[0] if cause is not None and cause.args else None
    return getattr(reason, "reason", reason)


def _short(error: object) -> str:
    text = str(error)
    return text if len(text) <= 160 else text[:157] + "..."
