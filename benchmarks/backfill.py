"""Benchmark the backfill against the shipped fake FluentCart over real HTTP (a script, not a test).

    .venv/bin/python benchmarks/backfill.py                      # throughput: naive loop, bare ceiling, the command
    .venv/bin/python benchmarks/backfill.py --memory             # peak RSS of the command at 10,000 and 100,000 customers
    .venv/bin/python benchmarks/backfill.py --latency 0.2 --concurrency 16 --customers 3000 --naive-sample 100
                                                                 # a host as slow as shared WordPress hosting: latency-bound
    .venv/bin/python benchmarks/backfill.py --profile var/backfill.prof   # and where (c) spends its CPU, every thread

Throughput mode runs, one after the other and against the same fake (reset between runs):
  (a) the loop a developer would write by hand: one ``requests.post`` per customer, no session
      (sequential, so it is timed on the first --naive-sample customers: its rate does not depend on N);
  (b) the ceiling: N threads sharing one pooled ``requests.Session``, no Django, no database;
  (c) ``manage.py fluentcart_backfill --concurrency N``, the real command in a fresh process on a fresh
      database (a separate SQLite file under var/, or --database-url).
Each client and the fake run in separate processes, but they share this machine's CPUs: on a small
machine the fake's own CPU time slows every contestant, and the figures say so.
"""

from __future__ import annotations

import os as _os
import sys as _sys

# benchmarks/queue.py is named like the standard library's `queue`: keep this directory off the path.
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _os.path.dirname(_os.path.abspath(__file__))]

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench"
PASSWORD = "bench app pass word 0000"
NAMESPACE = "/wp-json/fluent-cart/v2"


# -- the fake FluentCart, in its own process -------------------------------------------------------


class Sandbox:
    """``python -m fluentcart_sync.sandbox`` on an ephemeral port, its customers in memory (or in ``db``)."""

    def __init__(self, latency: float, db: str = ":memory:"):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fluentcart_sync.sandbox", "--port", "0", "--db", str(db),
             "--latency", str(latency), "--username", USERNAME, "--password", PASSWORD],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        # "FluentCart sandbox at http://127.0.0.1:PORT/wp-json/fluent-cart/v2 (user ..."
        self.base_url = line.split(" at ", 1)[1].split(" ", 1)[0]
        self.site_url = self.base_url[: -len(NAMESPACE)]

    def control(self, method: str, route: str, body: dict | None = None) -> dict:
        import requests

        response = requests.request(method, f"{self.site_url}/__sandbox__/{route}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("POST", "reset")

    def set_latency(self, latency: float) -> None:
        self.control("POST", "faults", {"latency": latency})

    def set_faults(self, **faults) -> None:
        """Change the fake's faults and capacity (``php_workers``, ``backlog``) while it runs."""
        self.control("POST", "faults", faults)

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def payload(i: int) -> dict:
    """What the app sends for one customer (same fields, same size)."""
    return {"email": f"bench{i}@example.com", "full_name": f"Bench Customer {i}", "first_name": "Bench",
            "last_name": f"Customer {i}", "status": "active", "country": "DE", "city": "Berlin", "state": None,
            "postcode": "10115", "notes": ""}


# -- (a) and (b): no Django ------------------------------------------------------------------------


def naive_loop(sandbox: Sandbox, count: int) -> float:
    import requests

    started = time.perf_counter()
    for i in range(count):
        response = requests.post(sandbox.base_url + "/customers", json=payload(i), auth=(USERNAME, PASSWORD), timeout=10)
        response.raise_for_status()
    return time.perf_counter() - started


def pooled_loop(sandbox: Sandbox, count: int, concurrency: int) -> float:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=concurrency))
    session.auth = (USERNAME, PASSWORD)
    numbers = iter(range(count))
    lock = threading.Lock()
    failures = []

    def worker():
        while True:
            with lock:
                i = next(numbers, None)
            if i is None:
                return
            response = session.post(sandbox.base_url + "/customers", json=payload(i), timeout=10)
            if response.status_code != 200:
                failures.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"the pooled loop got {len(failures)} failures: {failures[:5]}")
    return elapsed


# -- (c): the real command, in child processes -------------------------------------------------------


