"""Benchmark ``fluentcart_pull`` against the shipped fake FluentCart over real HTTP (a script, not a test).

    .venv/bin/python benchmarks/pull.py                         # 10,000 and 100,000 customers, concurrency 4 and 8
    .venv/bin/python benchmarks/pull.py --sizes 100000,1000000 --concurrency 8 --repeat 1 \
        --database-url postgres://postgres@127.0.0.1:5432/fc_pull_bench           # a million, on PostgreSQL

For each size: the fake's SQLite file is seeded with that many customers directly (no HTTP; reused
by the next run if it already holds them), the fake is started on it in its own process
(``python -m fluentcart_sync.sandbox --latency``), a first pull at zero latency creates and links
every customer in a fresh local SQLite database, and then, for each ``--concurrency``, a second
pull of the same, unchanged customers runs in a fresh process at ``--latency`` (25 ms) and is
timed. That process counts every query (an execute wrapper on each connection), the queries each
page's ``apply_page`` makes, and its own peak RSS (``ru_maxrss``).

"Queries per page" are every statement one page's ``apply_page`` sends (``CaptureQueriesContext``:
transaction control included); "queries in all" is what the execute wrappers saw in the whole pull
(the pages, the scan for rows deleted remotely, 2,000 rows a query, and the set-up).

The fake and the pull share this machine's CPUs: on a small machine the fake's CPU time (its
SQLite page query, shaping and JSON of 199 customers a page) is part of what is measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_PAGE = 199


def remote_fields(i: int) -> dict:
    """One FluentCart customer as the store keeps it (what a push of the backfill's customer leaves)."""
    return {"email": f"bench{i}@example.com", "first_name": "Bench", "last_name": f"Customer {i}",
            "status": "active", "country": "DE", "city": "Berlin", "state": None, "postcode": "10115", "notes": ""}


# -- the fake FluentCart, in its own process, on a seeded file ---------------------------------------


def seed_fake(path: Path, count: int) -> float:
    """Fill the fake's SQLite file with ``count`` customers; seconds taken (0 if already there)."""
    sys.path.insert(0, str(ROOT))
    from fluentcart_sync.sandbox.store import CustomerStore

    store = CustomerStore(path)
    try:
        if store.count() == count:
            return 0.0
        store.reset()
        started = time.perf_counter()
        for i in range(count):
            store.insert(remote_fields(i))
        return time.perf_counter() - started
    finally:
        store.close()


# The fake in its own process, the Django environment of a child process and running one: the
# backfill benchmark's (benchmarks/backfill.py), loaded by path.
_spec = importlib.util.spec_from_file_location("backfill_benchmark", Path(__file__).with_name("backfill.py"))
backfill_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backfill_benchmark)
Sandbox = backfill_benchmark.Sandbox
USERNAME, PASSWORD = backfill_benchmark.USERNAME, backfill_benchmark.PASSWORD


def django_env(database_url: str, sandbox: Sandbox) -> dict:
    return backfill_benchmark.django_env(database_url, sandbox, log_level="WARNING")


def child(mode: str, env: dict, *args: str) -> dict:
    return backfill_benchmark.child(mode, env, *args, script=__file__)


# -- the pull, in child processes ------------------------------------------------------------------------


def child_first_pull() -> dict:
    """Migrate the empty database and pull once: every FluentCart customer created here, linked, synced."""
    import io

    import django

    django.setup()
    from django.core.management import call_command

    from fluentcart_sync.models import Customer, SyncStatus

    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:  # a --database-url of the benchmark's own holds the last size's customers
        cursor.execute(f"DELETE FROM {Customer._meta.db_table}")
    out = io.StringIO()
    call_command("fluentcart_pull", "--concurrency", "4", "--no-progress", stdout=out)
    return {"synced": Customer.objects.filter(sync_status=SyncStatus.SYNCED, fluentcart_id__isnull=False).count(),
            "summary": out.getvalue().strip().splitlines()[-1]}


def child_timed_pull(concurrency: int) -> dict:
    """The real command, timed; every query counted, and those of each page's ``apply_page``."""
    import io

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.test.utils import CaptureQueriesContext

    from fluentcart_sync import pull as pull_module

    queries = [0]  # every statement on every connection (execute wrappers)
    sql_seen: Counter[str] = Counter()

    def count_query(execute, sql, params, many, context):
        queries[0] += 1
        sql_seen[sql.split(" ", 1)[0].upper()] += 1
        return execute(sql, params, many, context)

    def install(sender, connection, **kwargs):
        if count_query not in connection.execute_wrappers:
            connection.execute_wrappers.append(count_query)

    connection_created.connect(install, weak=False)
    per_page: list[int] = []
    original_apply_page = pull_module.apply_page

    def counted_apply_page(*args, **kwargs):
        # CaptureQueriesContext also sees what the execute wrappers do not: BEGIN, COMMIT, SAVEPOINT.
        with CaptureQueriesContext(connection) as page_queries:
            result = original_apply_page(*args, **kwargs)
        per_page.append(len(page_queries.captured_queries))
        return result

    pull_module.apply_page = counted_apply_page
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = io.StringIO()
    cpu_before = time.process_time()
    started = time.perf_counter()
    call_command("fluentcart_pull", "--concurrency", str(concurrency), "--no-progress", stdout=out)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "elapsed": elapsed, "cpu": cpu, "queries": queries[0], "pages": len(per_page),
        "page_queries": sum(per_page), "page_queries_max": max(per_page, default=0),
        "statements": dict(sql_seen),
        "rss_before_kb": rss_before, "peak_rss_kb": peak,
        "summary": out.getvalue().strip().splitlines()[-1],
    }


