"""Benchmark the adaptive concurrency limit against a fake FluentCart of limited capacity (a script, not a test).

    nice -n 10 .venv/bin/python benchmarks/adaptive.py --database-url postgres://postgres@127.0.0.1:5432/fc_adaptive_bench

The fake (its own process) has --php-workers PHP workers, each request holding one for --latency
seconds (the service time); up to --backlog more wait, and beyond those the fake answers 429
(fluentcart_sync/sandbox/capacity.py). On the same database and fake:

  1. the sweep: ``fluentcart_backfill --concurrency C`` for each C of --sweep, on N fresh customers;
  2. ``fluentcart_backfill`` without --concurrency (the adaptive limit), on the same N;
  3. upward: the adaptive backfill on --upward-customers, the fake given twice the PHP workers
     (--upward-workers) once a third of them are pushed, without restarting anything; the rate before
     and after the change, from the fake's own count of stored customers.

customers/s counts the customers synced in the run (a customer refused with a 429 is left to retry
later, so an over-eager concurrency costs throughput); "refused" is the share of answers 429 or 5xx.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_spec = importlib.util.spec_from_file_location("backfill_benchmark", HERE / "backfill.py")
backfill_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backfill_benchmark)
Sandbox = backfill_benchmark.Sandbox


def refused_share(stats: dict) -> tuple[int, float]:
    by_status = stats["by_status"]
    refused = sum(n for status, n in by_status.items() if status == "429" or status.startswith("5"))
    return refused, refused / max(1, stats["requests"])


def run(options, sandbox: Sandbox, count: int, concurrency: int) -> dict:
    """One backfill of ``count`` fresh customers (``concurrency`` 0: adaptive); its figures."""
    backfill_benchmark.prepare_database(options.database_url, sandbox, count)
    sandbox.reset()
    env = backfill_benchmark.django_env(options.database_url, sandbox, log_level="ERROR")
    env["FLUENTCART_MAX_CONCURRENCY"] = str(options.max_concurrency)
    result = backfill_benchmark.child("backfill", env, str(concurrency))
    stats = sandbox.stats()
    if stats["duplicate_emails"]:
        raise SystemExit(f"{stats['duplicate_emails']} customers duplicated in the fake")
    result["rate"] = result["synced"] / result["elapsed"]
    result["requests"] = stats["requests"]
    result["refused"], result["refused_share"] = refused_share(stats)
    return result


def line(label: str, result: dict) -> str:
    return (f"{label:<34} {result['rate']:7.1f} customers/s  ({result['synced']} synced in {result['elapsed']:.1f}s; "
            f"{result['refused']} of {result['requests']} answers refused, {100 * result['refused_share']:.2f}%)")


def upward(options, sandbox: Sandbox) -> None:
    """The adaptive backfill while the host doubles its PHP workers halfway through."""
    count = options.upward_customers
    backfill_benchmark.prepare_database(options.database_url, sandbox, count)
    sandbox.reset()
    env = backfill_benchmark.django_env(options.database_url, sandbox, log_level="ERROR")
    env["FLUENTCART_MAX_CONCURRENCY"] = str(options.max_concurrency)
    outcome: dict = {}

    def backfill() -> None:
        outcome.update(backfill_benchmark.child("backfill", env, "0"))

    thread = threading.Thread(target=backfill)
    started = time.perf_counter()
    thread.start()
    switched_at = switched_count = None
    samples = []
    while thread.is_alive():
        thread.join(0.5)
        stored = sandbox.stats()["count"]
        now = time.perf_counter() - started
        samples.append((now, stored))
        if switched_at is None and stored >= count // 3:
            sandbox.set_faults(php_workers=options.upward_workers)
            switched_at, switched_count = now, stored
    if switched_at is None:
        raise SystemExit("the backfill ended before a third was pushed: give it more --upward-customers")
    # The rate before the change, and over the second half of the time after it (the limit has grown by then).
    before = switched_count / switched_at
    end_time, end_count = samples[-1]
    middle = switched_at + (end_time - switched_at) / 2
    mid_time, mid_count = min(samples, key=lambda sample: abs(sample[0] - middle))
    after = (end_count - mid_count) / max(1e-9, end_time - mid_time)
    print(f"upward: {options.php_workers} PHP workers until {switched_count} were pushed ({switched_at:.1f}s): "
          f"{before:.1f} customers/s; then {options.upward_workers} workers: {after:.1f} customers/s "
          f"({after / before:.2f}x) over the last {end_time - mid_time:.1f}s, without a restart")
    print(f"        command said: {outcome['summary']} {outcome['limit']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.040, help="each request's service time")
    parser.add_argument("--php-workers", type=int, default=4)
    parser.add_argument("--backlog", type=int, default=16, help="requests that may wait for a PHP worker")
    parser.add_argument("--sweep", default="1,2,3,4,6,8,12,16,24,32")
    parser.add_argument("--max-concurrency", type=int, default=16, help="MAX_CONCURRENCY of the adaptive runs")
    parser.add_argument("--upward-customers", type=int, default=6000)
    parser.add_argument("--upward-workers", type=int, default=8)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench-adaptive.sqlite3'}",
                        help="a database the benchmark may empty")
    options = parser.parse_args()
    print(f"Adaptive concurrency benchmark: {options.customers} customers; the fake has {options.php_workers} PHP "
          f"workers of {options.latency * 1000:.0f} ms each, {options.backlog} more may wait, 429 beyond "
          f"(a ceiling of {options.php_workers / options.latency:.0f} requests/s); {os.cpu_count()} CPUs shared by "
          f"the fake, the command and the database.", flush=True)
    sandbox = Sandbox(options.latency)
    try:
        sandbox.set_faults(php_workers=options.php_workers, backlog=options.backlog)
        best = None
        if not options.skip_sweep:
            for concurrency in [int(c) for c in options.sweep.split(",")]:
                result = run(options, sandbox, options.customers, concurrency)
                print(line(f"fluentcart_backfill --concurrency {concurrency}", result), flush=True)
                if best is None or result["rate"] > best[1]["rate"]:
                    best = (concurrency, result)
        adaptive = run(options, sandbox, options.customers, 0)
        print(line("fluentcart_backfill (adaptive)", adaptive) + f"; {adaptive['limit']}", flush=True)
        if best is not None:
            print(f"adaptive / best fixed (--concurrency {best[0]}): {adaptive['rate'] / best[1]['rate']:.2f}", flush=True)
        sandbox.set_faults(php_workers=options.php_workers, backlog=options.backlog)
        upward(options, sandbox)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
