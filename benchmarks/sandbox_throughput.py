"""Measure the fake FluentCart's HTTP throughput: `python benchmarks/sandbox_throughput.py [--url URL]`.

Without --url it starts an in-memory sandbox in this process. Each thread keeps one
requests.Session (keep-alive) and alternates list, create and duplicate-create calls.
"""

from __future__ import annotations

import os as _os
import sys as _sys

# benchmarks/queue.py is named like the standard library's `queue`: keep this directory off the path.
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _os.path.dirname(_os.path.abspath(__file__))]

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, no install needed


def main(argv: list[str] | None = None) -> int:
    import requests

    from fluentcart_sync.sandbox import FakeFluentCart, Faults, SandboxServer

    parser = argparse.ArgumentParser(prog="benchmarks/sandbox_throughput.py")
    parser.add_argument("--url", help="site URL of a running sandbox (default: start one here)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--latency", type=float, default=0.025, help="only for the in-process sandbox")
    options = parser.parse_args(argv)

    server = None
    url = options.url
    if not url:
        server = SandboxServer(FakeFluentCart(faults=Faults(latency=options.latency))).start()
        url = server.url
    base = url.rstrip("/") + "/wp-json/fluent-cart/v2"
    done = threading.Event()
    counts: list[int] = []
    errors: list[str] = []

    def worker(number: int) -> None:
        sent = 0
        with requests.Session() as session:
            session.auth = ("demo", "demo app pass word 1234")
            while not done.is_set():
                kind = sent % 3
                try:
                    if kind == 0:
                        answer = session.get(base + "/customers", params={"search": f"t{number}-"}, timeout=10)
                    else:
                        email = f"t{number}-{sent - kind + 1}@example.com"  # the second POST is a duplicate
                        answer = session.post(
                            base + "/customers", json={"email": email, "full_name": "B M"}, timeout=10
                        )
                    if answer.status_code not in (200, 422):
                        errors.append(str(answer.status_code))
                except requests.RequestException as err:
                    errors.append(type(err).__name__)
                sent += 1
        counts.append(sent)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(options.threads)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(options.seconds)
    done.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    total = sum(counts)
    print(
        f"{total} requests in {elapsed:.1f} s with {options.threads} keep-alive sessions: "
        f"{total / elapsed:.0f} req/s, {len(errors)} errors"
    )
    if server is not None:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
