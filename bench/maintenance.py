"""What maintenance windows cost the recording of a batch: ``maintenance.covered(now)``,
asked once per batch of results, with 10,000 monitors in 100 groups.

Three cases: no window at all; 40 windows none of them active (20 one-off in the future, 20
recurring between their periods); and the same plus 10 active windows covering 20 groups
(2,000 monitors) and 500 monitors named directly. Each is timed over repeated calls on
SQLite (PostgreSQL with UPCRON_DATABASE_URL).

Run: `.venv/bin/python bench/maintenance.py [--monitors 10000] [--calls 200]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import bench_app, embedded_redis, insert_monitors, percentile  # noqa: E402


def report(label: str, calls: int) -> None:
    """Print p50 and p95 in ms of ``covered()``, and how many monitors it found."""
    from app.extensions import db
    from app.services import maintenance

    samples, found = [], 0
    for _ in range(calls):
        start = time.perf_counter()
        found = len(maintenance.covered().monitors)
        samples.append((time.perf_counter() - start) * 1000)
        db.session.commit()
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    print(f"{label:<24} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  covered {found}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="upcron-bench-")
    database_url = os.environ.get("UPCRON_DATABASE_URL", f"sqlite:///{folder}/bench.db")
    with embedded_redis() as redis_url:
        app = bench_app(database_url, redis_url)
        with app.app_context():
            import sqlalchemy as sa

            from app.extensions import db
            from app.models import Group, Monitor
            from app.models.types import utcnow
            from app.services import maintenance

            insert_monitors(args.monitors, "https://internal.example/health")
            db.session.execute(sa.insert(Group), [{"name": f"Group {n}"} for n in range(100)])
            db.session.execute(sa.update(Monitor).values(group_id=(Monitor.id % 100) + 1))
            db.session.commit()
            print(f"{args.monitors} monitors in 100 groups, {args.calls} calls each")
            report("no window", args.calls)

            now = utcnow()
            for n in range(20):
                maintenance.create({"title": f"Later {n}", "starts_at": now + timedelta(days=n + 1),
                                    "ends_at": now + timedelta(days=n + 1, hours=2),
                                    "group_ids": [n + 1]})  # fmt: skip
                hour = (now.hour + 12) % 24
                maintenance.create({"title": f"Nightly {n}", "cron_expr": f"{n} {hour} * * *",
                                    "duration_min": 30, "group_ids": [n + 21]})  # fmt: skip
            report("40 windows, none active", args.calls)

            for n in range(10):
                direct = list(range(n * 50 + 1, n * 50 + 51))
                maintenance.create({"title": f"Now {n}", "starts_at": now - timedelta(minutes=5),
                                    "ends_at": now + timedelta(hours=2),
                                    "group_ids": [41 + 2 * n, 42 + 2 * n],
                                    "monitor_ids": direct})  # fmt: skip
            report("+10 active windows", args.calls)


if __name__ == "__main__":
    main()
