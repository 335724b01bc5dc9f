"""Benchmark scale-out through the task queue against the shipped fake FluentCart (a script, not a test).

    .venv/bin/python benchmarks/queue.py                     # rq and database, 1, 2 and 4 workers, then the drain
    .venv/bin/python benchmarks/queue.py --backends rq --workers 1,4 --customers 3000 --skip-drain
    .venv/bin/python benchmarks/queue.py --burst             # a signup burst: 1,000 saves at 200 ms, 1 and 4 RQ workers

The fake runs in its own process with 25 ms of latency; the database is PostgreSQL (a database of the
benchmark's own, --database-url: it is EMPTIED), the queue the local Redis (--redis-url, a DB number of
its own: it is FLUSHED) or django-tasks-db's table. For each backend and number of workers:

  1. N pending customers; the workers start (``rqworker default --worker-class rq.worker.SimpleWorker``
     or ``db_worker --no-reload``, each in its own process, counting its SQL queries) and idle;
  2. the clock starts, ``fluentcart_sync_due --grace 0`` queues the chunks, the workers drain them;
     the clock stops when every customer is synced. customers/s = N / that time.

The baseline is ``fluentcart_backfill --concurrency C`` (C = the chunk task's concurrency) on the same
database and fake. Then the outage: 10,000 rows owed (retrying and due now; a tenth whose POST reached
FluentCart but whose answer was lost; some whose worker died holding the claim), the sweep queues them,
4 workers drain them, and the audit (fluentcart_sync/sandbox/audit.py) counts lost and duplicated
customers.

The burst (--burst, only it): at --burst-latency (200 ms, a shared WordPress host), --burst-savers
processes save --burst-customers new customers one by one, each save queueing its own task (which
pushes the other owed customers with it: coalescing). Twice for each number of RQ workers: saved
first, while the started workers are paused (SIGSTOP), then drained (the clock starts when they go
on); and saved while the workers run (the clock starts with the first save). The clock stops when
every customer is synced, beside ``fluentcart_backfill --concurrency C`` on the same customers and
fake. The workers run without TASK_CONCURRENCY (the adaptive limit) unless --task-concurrency is given. All processes share this machine's CPUs: the figures include a CPU line per run.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `queue`, which the app (batch.py), psycopg and rq
# import: take its directory off the import path before anything imports that.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse
import importlib.util
import io
import json
import os
import signal
import statistics
import subprocess
import time

ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("backfill_benchmark", HERE / "backfill.py")
backfill_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backfill_benchmark)
Sandbox, payload = backfill_benchmark.Sandbox, backfill_benchmark.payload
USERNAME, PASSWORD = backfill_benchmark.USERNAME, backfill_benchmark.PASSWORD

WORKER_COMMANDS = {
    # The recommended production command lines (docs/deployment.md), run inside this script so that
    # each worker counts its queries; db_worker polls every 0.2 s when idle instead of 1 s.
    "rq": ["rqworker", "default", "--worker-class", "rq.worker.SimpleWorker"],
    "database": ["db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"],
}


def environment(options, backend: str, sandbox: Sandbox) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": options.database_url,
        "DEBUG": "false",  # as in production: DEBUG keeps every query in memory
        "TASKS_BACKEND": backend,
        "REDIS_URL": options.redis_url,
        "FLUENTCART_URL": sandbox.site_url,
        "FLUENTCART_USERNAME": USERNAME,
        "FLUENTCART_APP_PASSWORD": PASSWORD,
        "FLUENTCART_LOG_LEVEL": "ERROR",
        "FLUENTCART_TASK_CHUNK_SIZE": str(options.chunk_size),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        # Unset: each worker finds FluentCart's capacity (the adaptive limit), as in production by default.
        **({"FLUENTCART_TASK_CONCURRENCY": str(options.task_concurrency)} if options.task_concurrency else {}),
        **({"FLUENTCART_COALESCE_LIMIT": str(options.coalesce_limit)} if options.coalesce_limit is not None else {}),
    }


# -- the worker, in a child process -----------------------------------------------------------------


def child_worker(backend: str) -> None:
    """Run the worker command here until SIGTERM; then print its query count and CPU time as JSON."""
    import django

    django.setup()
    from django.core.management import call_command

    queries = backfill_benchmark.count_queries()
    print("ready", flush=True)
    cpu_at_start = time.process_time()
    try:
        call_command(*WORKER_COMMANDS[backend], verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    finally:  # db_worker ends with SystemExit on SIGTERM
        print(json.dumps({"queries": next(queries), "cpu": time.process_time() - cpu_at_start}), flush=True)


def child_sweeper() -> None:
    """Set up, say ready, then sweep once on a line from stdin (so the clock excludes Django's start)."""
    import django

    django.setup()
    from django.core.management import call_command

    print("ready", flush=True)
    sys.stdin.readline()
    out = io.StringIO()
    call_command("fluentcart_sync_due", "--grace", "0", stdout=out)
    print(out.getvalue().strip().splitlines()[-1], flush=True)


def child_saver(count: int, first: int, step: int) -> None:
    """Set up, say ready, then on a line from stdin save customers ``first``, ``first + step``, ...
    below ``count`` one by one, as a web process does in a signup burst: each save commits and
    queues its own push task."""
    import django

    django.setup()
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(first, count, step):
        customer(i).save()
    print("saved", flush=True)


class Workers:
    def __init__(self, env: dict[str, str], backend: str, count: int):
        self.processes = [
            subprocess.Popen([sys.executable, __file__, "--child", backend], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(count)
        ]
        for process in self.processes:
            line = process.stdout.readline().strip()
            if line != "ready":
                self.stop()
                raise SystemExit(f"a {backend} worker did not start: {line!r} {process.stderr.read()[-2000:]}")
        time.sleep(2.0)  # the worker command's own start (imports, registering with Redis)

    def stop(self) -> dict:
        totals = {"queries": 0, "cpu": 0.0}
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                out, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if not lines:
                raise SystemExit(f"a worker ended without its figures (exit {process.returncode}):\n{err[-3000:]}")
            figures = json.loads(lines[-1])
            totals["queries"] += figures["queries"]
            totals["cpu"] += figures["cpu"]
        return totals


# -- the parent: Django set up on the benchmark's database --------------------------------------------


def setup_django(options, sandbox: Sandbox) -> None:
    os.environ.update(environment(options, "database", sandbox))  # installs and migrates django-tasks-db
    ensure_database(options.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fresh_customers(count: int) -> None:
    from django.db import connection

    from fluentcart_sync.models import Customer

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Customer._meta.db_table}" if connection.vendor == "postgresql"
                       else f"DELETE FROM {Customer._meta.db_table}")
        cursor.execute("DELETE FROM django_tasks_database_dbtaskresult")
    for start in range(0, count, 5000):
        Customer.objects.bulk_create(customer(i) for i in range(start, min(count, start + 5000)))


def customer(i: int):
    """The backfill benchmark's customer, with a last name without a space (FluentCart splits a full
    name on its last space, so a linked customer's update would find other names stored)."""
    from fluentcart_sync.models import Customer

    fields = {k: v or "" for k, v in payload(i).items()}
    fields.update(last_name=f"Customer-{i}", full_name=f"Bench Customer-{i}")
    return Customer(**fields)


#: The tests' mark on a Redis database held by one run (tests/conftest.py): the benchmark holds its
#: database the same way, so that it never empties one a test run is using, nor a test run its own.
REDIS_LOCK = "fluentcart-sync-test-run"


def claim_redis(url: str) -> None:
    import redis

    if not redis.Redis.from_url(url).set(REDIS_LOCK, f"benchmark {os.getpid()}", nx=True, ex=3600):
        raise SystemExit(f"{url} is held by a test run or another benchmark: pass another --redis-url")


def release_redis(url: str) -> None:
    import redis

    conn = redis.Redis.from_url(url)
    conn.flushdb()


def flush_redis(url: str) -> None:
    import redis

    conn = redis.Redis.from_url(url)
    conn.flushdb()
    conn.set(REDIS_LOCK, f"benchmark {os.getpid()}", ex=3600)


def settled_count() -> int:
    """Customers no longer owed: synced, or failed for a person to see."""
    from fluentcart_sync.models import Customer, SyncStatus

    return Customer.objects.exclude(sync_status__in=[SyncStatus.PENDING, SyncStatus.RETRYING]).count()


def drain(options, sandbox: Sandbox, backend: str, workers: int, count: int, deadline: float = 900) -> dict:
    """Start the workers, queue the owed rows, wait until all are synced; the figures."""
    flush_redis(options.redis_url)
    env = environment(options, backend, sandbox)
    sweeper = subprocess.Popen([sys.executable, __file__, "--child", "sweeper"], cwd=ROOT, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert sweeper.stdout.readline().strip() == "ready"
    pool = Workers(env, backend, workers)
    cpu_before = sandbox.cpu_seconds()
    try:
        started = time.perf_counter()
        sweeper.stdin.write("go\n")
        sweeper.stdin.flush()
        said = sweeper.stdout.readline().strip()
        sweeper.wait()
        while settled_count() < count:
            if time.perf_counter() - started > deadline:
                raise SystemExit(f"not drained after {deadline}s: {settled_count()} of {count} settled")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        figures = pool.stop()
    stats = sandbox.stats()
    return {"elapsed": elapsed, "rate": count / elapsed, "queries": figures["queries"], "worker_cpu": figures["cpu"],
            "fake_cpu": sandbox.cpu_seconds() - cpu_before, "sweep": said, "requests": stats["requests"],
            "remote": stats["count"], "duplicate_emails": stats["duplicate_emails"]}


def burst(options, sandbox: Sandbox, workers: int, count: int, *, queued: bool, deadline: float = 1800) -> dict:
    """``count`` customers saved one by one while the RQ workers run (``queued``: while the started
    workers are paused, so that their tasks wait in the queue); the clock stops when all are synced."""
    import redis

    fresh_customers(0)
    sandbox.reset()
    flush_redis(options.redis_url)
    env = environment(options, "rq", sandbox)
    # Several web processes save at once, as in a real burst; one alone would be slower than the workers.
    savers = [subprocess.Popen([sys.executable, __file__, "--child", f"saver:{count}:{k}:{options.burst_savers}"],
                               cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
              for k in range(options.burst_savers)]
    for saver in savers:
        assert saver.stdout.readline().strip() == "ready"
    queue = redis.Redis.from_url(options.redis_url)

    def save() -> None:
        for saver in savers:
            saver.stdin.write("go\n")
            saver.stdin.flush()
        for saver in savers:
            assert saver.stdout.readline().strip() == "saved"
            saver.wait()

    pool = Workers(env, "rq", workers)
    if queued:
        # Started, then paused while the tasks pile up: each may have one task waiting in its socket
        # (Redis hands a job to a waiting BLPOP at once), every other one stays in the queue.
        for process in pool.processes:
            process.send_signal(signal.SIGSTOP)
        try:
            save()
            assert queue.llen("rq:queue:default") >= count - workers, "one task per save"
            cpu_before = sandbox.cpu_seconds()
            started = time.perf_counter()
        finally:
            for process in pool.processes:
                process.send_signal(signal.SIGCONT)
        saved = 0.0
    else:
        cpu_before = sandbox.cpu_seconds()
        started = time.perf_counter()
    try:
        if not queued:
            save()
            saved = time.perf_counter() - started
        while settled_count() < count:
            if time.perf_counter() - started > deadline:
                raise SystemExit(f"not drained after {deadline}s: {settled_count()} of {count} settled")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        left = queue.llen("rq:queue:default")
        while queue.llen("rq:queue:default"):  # the tasks of customers pushed by another's task
            time.sleep(0.05)
        emptied = time.perf_counter() - started
    finally:
        figures = pool.stop()
    stats = sandbox.stats()
    return {"elapsed": elapsed, "rate": count / elapsed, "saved": saved, "left": left, "emptied": emptied,
            "queries": figures["queries"], "worker_cpu": figures["cpu"], "fake_cpu": sandbox.cpu_seconds() - cpu_before,
            "requests": stats["requests"], "remote": stats["count"], "duplicate_emails": stats["duplicate_emails"]}


def burst_case(options, sandbox: Sandbox) -> None:
    n = options.burst_customers
    sandbox.set_latency(options.burst_latency)
    try:
        base = backfill(options, sandbox, n)
        print(f"burst: {n} customers saved one by one by {options.burst_savers} processes, "
              f"{options.burst_latency * 1000:.0f} ms latency", flush=True)
        print(f"  baseline  fluentcart_backfill --concurrency {options.concurrency}: {base['rate']:7.1f} customers/s "
              f"({base['elapsed']:.1f}s)", flush=True)
        for queued in (True, False):
            one = None
            how = "saved first, then drained" if queued else "saved while the workers run"
            for workers in [int(w) for w in options.burst_workers.split(",")]:
                run = burst(options, sandbox, workers, n, queued=queued)
                if run["remote"] != n or run["duplicate_emails"]:
                    raise SystemExit(f"FluentCart holds {run['remote']} ({run['duplicate_emails']} duplicated), "
                                     f"expected {n}")
                one = one or run["rate"]
                saves = f"the saves took {run['saved']:.1f}s" if not queued else f"{n} tasks queued"
                print(f"  rq {workers} worker{'s' if workers > 1 else ' '}, {how}: {run['rate']:7.1f} customers/s "
                      f"({run['elapsed']:.1f}s, {saves}; {run['rate'] / base['rate']:.2f} of the "
                      f"backfill, {run['rate'] / one:.2f}x one worker; {run['remote']} in FluentCart, "
                      f"{run['duplicate_emails']} duplicated; {run['requests']} requests; {run['left']} tasks left "
                      f"when all were synced, the queue empty at {run['emptied']:.1f}s; CPU: workers "
                      f"{run['worker_cpu']:.1f}s, fake {run['fake_cpu']:.1f}s)", flush=True)
    finally:
        sandbox.set_latency(options.latency)


def backfill(options, sandbox: Sandbox, count: int) -> dict:
    fresh_customers(count)
    sandbox.reset()
    env = environment(options, "immediate", sandbox)
    result = backfill_benchmark.child("backfill", env, str(options.concurrency))
    result["rate"] = count / result["elapsed"]
    return result


# -- the outage -------------------------------------------------------------------------------------


def owe_after_outage(sandbox: Sandbox, count: int) -> dict:
    """``count`` rows owed after an outage, every one retrying and due now; every tenth's POST reached
    FluentCart but its answer was lost (the fake holds it, the row only remembers what it POSTed):
    those must be looked up and linked, never created again."""
    from datetime import timedelta

    import requests
    from django.db.models import F
    from django.utils import timezone

    from fluentcart_sync.models import Customer, SyncStatus
    from fluentcart_sync.payloads import build_payload

    fresh_customers(count)
    sandbox.reset()
    now = timezone.now()
    Customer.objects.update(sync_status=SyncStatus.RETRYING, next_attempt_at=now - timedelta(seconds=1),
                            failing_since=now - timedelta(hours=3), sync_attempts=8,
                            last_attempt_at=now - timedelta(minutes=5), sync_error="FluentCart is unreachable")
    landed = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::10])
    Customer.objects.filter(pk__in=landed).update(
        outcome_unknown=True, posted_email=F("email"), posted_revision=F("data_revision"),
        quarantine_until=now - timedelta(minutes=1))
    with requests.Session() as session:
        session.auth = (USERNAME, PASSWORD)
        for customer in Customer.objects.filter(pk__in=landed):
            session.post(sandbox.base_url + "/customers", json=build_payload(customer), timeout=30).raise_for_status()
    return {"owed": count, "landed": len(landed)}


def audit_fake(sandbox: Sandbox):
    from fluentcart_sync.models import Customer
    from fluentcart_sync.sandbox.audit import audit

    rows = Customer.objects.values_list("email", "fluentcart_id", "sync_status")
    return audit(rows, sandbox.control("GET", "customers"))


def rates(runs: list[dict]) -> str:
    return ", ".join(f"{run['rate']:.0f}" for run in runs)


# -- main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.025)
    parser.add_argument("--backends", default="rq,database")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration; the median is reported")
    parser.add_argument("--concurrency", type=int, default=8, help="the baseline backfill's --concurrency")
    parser.add_argument("--task-concurrency", type=int, default=None,
                        help="TASK_CONCURRENCY of the workers (default: unset, the adaptive limit)")
    parser.add_argument("--coalesce-limit", type=int, default=None,
                        help="COALESCE_LIMIT of the workers (default: unset, the app's; 0: one customer per task)")
    parser.add_argument("--burst", action="store_true", help="only the burst: customers saved one by one")
    parser.add_argument("--burst-customers", type=int, default=1000)
    parser.add_argument("--burst-latency", type=float, default=0.2)
    parser.add_argument("--burst-workers", default="1,4")
    parser.add_argument("--burst-savers", type=int, default=4, help="processes saving the burst's customers")
    parser.add_argument("--chunk-size", type=int, default=100, help="TASK_CHUNK_SIZE")
    parser.add_argument("--drain-customers", type=int, default=10_000)
    parser.add_argument("--drain-backend", default="rq")
    parser.add_argument("--drain-workers", type=int, default=4)
    parser.add_argument("--skip-drain", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/fc_queue_bench",
                        help="a database the benchmark EMPTIES")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="a Redis DB the benchmark FLUSHES")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "sweeper":
        child_sweeper()
        return
    if options.child and options.child.startswith("saver:"):
        child_saver(*(int(part) for part in options.child.split(":")[1:]))
        return
    if options.child:
        child_worker(options.child)
        return

    n = options.customers
    in_flight = options.task_concurrency or "adaptive"
    print(f"Queue benchmark: {n} customers, chunks of {options.chunk_size} at {in_flight} requests in "
          f"flight, {options.latency * 1000:.0f} ms latency, {os.cpu_count()} CPUs shared by the fake, the workers, "
          f"PostgreSQL and Redis.", flush=True)
    claim_redis(options.redis_url)
    sandbox = Sandbox(options.latency)
    try:
        setup_django(options, sandbox)
        if options.burst:
            burst_case(options, sandbox)
            return
        base = None
        if not options.skip_backfill:
            runs = [backfill(options, sandbox, n) for _ in range(options.repeat)]
            base = statistics.median(run["rate"] for run in runs)
            print(f"baseline  fluentcart_backfill --concurrency {options.concurrency}: {base:7.1f} customers/s "
                  f"(runs: {rates(runs)}; "
                  f"{runs[0]['queries'] / max(1, runs[0]['synced']):.2f} queries/push)", flush=True)
        for backend in options.backends.split(","):
            one = None
            for workers in [int(w) for w in options.workers.split(",")]:
                runs = []
                for _ in range(options.repeat):
                    fresh_customers(n)
                    sandbox.reset()
                    runs.append(drain(options, sandbox, backend, workers, n))
                    if runs[-1]["remote"] != n or runs[-1]["duplicate_emails"]:
                        raise SystemExit(f"FluentCart holds {runs[-1]['remote']} ({runs[-1]['duplicate_emails']} "
                                         f"duplicated), expected {n}")
                rate = statistics.median(run["rate"] for run in runs)
                one = one or rate
                mid = sorted(runs, key=lambda run: run["rate"])[len(runs) // 2]
                line = (f"{backend:8s} {workers} worker{'s' if workers > 1 else ' '}: {rate:7.1f} customers/s "
                        f"(runs: {rates(runs)}; {rate / one:.2f}x one worker")
                if base:
                    line += f", {rate / base:.2f} of the backfill"
                line += (f"; {mid['queries'] / n:.2f} queries/push; CPU: workers {mid['worker_cpu']:.1f}s, "
                         f"fake {mid['fake_cpu']:.1f}s in {mid['elapsed']:.1f}s)")
                print(line, flush=True)
        if not options.skip_drain:
            owed = owe_after_outage(sandbox, options.drain_customers)
            result = drain(options, sandbox, options.drain_backend, options.drain_workers, options.drain_customers)
            checked = audit_fake(sandbox)
            print(f"outage: {owed['owed']} owed rows ({owed['landed']} whose POST had landed) drained by {options.drain_workers} {options.drain_backend} workers in "
                  f"{result['elapsed']:.1f}s ({result['rate']:.0f}/s; {result['requests']} requests); "
                  f"audit: {checked.summary()}", flush=True)
            if not checked.ok:
                raise SystemExit("the drain lost or duplicated customers")
    finally:
        sandbox.stop()
        release_redis(options.redis_url)


if __name__ == "__main__":
    main()
