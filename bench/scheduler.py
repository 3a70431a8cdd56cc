"""Dispatch lateness of the scheduler with 10,000 and 100,000 items due in the same minute.

Every item is due at the same instant (the start of a minute: the worst case, as with
"* * * * *" cron jobs), half interval monitors and half cron jobs. The leader takes them,
computes each next due time and enqueues the batches; lateness is the time from the planned
instant to the moment an item's batch is enqueued. Also reports the scheduler's CPU seconds.

Run: `make bench` or `.venv/bin/python bench/scheduler.py` (uses UPCRON_REDIS_URL or an
embedded Redis; the database is a throwaway SQLite file).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import embedded_redis, percentile  # noqa: E402


def run(count: int, redis_url: str) -> dict:
    from app import create_app
    from app.engine import scheduler as sched

    app = create_app({"REDIS_URL": redis_url})
    with app.app_context():
        from app.extensions import redis_client

        conn = redis_client.conn
        conn.flushdb()
        planned = (int(time.time()) // 60 + 1) * 60 * 1000  # the next minute's start
        members = {}
        specs = {}
        for n in range(count):
            member = f"m:{n}" if n % 2 else f"c:{n}"
            members[member] = planned
            specs[member] = json.dumps({"i": 60} if n % 2 else {"e": "* * * * *", "z": "UTC"})
        with conn.pipeline() as pipe:
            for start in range(0, count, 10_000):
                chunk = list(members)[start : start + 10_000]
                pipe.hset(sched.KEY_SPEC, mapping={m: specs[m] for m in chunk})
                pipe.zadd(sched.KEY_DUE, {m: members[m] for m in chunk})
            pipe.set(sched.KEY_BUILT, 1)
            pipe.execute()

        lateness = []

        class Measured(sched.Scheduler):
            def dispatch_due(self, now):
                taken = super().dispatch_due(datetime.now(UTC))
                delay = time.time() - planned / 1000
                lateness.extend([delay] * taken)
                return taken

        scheduler = Measured(conn=conn)
        # Only dispatch is measured: the items exist in Redis alone, so keep the periodic
        # reconcile (which would drop them) and the other chores out of the run.
        later = time.monotonic()
        scheduler._last_reconcile = scheduler._last_recover = scheduler._last_prune = later
        scheduler._last_notify_upkeep = later
        while time.time() * 1000 < planned:
            time.sleep(0.001)
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        while len(lateness) < count:
            scheduler.tick(datetime.now(UTC))
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        jobs = conn.llen("rq:queue:checks")
        conn.flushdb()
    return {
        "items": count,
        "batches": jobs,
        "p50_s": statistics.median(lateness),
        "p99_s": percentile(lateness, 99),
        "max_s": max(lateness),
        "cpu_s": cpu,
        "wall_s": wall,
    }


def main() -> None:
    os.environ.setdefault("UPCRON_INSTANCE_DIR", tempfile.mkdtemp(prefix="upcron-bench-"))
    with embedded_redis() as redis_url:
        for count in (10_000, 100_000):
            r = run(count, redis_url)
            print(
                f"{r['items']:>7} items due at once: {r['batches']} batches; dispatch lateness "
                f"p50 {r['p50_s']:.3f} s, p99 {r['p99_s']:.3f} s, max {r['max_s']:.3f} s; "
                f"scheduler CPU {r['cpu_s']:.2f} s (wall {r['wall_s']:.2f} s)"
            )


if __name__ == "__main__":
    main()
