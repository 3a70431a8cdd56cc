"""Sustained check throughput: N monitors at one interval, scheduled → probed → stored, as a
deployment runs them, for a measured stretch of time.

The bench migrates an empty database (a throwaway SQLite file, or ``--database``), inserts
N monitors of one kind in one transaction, and starts the processes of a deployment: one
``upcron scheduler`` and ``--workers`` ``upcron worker`` processes. After a warm-up of one
interval (every monitor has had its first check and runs on its phase), it measures for
``--duration`` seconds:

- checks per second: results stored whose check started in the window, against N/interval
  offered, and how many failed;
- lateness: each check's start minus its planned time (dispatch plus the wait in the queue),
  p50, p99 and max; and the dispatch lateness alone (the moment the scheduler enqueued a
  check minus its planned time), p99 as the bound of its histogram's bucket
  (``upcron_dispatch_lateness_seconds``, read from the processes' metrics files);
- CPU per check of each process (user + system time over the window, divided by the
  checks): the scheduler, each worker, Redis, the target and, on PostgreSQL, its server
  processes together.

In the same run, against the same target, a raw client loop does the same request with a
new connection each time (``requests.get``, one thread) for 10 s: the ratio says what the
whole pipeline delivers against the simplest possible checker. The target is a minimal
asyncio HTTP server in its own process (``bench._common.target_server``), its CPU reported.

Kinds: http (the default), tcp (a connection to the target's port), dns (an A record asked
of a local dnslib server over UDP), ping (one ICMP echo request to 127.0.0.1; refused,
saying why, where this process may send no ICMP).

Run: `make bench` (a short run: 3,000 monitors at 60 s for 60 s) or
`.venv/bin/python bench/checks.py --monitors 60000 --interval 60 --duration 300
[--database postgresql://postgres@127.0.0.1:5432/bench] [--workers 2] [--kind http]`.
The database must be empty (every result stored there is counted). Redis: UPCRON_REDIS_URL,
else an embedded one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import icmp  # noqa: E402
from bench._common import (  # noqa: E402
    app_env,
    bench_app,
    cpu_seconds,
    dns_server,
    embedded_redis,
    insert_monitors,
    percentile,
    target_server,
)

PROJECT = Path(__file__).resolve().parents[1]
LOOP_SEC = 10.0


def plain_loop(url: str, seconds: float) -> float:
    """Requests per second of one thread doing ``requests.get`` with a new connection each."""
    import requests

    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        requests.get(url, timeout=5).close()
        count += 1
    return count / elapsed


def pids_named(name: str) -> list[int]:
    """Processes whose command name is ``name`` (PostgreSQL's server processes, a Redis
    this bench did not start)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                found.append(int(entry.name))
    return found


class Processes:
    """The processes whose CPU is reported, by role: a role's pids are looked up at each
    reading (PostgreSQL starts a server process per connection)."""

    def __init__(self) -> None:
        self.roles: dict[str, Callable[[], list[int]]] = {}

    def add(self, role: str, pids: Callable[[], list[int]]) -> None:
        self.roles[role] = pids

    def cpu(self) -> dict[str, dict[int, float]]:
        return {role: {p: cpu_seconds(p) for p in pids()} for role, pids in self.roles.items()}

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds of each role between two readings."""
        return {
            role: sum(t - before.get(role, {}).get(pid, 0.0) for pid, t in pids.items())
            for role, pids in after.items()
        }


def dispatch_lateness(directory: str) -> dict[float, float]:
    """The scheduler's dispatch lateness histogram as the metrics files hold it now:
    cumulative count of dispatched items by bucket bound (seconds), all kinds together."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)
    buckets: dict[float, float] = {}
    for metric in registry.collect():
        if metric.name == "upcron_dispatch_lateness_seconds":
            for sample in metric.samples:
                if sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def bucket_percentile(before: dict, after: dict, pct: float) -> float:
    """The smallest bucket bound holding ``pct`` percent of what was counted in between."""
    counts = {b: after[b] - before.get(b, 0.0) for b in sorted(after)}
    total = counts.get(float("inf"), 0.0)
    return next((b for b, n in counts.items() if total and n >= total * pct / 100), 0.0)


def redis_pids(redis_url: str) -> list[int]:
    """The redis-server serving ``redis_url``: the embedded one by its socket, else any."""
    pids = pids_named("redis-server")
    if redis_url.startswith("unix://"):
        path = redis_url.removeprefix("unix://").encode()
        with contextlib.suppress(OSError):  # one that ended meanwhile
            pids = [p for p in pids if path in Path(f"/proc/{p}/cmdline").read_bytes()]
    return pids


def target_of(kind: str, url: str, resolver: str) -> str:
    return {"dns": resolver, "ping": "127.0.0.1"}.get(kind, url)