# -- the benchmark ---------------------------------------------------------------------------------------


def run_size(options, size: int) -> list[dict]:
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    fake_db = var / f"bench-pull-fake-{size}.sqlite3"
    seeded = seed_fake(fake_db, size)
    if seeded:
        print(f"  seeded the fake with {size} customers in {seeded:.1f}s ({fake_db})")
    local_db = var / f"bench-pull-{size}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(local_db) + suffix).unlink(missing_ok=True)
    database_url = options.database_url or f"sqlite:///{local_db}"
    sandbox = Sandbox(0.0, db=str(fake_db))
    results = []
    try:
        env = django_env(database_url, sandbox)
        first = child("first", env)
        if first["synced"] != size:
            raise SystemExit(f"the first pull left {first['synced']} synced customers, expected {size}: "
                             f"{first['summary']}")
        sandbox.set_latency(options.latency)
        for concurrency in options.concurrency:
            for attempt in range(options.repeat):
                gets_before = sandbox.stats()["by_method"].get("GET", 0)
                cpu_before = sandbox.cpu_seconds()
                result = child("timed", env, str(concurrency))
                result["fake_cpu"] = sandbox.cpu_seconds() - cpu_before
                result["gets"] = sandbox.stats()["by_method"].get("GET", 0) - gets_before
                result.update(size=size, concurrency=concurrency, rate=size / result["elapsed"])
                if f"{size} unchanged" not in result["summary"]:
                    raise SystemExit(f"the timed pull did not find {size} unchanged customers: {result['summary']}")
                print(f"  {size:>7} customers, --concurrency {concurrency}, run {attempt + 1}: "
                      f"{result['rate']:7.0f} customers/s ({result['elapsed']:.1f}s, {result['gets']} GETs), "
                      f"{result['page_queries'] / result['pages']:.2f} queries/page "
                      f"(max {result['page_queries_max']}), {result['queries']} queries in all for "
                      f"{result['pages']} pages, peak RSS {result['peak_rss_kb'] / 1024:.1f} MB, "
                      f"CPU pull {result['cpu']:.1f}s / fake {result['fake_cpu']:.1f}s")
                results.append(result)
    finally:
        sandbox.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="remote customers, comma-separated")
    parser.add_argument("--concurrency", default="4,8", help="--concurrency values, comma-separated")
    parser.add_argument("--latency", type=float, default=0.025, help="seconds the fake adds to each request")
    parser.add_argument("--repeat", type=int, default=3, help="timed pulls per size and concurrency (median)")
    parser.add_argument("--database-url", default="",
                        help="the local database, which the benchmark EMPTIES (default: a fresh SQLite file per size)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        mode, *args = options.child
        sys.path.insert(0, str(ROOT))
        result = child_first_pull() if mode == "first" else child_timed_pull(int(args[0]))
        print(json.dumps(result))
        return
    sizes = [int(size) for size in options.sizes.split(",")]
    options.concurrency = [int(n) for n in options.concurrency.split(",")]
    print(f"Pull benchmark: unchanged, already linked customers {sizes}, --concurrency {options.concurrency}, "
          f"injected latency {options.latency * 1000:.0f} ms, {options.repeat} runs each (medians below), "
          f"{os.cpu_count()} CPUs shared by the fake, the pull and anything else running.")
    results = [result for size in sizes for result in run_size(options, size)]
    print("Medians:")
    peaks = {}
    for size in sizes:
        for concurrency in options.concurrency:
            runs = [r for r in results if r["size"] == size and r["concurrency"] == concurrency]
            rate = statistics.median(r["rate"] for r in runs)
            per_page = statistics.median(r["page_queries"] / r["pages"] for r in runs)
            total = statistics.median(r["queries"] for r in runs)
            peak = statistics.median(r["peak_rss_kb"] for r in runs) / 1024
            peaks.setdefault(size, []).append(peak)
            print(f"  {size:>7} customers, --concurrency {concurrency}: {rate:7.0f} customers/s, "
                  f"{per_page:.2f} queries per page ({runs[0]['pages']} pages; {total:.0f} queries in all), "
                  f"peak RSS {peak:.1f} MB")
    if len(sizes) >= 2:
        low, high = max(peaks[sizes[0]]), max(peaks[sizes[-1]])
        print(f"  peak RSS {low:.1f} MB at {sizes[0]}, {high:.1f} MB at {sizes[-1]}: {high - low:+.1f} MB "
              f"(target: within 30 MB)")


if __name__ == "__main__":
    main()
