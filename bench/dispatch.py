"""How evenly the scheduler dispatches monitors created together, and after Redis is emptied.

N uptime monitors (60 s) are inserted in one transaction and announced to the scheduler as the
services do after a commit (``scheduler.refresh`` each). The real leader then ticks every
250 ms of a simulated clock for two intervals; every dispatched slot is counted in the second
its batch was enqueued, and recorded as checked then (``last_checked_at``, as a worker's
result would be: no probe runs, so the figures are the scheduler's alone). Then Redis is
emptied (FLUSHDB: the scheduler's keys vanish as with FLUSHALL) and two more intervals run:
the next tick rebuilds the due set from SQL.

For each half it prints the per-second dispatch histogram's mean (N / interval), busiest and
quietest second, the busiest second as a multiple of the mean (target: at most 2) and the
empty seconds, then the first 60 per-second counts.

Run: `.venv/bin/python bench/dispatch.py [N ...]` (default 1000 2000; uses UPCRON_REDIS_URL or
an embedded Redis; the database is a throwaway SQLite file; under a minute).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import bench_app, embedded_redis, insert_monitors  # noqa: E402

INTERVAL_SEC = 60
TICK = timedelta(milliseconds=250)


def run(count: int, redis_url: str) -> dict[str, list[int]]:
    from app.engine import scheduler as sched
    from app.extensions import db, redis_client
    from app.models import Monitor

    folder = tempfile.mkdtemp(prefix="upcron-bench-dispatch-")
    app = bench_app(f"sqlite:///{folder}/bench.db", redis_url)
    with app.app_context():
        conn = redis_client.conn
        conn.flushdb()
        scheduler = sched.Scheduler(conn=conn)
        scheduler.rebuild()  # a leader already running, on an empty database
        insert_monitors(count, "http://127.0.0.1:9/", interval_sec=INTERVAL_SEC)
        ids = db.session.execute(sa.select(Monitor.id)).scalars().all()
        # The clock starts as the announcements do: a leader would be ticking meanwhile.
        clock = datetime.now(UTC)
        for monitor_id in ids:
            sched.refresh("monitor", monitor_id)

        dispatched: list[tuple[datetime, list]] = []
        enqueue = sched._enqueue_batches

        def recorded(conn, items, lease_ms, attempt=0, leased=False):
            dispatched.append((clock, items))
            return enqueue(conn, items, lease_ms, attempt=attempt, leased=leased)

        sched._enqueue_batches = recorded
        halves = {}
        try:
            for half in ("after creation", "after FLUSHALL"):
                if half == "after FLUSHALL":
                    conn.flushdb()
                start = clock
                dispatched.clear()
                while clock < start + timedelta(seconds=2 * INTERVAL_SEC):
                    before = len(dispatched)
                    scheduler.tick(clock)
                    checked = [
                        {"sid": sid, "at": at}
                        for at, items in dispatched[before:]
                        for _, sid, *_ in items
                    ]
                    if checked:
                        table = Monitor.__table__
                        db.session.execute(
                            sa.update(table)
                            .where(table.c.id == sa.bindparam("sid"))
                            .values(last_checked_at=sa.bindparam("at")),
                            checked,
                        )
                        db.session.commit()
                    clock += TICK
                per_second = Counter(
                    int((at - start).total_seconds()) for at, items in dispatched for _ in items
                )
                halves[half] = [per_second.get(s, 0) for s in range(2 * INTERVAL_SEC)]
        finally:
            sched._enqueue_batches = enqueue
        conn.flushdb()
    return halves


def main() -> None:
    os.environ.setdefault("UPCRON_INSTANCE_DIR", tempfile.mkdtemp(prefix="upcron-bench-"))
    counts = [int(arg) for arg in sys.argv[1:]] or [1000, 2000]
    with embedded_redis() as redis_url:
        for count in counts:
            mean = count / INTERVAL_SEC
            for half, seconds in run(count, redis_url).items():
                busiest = max(seconds)
                print(
                    f"{count} monitors at {INTERVAL_SEC} s, {half}: {sum(seconds)} checks in "
                    f"{len(seconds)} s; mean {mean:.1f}/s, busiest second {busiest} "
                    f"({busiest / mean:.2f}x the mean), quietest {min(seconds)}, "
                    f"{seconds.count(0)} seconds empty"
                )
                print("  per second, first interval:", " ".join(map(str, seconds[:INTERVAL_SEC])))


if __name__ == "__main__":
    main()