def django_env(database_url: str, sandbox: Sandbox, log_level: str = "INFO") -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",  # as in production: DEBUG keeps every query in memory
        "FLUENTCART_URL": sandbox.site_url,
        "FLUENTCART_USERNAME": USERNAME,
        "FLUENTCART_APP_PASSWORD": PASSWORD,
        "FLUENTCART_LOG_LEVEL": os.environ.get("FLUENTCART_LOG_LEVEL", log_level),
        "PYTHONPATH": str(ROOT),
    }


def child(mode: str, env: dict, *args: str, script: str = __file__) -> dict:
    """Run ``script --child mode args`` in a fresh process; the JSON on its last line of output."""
    result = subprocess.run(
        [sys.executable, script, "--child", mode, *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    if result.returncode:
        raise SystemExit(f"child {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare_database(database_url: str, sandbox: Sandbox, count: int) -> None:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    child("prepare", django_env(database_url, sandbox), str(count))


def run_command(database_url: str, sandbox: Sandbox, count: int, concurrency: int, profile: str = "") -> dict:
    prepare_database(database_url, sandbox, count)
    sandbox.reset()
    cpu_before = sandbox.cpu_seconds()
    result = child("backfill", django_env(database_url, sandbox), str(concurrency), profile)
    result["sandbox_cpu"] = sandbox.cpu_seconds() - cpu_before
    stats = sandbox.stats()
    if stats["count"] != count or stats["duplicate_emails"]:
        raise SystemExit(f"the backfill left {stats['count']} customers in the fake "
                         f"({stats['duplicate_emails']} duplicated), expected {count}")
    result["requests"] = stats["requests"]
    return result


def child_prepare(count: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from fluentcart_sync.models import Customer

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Customer._meta.db_table}")
    batch = 5000
    for start in range(0, count, batch):
        Customer.objects.bulk_create(
            Customer(**{k: v or "" for k, v in payload(i).items()}) for i in range(start, min(count, start + batch))
        )
    return {"customers": Customer.objects.count()}


def profiled_threads(path: str):
    """Profile every thread started from now on with cProfile (one profiler per thread: cProfile
    only sees the thread that enabled it), timed by each thread's CPU time, so a thread waiting for
    FluentCart, the database or the GIL costs nothing; ``dump()`` merges them into ``path``."""
    import cProfile
    import pstats

    profiles = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def run(self):
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = run
    main = cProfile.Profile(time.thread_time)
    profiles.append(main)
    main.enable()

    def dump():
        main.disable()
        threading.Thread.run = original_run
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            try:
                stats.add(profile)
            except TypeError:  # a thread that never ran any Python (no stats)
                pass
        stats.dump_stats(path)

    return dump


def count_queries():
    """Count every SQL statement on every connection opened from now on (each thread has its own);
    ``next(counter)`` reads the count (and adds one)."""
    import itertools

    from django.db.backends.signals import connection_created

    queries = itertools.count()

    def count_query(execute, sql, params, many, context):
        next(queries)
        return execute(sql, params, many, context)

    def install(sender, connection, **kwargs):
        if count_query not in connection.execute_wrappers:
            connection.execute_wrappers.append(count_query)

    connection_created.connect(install, weak=False)
    return queries


def child_backfill(concurrency: int, profile_path: str = "") -> dict:
    """Run the real command here (``concurrency`` 0: without --concurrency, the adaptive limit);
    count every query on every thread's connection."""
    import io

    import django

    django.setup()
    from django.core.management import CommandError, call_command

    queries = count_queries()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = io.StringIO()
    dump_profile = profiled_threads(profile_path) if profile_path else None
    cpu_before = time.process_time()
    started = time.perf_counter()
    fixed = ["--concurrency", str(concurrency)] if concurrency else []
    try:
        call_command("fluentcart_backfill", *fixed, "--no-progress", stdout=out)
    except CommandError:  # some customers left to retry (a host over capacity): the figures still count
        pass
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    if dump_profile is not None:
        dump_profile()
    from fluentcart_sync.models import Customer, SyncStatus

    synced = Customer.objects.filter(sync_status=SyncStatus.SYNCED).count()
    return {
        "elapsed": elapsed, "cpu": cpu, "queries": next(queries), "synced": synced,
        "rss_before_kb": rss_before, "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "summary": next(line for line in out.getvalue().splitlines() if line.startswith("Backfill ")),
        "limit": next((line for line in out.getvalue().splitlines() if line.startswith("Requests in flight")), ""),
    }


# -- the two modes ---------------------------------------------------------------------------------


def throughput(options) -> None:
    n, concurrency, latency = options.customers, options.concurrency, options.latency
    naive_n = n if options.naive_sample <= 0 else min(n, options.naive_sample)
    print(f"Backfill benchmark: {n} customers, concurrency {concurrency}, injected latency {latency * 1000:.0f} ms, "
          f"{os.cpu_count()} CPUs (shared by the fake, the client and anything else running).")
    sandbox = Sandbox(latency)
    try:
        sandbox.reset()
        a = naive_loop(sandbox, naive_n)
        sandbox.reset()
        b = pooled_loop(sandbox, n, concurrency)
        c = run_command(options.database_url, sandbox, n, concurrency, options.profile)
    finally:
        sandbox.stop()
    rate_a, rate_b, rate_c = naive_n / a, n / b, n / c["elapsed"]
    print(f"(a) naive loop, requests.post, no session ({naive_n} customers): {rate_a:8.1f} customers/s")
    print(f"(b) ceiling, {concurrency} threads, pooled session, no Django:      {rate_b:8.1f} customers/s")
    print(f"(c) fluentcart_backfill --concurrency {concurrency}:                    {rate_c:8.1f} customers/s "
          f"({c['elapsed']:.1f}s, {c['requests']} requests)")
    print(f"    c/b = {rate_c / rate_b:.2f}   (target >= 0.85)")
    print(f"    c/a = {rate_c / rate_a:.1f}    (target >= 6)")
    print(f"    queries per pushed customer: {c['queries'] / max(1, c['synced']):.3f} "
          f"({c['queries']} queries, {c['synced']} synced; target <= 2, <= 3 on MariaDB/MySQL)")
    print(f"    peak RSS of the command's process: {c['peak_rss_kb'] / 1024:.1f} MB "
          f"({c['rss_before_kb'] / 1024:.1f} MB before it started)")
    print(f"    CPU: command {c['cpu']:.1f}s ({1000 * c['cpu'] / n:.2f} ms/customer), "
          f"fake FluentCart {c['sandbox_cpu']:.1f}s, on {os.cpu_count()} shared CPUs")
    print(f"    command said: {c['summary']}")
    print("Note: the fake FluentCart runs on the same machine and its CPU time competes with the client's; "
          "against a remote host, (b) and (c) are bound by the host's latency alone.")
    if options.profile:
        import pstats

        print(f"Profile of (c), every thread, by own time (cProfile slows the command: its figures above are not "
              f"comparable; all of it in {options.profile}):")
        pstats.Stats(options.profile, stream=sys.stdout).sort_stats("tottime").print_stats(options.profile_lines)


def memory(options) -> None:
    sizes = [int(size) for size in options.memory_sizes.split(",")]
    print(f"Backfill memory benchmark: the command at concurrency {options.concurrency} against the fake "
          f"with zero latency; sizes {sizes}.")
    sandbox = Sandbox(0.0)
    peaks = {}
    try:
        for size in sizes:
            c = run_command(options.database_url, sandbox, size, options.concurrency)
            peaks[size] = c["peak_rss_kb"] / 1024
            print(f"  {size:>7} customers: peak RSS {peaks[size]:6.1f} MB (before {c['rss_before_kb'] / 1024:.1f} MB), "
                  f"{size / c['elapsed']:.0f} customers/s, {c['queries'] / max(1, c['synced']):.3f} queries/customer")
    finally:
        sandbox.stop()
    if len(sizes) >= 2:
        growth = peaks[sizes[-1]] - peaks[sizes[0]]
        print(f"  growth from {sizes[0]} to {sizes[-1]}: {growth:+.1f} MB (target: within 30 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.025, help="seconds the fake adds to each request")
    parser.add_argument("--naive-sample", type=int, default=1000,
                        help="customers the sequential naive loop is timed on (0: all of them)")
    parser.add_argument("--memory", action="store_true", help="measure peak RSS at --memory-sizes instead")
    parser.add_argument("--memory-sizes", default="10000,100000")
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench-backfill.sqlite3'}",
                        help="a database the benchmark may empty (default: its own SQLite file)")
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="profile the command (c) with cProfile across its threads; the stats go to FILE")
    parser.add_argument("--profile-lines", type=int, default=15, help="lines of the profile to print")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        mode, *args = options.child
        sys.path.insert(0, str(ROOT))
        result = child_prepare(int(args[0])) if mode == "prepare" else child_backfill(int(args[0]), *args[1:])
        print(json.dumps(result))
        return
    if options.memory:
        memory(options)
    else:
        throughput(options)


if __name__ == "__main__":
    main()
