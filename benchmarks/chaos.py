"""Chaos benchmark: push many customers through a FluentCart that fails a lot, then count.

The fake FluentCart runs in its own process (so it does not share a core's worth of GIL with the
pushing threads) with 20% 5xx (half after storing the customer), 10% 429 with Retry-After, 5%
answers slower than the client's timeout (after storing), and 5% dropped connections (half after
storing). The sweep (`fluentcart_sync_due --run`) runs as cron would, until nothing is owed; during
its first rounds a thread keeps editing random customers (city, notes, email) through the ordinary
`save()`, as staff would. Then every local customer is compared with what the fake holds (one
customer each, and every field equal to the final local data), and the figures are printed:

    .venv/bin/python benchmarks/chaos.py                  # 10,000 customers, a throwaway SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fluentcart_chaos .venv/bin/python benchmarks/chaos.py

With DATABASE_URL the benchmark migrates that database and DELETES ITS CUSTOMERS first: use a
database of its own.
"""

from __future__ import annotations

import os as _os
import sys as _sys

# benchmarks/queue.py is named like the standard library's `queue`: keep this directory off the path.
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _os.path.dirname(_os.path.abspath(__file__))]

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USERNAME = "chaos"
PASSWORD = "chaos only pass word 4242"


def start_fake(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable, "-m", "fluentcart_sync.sandbox", "--host", "127.0.0.1", "--port", "0", "--db", ":memory:",
        "--username", USERNAME, "--password", PASSWORD,
        "--error-rate", "0.20", "--rate-limit-rate", "0.10", "--retry-after", "1",
        "--slow-rate", "0.05", "--slow-seconds", str(args.timeout * 2), "--drop-rate", "0.05",
        "--seed", str(args.seed),
    ]
    fake = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = fake.stdout.readline()
    match = re.search(r"at (http://[^/\s]+)", line)
    if not match:
        fake.kill()
        raise SystemExit(f"the fake FluentCart did not start: {line!r}")
    return fake, match.group(1)


def control(site: str, route: str) -> object:
    with urllib.request.urlopen(f"{site}/__sandbox__/{route}", timeout=60) as answer:
        return json.load(answer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--timeout", type=float, default=0.5, help="client read timeout in seconds (default 0.5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=1800, help="give up after this many seconds")
    parser.add_argument("--edit-sweeps", type=int, default=3, help="sweeps during which customers are edited (0: none)")
    args = parser.parse_args()

    scratch = None
    if not os.environ.get("DATABASE_URL"):
        scratch = tempfile.TemporaryDirectory(prefix="fluentcart-chaos-")
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch.name}/chaos.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ["TASKS_BACKEND"] = "immediate"
    os.environ["FLUENTCART_LOG_LEVEL"] = "ERROR"  # 10,000 "created" lines would drown the figures

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import CommandError, call_command
    from django.db.models import Min
    from django.utils import timezone

    from fluentcart_sync.models import Customer, CustomerDeletion, SyncStatus
    from fluentcart_sync.payloads import PUSHED_FIELDS, build_payload
    from fluentcart_sync.sandbox.audit import audit, stale_fields
    from tests.editing import Editor

    call_command("migrate", verbosity=0)
    Customer.objects.all().delete()
    CustomerDeletion.objects.all().delete()  # a fresh run: the last run's customers are not "deleted here"
    fake, site = start_fake(args)
    try:
        settings.FLUENTCART_SYNC = {
            **settings.FLUENTCART_SYNC, "URL": site, "USERNAME": USERNAME, "APP_PASSWORD": PASSWORD,
            "TIMEOUT": args.timeout, "CONNECT_TIMEOUT": 3.0, "AUTO_PUSH": False, "MAX_ATTEMPTS": 100,
            "RETRY_BASE_SECONDS": 0.05, "RETRY_MAX_SECONDS": 1.0, "LEASE_SECONDS": 300,
            # The fake answers from its own process at once: twice the request deadline is enough here,
            # not the minute a real WordPress needs.
            "QUARANTINE_SECONDS": 2 * (3.0 + args.timeout),
        }
        Customer.objects.bulk_create(
            (Customer(email=f"chaos{i}@example.com", full_name=f"Chaos Customer {i}") for i in range(args.customers)),
            batch_size=1000,
        )
        print(f"{args.customers} customers, {args.concurrency} in flight, read timeout {args.timeout}s, "
              f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}", flush=True)

        started = time.monotonic()
        sweeps = 0
        editor = Editor(list(Customer.objects.values_list("pk", flat=True)), seed=args.seed, pause=0.002)
        if args.edit_sweeps:
            editor.__enter__()
        while Customer.objects.unsynced().exists() and time.monotonic() - started < args.deadline:
            try:
                call_command("fluentcart_sync_due", "--run", "--grace", "0", "--concurrency", str(args.concurrency),
                             stdout=io.StringIO())
            except CommandError:
                pass  # exit 1: some customers are left to retry, which the next sweep does
            sweeps += 1
            if sweeps == args.edit_sweeps:
                editor.__exit__()
            due = Customer.objects.filter(sync_status=SyncStatus.RETRYING).aggregate(due=Min("next_attempt_at"))["due"]
            if due is not None:
                time.sleep(min(2.0, max(0.0, (due - timezone.now()).total_seconds())))
            print(f"  sweep {sweeps}: {Customer.objects.unsynced().count()} left after "
                  f"{time.monotonic() - started:.1f}s ({editor.edits} edits so far)", flush=True)
        editor.__exit__()
        wall = time.monotonic() - started

        stats = control(site, "stats")
        remote = control(site, "customers")
        result = audit(Customer.objects.values_list("email", "fluentcart_id", "sync_status"), remote)
        local = ({"fluentcart_id": c.fluentcart_id, **build_payload(c)} for c in Customer.objects.iterator())
        stale = stale_fields(local, remote, PUSHED_FIELDS)
    finally:
        fake.terminate()
        fake.wait(10)
        if scratch is not None:
            scratch.cleanup()

    faults = {status: n for status, n in sorted(stats["by_status"].items()) if status != "200"}
    print(f"synced:      {result.synced} of {result.local}")
    print(f"lost:        {len(result.lost)}")
    print(f"duplicated:  {len(result.duplicated)}")
    print(f"mismatched:  {len(result.mismatched)} local ids that are not FluentCart's")
    print(f"remote:      {stats['count']} customers in the fake, {stats['duplicate_emails']} emails held more than once")
    print(f"requests:    {stats['requests']} ({json.dumps(stats['by_method'])}); faulty answers by status "
          f"(0 = dropped): {json.dumps(faults)}")
    print(f"edits:       {editor.edits} saved during the first {args.edit_sweeps} sweeps; "
          f"{len(stale)} FluentCart records differ from their final local data")
    print(f"sweeps:      {sweeps}")
    print(f"wall time:   {wall:.1f}s ({result.local / wall:.0f} customers/s)")
    return 0 if result.ok and not stale and not editor.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
