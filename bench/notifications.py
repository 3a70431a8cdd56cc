"""Alert delivery: staging cost, then webhook deliveries through real workers.

1,000 monitors go down at once, each with one webhook channel. Reports how long staging their
alerts takes (rows written in one transaction, then one RQ job each), then how fast two
`upcron worker` processes deliver them to a local HTTP server, and the time from staging to
sending (p50, p95, max) taken from the delivery log.

Run: `make bench` or `.venv/bin/python bench/notifications.py` (uses UPCRON_REDIS_URL or an
embedded Redis; the database is a throwaway SQLite file).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    app_env,
    bench_app,
    embedded_redis,
    insert_monitors,
    percentile,
    target_server,
)

COUNT = 1_000
WORKERS = 2


def main() -> None:
    os.environ.setdefault("UPCRON_INSTANCE_DIR", tempfile.mkdtemp(prefix="upcron-bench-"))
    database_url = f"sqlite:///{tempfile.mkdtemp(prefix='upcron-bench-db-')}/bench.db"
    with embedded_redis() as redis_url, target_server() as url:
        app = bench_app(database_url, redis_url)
        with app.app_context():
            from app.extensions import db, redis_client
            from app.models import Monitor, NotificationLog
            from app.models.monitor import monitor_channels
            from app.services import channels, notifications

            redis_client.conn.flushdb()
            channel = channels.create({"name": "bench", "kind": "webhook", "url": url})
            insert_monitors(COUNT, url)
            now = datetime.now(UTC)
            db.session.execute(sa.update(Monitor).values(state="down", state_changed_at=now))
            ids = db.session.execute(sa.select(Monitor.id)).scalars().all()
            db.session.execute(
                sa.insert(monitor_channels),
                [{"monitor_id": i, "channel_id": channel.id} for i in ids],
            )
            db.session.commit()

            start = time.perf_counter()
            staged = notifications.dispatch([("monitor", i, "down") for i in ids])
            stage_s = time.perf_counter() - start
            assert len(staged) == COUNT

            env = app_env(database_url, redis_url)
            start = time.perf_counter()
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "app", "worker", "--burst"],
                    cwd=Path(__file__).resolve().parents[1],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(WORKERS)
            ]
            for worker in workers:
                worker.wait()
            deliver_s = time.perf_counter() - start
            db.session.remove()
            rows = db.session.execute(
                sa.select(
                    NotificationLog.status, NotificationLog.created_at, NotificationLog.sent_at
                )
            ).all()
            sent = [r for r in rows if r.status == "sent"]
            waits = [(r.sent_at - r.created_at).total_seconds() for r in sent]
    print(
        f"{COUNT} alerts staged and enqueued in {stage_s:.2f} s "
        f"({COUNT / stage_s:.0f}/s, one transaction + one pipeline)"
    )
    print(
        f"{len(sent)}/{COUNT} webhooks delivered by {WORKERS} workers in {deliver_s:.2f} s "
        f"({len(sent) / deliver_s:.0f}/s incl. worker start-up); staged→sent p50 "
        f"{percentile(waits, 50):.2f} s, p95 {percentile(waits, 95):.2f} s, max {max(waits):.2f} s"
    )


if __name__ == "__main__":
    main()