def run(args, url: str, resolver: str, redis_url: str, processes: Processes) -> dict:
    """Run the deployment against ``url`` and measure; returns the figures."""
    from app.extensions import db, redis_client
    from app.models import CheckResult

    if args.database:
        database_url = args.database
        processes.add("postgresql", lambda: pids_named("postgres"))
    else:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='upcron-bench-')}/bench.db"
    app = bench_app(database_url, redis_url)
    env = app_env(database_url, redis_url)
    # Counted as `upcron up` counts: each process to the metrics files of one folder.
    env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir = tempfile.mkdtemp(prefix="upcron-bench-")
    with app.app_context():
        redis_client.conn.flushdb()
        insert_monitors(
            args.monitors, target_of(args.kind, url, resolver), args.interval, kind=args.kind
        )
        children = [("scheduler", [sys.executable, "-m", "app", "scheduler"])] + [
            (f"worker {n + 1}", [sys.executable, "-m", "app", "worker"])
            for n in range(args.workers)
        ]
        started = {role: subprocess.Popen(argv, env=env, cwd=PROJECT) for role, argv in children}
        for role, process in started.items():
            processes.add(role, lambda pid=process.pid: [pid])
        try:
            print(f"   warming up for {args.interval} s (one interval)…", flush=True)
            time.sleep(args.interval)
            window_start = datetime.now(UTC)
            cpu_before, late_before = processes.cpu(), dispatch_lateness(metrics_dir)
            time.sleep(args.duration)
            cpu_after, late_after = processes.cpu(), dispatch_lateness(metrics_dir)
            window_end = window_start + timedelta(seconds=args.duration)
            # Checks that started in the window and were stored by the time it ended, plus
            # a moment for the last batch to be written.
            time.sleep(2)
            rows = db.session.execute(
                sa.select(CheckResult.planned_at, CheckResult.started_at, CheckResult.outcome)
                .where(CheckResult.started_at >= window_start)
                .where(CheckResult.started_at < window_end)
            ).all()
            db.session.commit()  # ends the read: SQLite's writers must not wait for it
        finally:
            for process in started.values():
                process.terminate()
            for process in started.values():
                process.wait(30)
            redis_client.conn.flushdb()
    late = [(r.started_at - r.planned_at).total_seconds() for r in rows] or [0.0]
    return {
        "checks": len(rows),
        "failed": sum(r.outcome != "ok" for r in rows),
        "rate": len(rows) / args.duration,
        "late_p50": percentile(late, 50),
        "late_p99": percentile(late, 99),
        "late_max": max(late),
        "dispatch_p99": bucket_percentile(late_before, late_after, 99),
        "cpu": Processes.spent(cpu_before, cpu_after),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=3000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks")
    parser.add_argument("--duration", type=int, default=60, help="seconds measured")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kind", choices=("http", "tcp", "dns", "ping"), default="http")
    parser.add_argument("--database", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    if args.kind == "ping" and (reason := icmp.unavailable()):
        sys.exit(f"ping monitors cannot run here: {reason}")
    os.environ.setdefault("UPCRON_INSTANCE_DIR", tempfile.mkdtemp(prefix="upcron-bench-"))
    processes = Processes()
    target: list[int] = []
    with embedded_redis() as redis_url, target_server(target) as url, dns_server() as resolver:
        processes.add("target", lambda: target)
        processes.add("redis", lambda: redis_pids(redis_url))
        loop = plain_loop(url, LOOP_SEC)
        figures = run(args, url, resolver, redis_url, processes)
    offered = args.monitors / args.interval
    database = "PostgreSQL" if args.database else "SQLite"
    print(
        f"{args.monitors} {args.kind} monitors every {args.interval} s ({offered:.0f} checks/s "
        f"offered), {args.workers} workers, {database}, measured {args.duration} s after "
        f"{args.interval} s of warm-up: {figures['rate']:.0f} checks/s end to end "
        f"({figures['checks']} checks, {figures['failed']} failed); lateness (start − planned) "
        f"p50 {figures['late_p50']:.2f} s, p99 {figures['late_p99']:.2f} s, "
        f"max {figures['late_max']:.2f} s; dispatch lateness p99 ≤ {figures['dispatch_p99']} s "
        f"(the scheduler's histogram); raw requests.get loop {loop:.0f}/s, "
        f"ratio {figures['rate'] / loop:.2f}"
    )
    checks = max(1, figures["checks"])
    total = sum(figures["cpu"].values())
    print(
        "   CPU per check: "
        + ", ".join(f"{role} {1000 * cpu / checks:.3f} ms" for role, cpu in figures["cpu"].items())
        + f"; all {1000 * total / checks:.3f} ms"
        + f" ({total / args.duration:.2f} of {os.cpu_count()} cores busy)"
    )


if __name__ == "__main__":
    main()
