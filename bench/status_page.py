"""Public status page render time: 1,000 public monitors with 90 days of rollups.

Requests go through the WSGI app with Flask's test client (no network, no gunicorn), so the
figures are the app's own cost: database reads, rendering and the Redis cache. Measured in
the same run, for scale: a trivial route (`GET /api/setup/status`, one settings read). CPU
time is printed too: on a shared machine wall time also counts waiting for a core.

- cold: every cache is emptied before each request, the process's memo of item HTML too
  (what the first visitor pays after a restart; the finished days' aggregate is redone once
  per 5 minutes);
- uncached: the page's cache entry is deleted before each request, so every request renders
  (the finished days' aggregate and the item HTML memo warm, as between two renders of an
  unchanged page);
- cached: the 10-second Redis cache answers;
- conditional: a cached request with If-None-Match, answered 304 without a body.

With `--chart`, 24 hours of raw check results (one per 5 minutes per monitor, 288,000 rows)
are added and the 24-hour response-time charts are switched on.

Run: `.venv/bin/python bench/status_page.py [--monitors 1000] [--requests 40] [--chart]
[--bad-days 0.05]`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import bench_app, embedded_redis, insert_monitors, percentile  # noqa: E402


def populate(monitors: int, chart: bool, bad_days: float) -> None:
    """Public monitors in 20 groups, 90 days of rollups (a share ``bad_days`` of days with
    1, 3 or 30 failed checks of 1,440), a few incidents (inside an app context)."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import CheckResult, DailyRollup, Group, Incident, IncidentUpdate, Monitor
    from app.models.types import utcnow
    from app.services import status_page

    insert_monitors(monitors, "https://internal.example/health", interval_sec=60)
    db.session.execute(
        sa.insert(Group), [{"name": f"Region {n}", "position": n} for n in range(20)]
    )
    now = utcnow()
    db.session.execute(
        sa.update(Monitor).values(
            public=True,
            state="up",
            last_checked_at=now,
            last_response_ms=120,
            group_id=(Monitor.id % 20) + 1,
        )
    )
    rng = random.Random(7)
    today = now.date()
    rows = []
    for monitor_id in range(1, monitors + 1):
        for n in range(90):
            failures = rng.choice((1, 3, 30)) if rng.random() < bad_days else 0
            rows.append(
                {
                    "subject_type": "monitor",
                    "subject_id": monitor_id,
                    "day": today - timedelta(days=n),
                    "checks": 1440,
                    "failures": failures,
                    "latency_sum_ms": 1440 * 120,
                    "latency_min_ms": 80,
                    "latency_max_ms": 400,
                    "downtime_sec": 60 * failures if failures > 2 else 0,
                }
            )
    db.session.execute(sa.insert(DailyRollup), rows)
    for n in range(8):
        incident = Incident(
            monitor_id=n * 97 + 1,
            title=f"bench {n * 97} is down",
            cause="connect to 10.0.0.1 refused",
            status="open" if n < 2 else "resolved",
            started_at=now - timedelta(days=n * 5, hours=2),
            resolved_at=None if n < 2 else now - timedelta(days=n * 5, hours=1),
        )
        incident.updates.append(
            IncidentUpdate(kind="started", message="connect refused", created_at=now)
        )
        db.session.add(incident)
    if chart:
        checks = [
            {
                "monitor_id": monitor_id,
                "planned_at": now - timedelta(minutes=5 * k),
                "started_at": now - timedelta(minutes=5 * k),
                "outcome": "ok",
                "total_us": rng.randint(80_000, 200_000),
            }
            for monitor_id in range(1, monitors + 1)
            for k in range(288)
        ]
        for start in range(0, len(checks), 50_000):
            db.session.execute(sa.insert(CheckResult), checks[start : start + 50_000])
    db.session.commit()
    if chart:
        status_page.update_settings({"show_response_times": True})


def timed(client, path: str, count: int, before=None, headers=None):
    """Wall and CPU milliseconds of ``count`` requests, and the size of the last answer."""
    times, cpu, size = [], [], 0
    for _ in range(count):
        if before:
            before()
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        size = len(response.data)
        assert response.status_code in (200, 304), response.status_code
    return times, cpu, size


def report(name: str, times: list[float], cpu: list[float], size: int) -> None:
    print(
        f"{name:<36} p50 {percentile(times, 50):8.2f} ms  p95 {percentile(times, 95):8.2f} ms"
        f"  (CPU p50 {percentile(cpu, 50):7.2f} ms; {len(times)} requests, {size / 1024:,.0f} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--chart", action="store_true")
    parser.add_argument("--bad-days", type=float, default=0.05, help="share of days with failures")
    args = parser.parse_args()

    from app.extensions import redis_client
    from app.services import page_cache, status_page
    from app.web import status

    with embedded_redis() as redis_url:
        folder = tempfile.mkdtemp(prefix="upcron-bench-")
        app = bench_app(f"sqlite:///{folder}/bench.db", redis_url)
        with app.app_context():
            redis_client.conn.flushdb()
            populate(args.monitors, args.chart, args.bad_days)
        client = app.test_client()

        def dropping(prefix: str):
            def drop():
                with app.app_context():
                    page_cache.clear(status_page.CACHE_PREFIX + prefix)
                if not prefix:
                    status._item_html.cache_clear()

            return drop

        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"{args.monitors} public monitors, 90 days of rollups ({args.bad_days:.0%} of days"
            " with failures), 8 incidents"
            f"{', 24 h response charts' if args.chart else ''}; SQLite; WSGI test client"
        )
        timed(client, "/status", 3, before=dropping(""))  # warm up templates and connections
        report("trivial route /api/setup/status", *timed(client, "/api/setup/status", 200))
        report(
            "/status cold (every cache empty)",
            *timed(client, "/status", max(5, args.requests // 4), before=dropping("")),
        )
        report(
            "/status uncached (page cache miss)",
            *timed(client, "/status", args.requests, before=dropping("page:")),
        )
        report("/status cached", *timed(client, "/status", 200))
        etag = client.get("/status").headers["ETag"]
        report(
            "/status cached, If-None-Match (304)",
            *timed(client, "/status", 200, headers={"If-None-Match": etag}),
        )
        report(
            "/api/status uncached",
            *timed(client, "/api/status", args.requests, before=dropping("api:")),
        )
        report("/api/status cached", *timed(client, "/api/status", 200))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
