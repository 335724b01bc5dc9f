"""Command-line options and run loop shared by `manage.py fluentcart_sandbox` and
`python -m fluentcart_sync.sandbox` (the latter for benchmarks that run without Django)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import Any, Callable, Mapping

from .faults import Faults
from .server import SandboxServer
from .wire import MODES, FakeFluentCart

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "demo app pass word 1234"
DEFAULT_DB = os.path.join("var", "fluentcart-sandbox.sqlite3")
MEMORY = ":memory:"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's options; username/password default to None so the caller can fill them in."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"SQLite file holding the customers (default {DEFAULT_DB}); {MEMORY} keeps them in memory",
    )
    parser.add_argument("--username", default=None, help="login name accepted by Basic auth")
    parser.add_argument("--password", default=None, help="application password accepted by Basic auth")
    parser.add_argument("--user-email", default="admin@example.com", help="the API user's email")
    parser.add_argument(
        "--noperm-username",
        default=None,
        help="a second login that authenticates but lacks FluentCart permissions (answered 403)",
    )
    parser.add_argument("--noperm-password", default=None, help="that login's application password")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--jitter", type=float, default=0.0, help="latency varies by up to this much")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 500/502/503")
    parser.add_argument("--rate-limit-rate", type=float, default=0.0, help="fraction answered 429")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of a 429")
    parser.add_argument("--slow-rate", type=float, default=0.0, help="fraction stored then answered late")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of a slow answer")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="fraction closed without answer")
    parser.add_argument("--serialize", action="store_true", help="answer one request at a time")
    parser.add_argument(
        "--race-window",
        type=float,
        default=0.0,
        help="seconds between the duplicate-email check and the insert (allows duplicate rows)",
    )
    parser.add_argument(
        "--php-workers",
        type=int,
        default=0,
        help="requests served at once, each for --latency (0: no limit); more wait, up to --backlog",
    )
    parser.add_argument(
        "--backlog", type=int, default=0, help="with --php-workers: requests that may wait; more get 429"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for the faults")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--reset", action="store_true", help="forget stored customers on start")
    parser.add_argument("--log-requests", action="store_true", help="one stderr line per request")


def faults_from(options: Mapping[str, Any]) -> Faults:
    return Faults(
        latency=options["latency"],
        jitter=options["jitter"],
        error_rate=options["error_rate"],
        rate_limit_rate=options["rate_limit_rate"],
        retry_after=options["retry_after"],
        slow_rate=options["slow_rate"],
        slow_seconds=options["slow_seconds"],
        drop_rate=options["drop_rate"],
        serialize=options["serialize"],
        race_window=options["race_window"],
        php_workers=options.get("php_workers", 0),
        backlog=options.get("backlog", 0),
        seed=options["seed"],
    )


def run(
    options: Mapping[str, Any],
    *,
    write: Callable[[str], None],
    username: str | None = None,
    password: str | None = None,
    password_source: str = "the built-in demo default",
    stop_event: threading.Event | None = None,
) -> None:
    """Serve until Ctrl-C, SIGTERM or `stop_event`. `username`/`password` are the fallbacks
    (e.g. from Django settings) used when the options leave them unset."""
    if options.get("password"):
        password, password_source = options["password"], "--password"
    db = None if options["db"] == MEMORY else options["db"]
    fake = FakeFluentCart(
        username=options.get("username") or username or DEFAULT_USERNAME,
        password=password or DEFAULT_PASSWORD,
        db_path=db,
        user_email=options["user_email"],
        faults=faults_from(options),
        mode=options["mode"],
        noperm_username=options.get("noperm_username"),
        noperm_password=options.get("noperm_password"),
    )
    if options["reset"]:
        fake.reset()
    server = SandboxServer(fake, options["host"], options["port"], verbose=options["log_requests"])
    stop = stop_event or threading.Event()
    server.start()
    restore = _on_termination(stop.set)
    try:
        write(
            f"FluentCart sandbox at {server.base_url} (user {fake.username!r}, password from "
            f"{password_source}; {fake.count()} customers in {db or 'memory'}); Ctrl-C stops it."
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        server.stop()
        fake.close()
    write("FluentCart sandbox stopped.")


def _on_termination(callback: Callable[[], None]) -> Callable[[], None]:
    """Turn SIGTERM into `callback` (main thread only); returns the function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: callback())

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fluentcart_sync.sandbox", description="Run the fake FluentCart over HTTP."
    )
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    source = "--password" if options["password"] else "the built-in demo default"
    run(options, write=lambda line: print(line, flush=True), password_source=source)
    return 0
