"""End-to-end check throughput: 2,000 monitors scheduled → probed → stored, per second, for
http monitors, then for tcp monitors (a connection to the same target's port), then for dns
monitors (an A record asked of a local dnslib server over UDP), then for ping monitors (one
ICMP echo request to 127.0.0.1; left out, saying why, where this process may send no ICMP).

Beside them, in the same run and against the same local target, a plain loop of
``requests.get`` with a new connection each time: the ratio says what the pipeline costs over
the simplest possible checker. Two `upcron worker` processes (this machine has two
cores), SQLite and an embedded Redis unless UPCRON_REDIS_URL is set.

Run: `make bench` or `.venv/bin/python bench/checks.py [count]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import icmp  # noqa: E402
from bench._common import (  # noqa: E402
    app_env,
    bench_app,
    dns_server,
    embedded_redis,
    insert_monitors,
    target_server,
)

WORKERS = 2


def plain_loop(url: str, count: int) -> float:
    import requests

    started = time.perf_counter()
    for _ in range(count):
        requests.get(url, timeout=5).close()
    return count / (time.perf_counter() - started)


def pipeline(url: str, count: int, redis_url: str, kind: str = "http") -> float:
    """Checks per second of ``count`` monitors of ``kind``; ``url`` is the target (for dns
    the resolver's address)."""
    import sqlalchemy as sa

    from app.engine.scheduler import Scheduler
    from app.extensions import db, redis_client
    from app.models import CheckResult

    database_url = f"sqlite:///{tempfile.mkdtemp(prefix='upcron-bench-')}/bench.db"
    app = bench_app(database_url, redis_url)
    env = app_env(database_url, redis_url)
    with app.app_context():
        redis_client.conn.flushdb()
        insert_monitors(count, url, kind=kind)
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                env=env,
                cwd=Path(__file__).resolve().parents[1],
            )
            for _ in range(WORKERS)
        ]
        try:
            time.sleep(3)  # workers up and idle before the clock starts
            scheduler = Scheduler(conn=redis_client.conn)
            scheduler.rebuild()
            started = time.perf_counter()
            scheduler.tick()
            stored = 0
            while stored < count:
                time.sleep(0.05)
                stored = db.session.execute(sa.select(sa.func.count(CheckResult.id))).scalar()
                db.session.commit()
            elapsed = time.perf_counter() - started
            failed = db.session.execute(
                sa.select(sa.func.count()).where(CheckResult.outcome != "ok")
            ).scalar()
            # End the read (BEGIN IMMEDIATE holds SQLite's write lock): a worker finishing
            # its last job as it stops must not wait for it.
            db.session.commit()
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
            redis_client.conn.flushdb()
    if failed:
        print(f"   ({failed} of {count} {kind} checks failed)")
    return count / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    os.environ.setdefault("UPCRON_INSTANCE_DIR", tempfile.mkdtemp(prefix="upcron-bench-"))
    with embedded_redis() as redis_url, target_server() as url, dns_server() as resolver:
        baseline = plain_loop(url, count)
        http = pipeline(url, count, redis_url)
        tcp = pipeline(url, count, redis_url, kind="tcp")
        dns = pipeline(resolver, count, redis_url, kind="dns")
        no_icmp = icmp.unavailable()
        ping = None if no_icmp else pipeline("127.0.0.1", count, redis_url, kind="ping")
    print(
        f"{count} monitors, {WORKERS} workers, end to end (scheduled → probed → stored): "
        f"http {http:.0f} checks/s, tcp {tcp:.0f} checks/s, dns {dns:.0f} checks/s, "
        + (f"ping {ping:.0f} checks/s" if ping else "ping left out")
        + f"; plain requests.get loop {baseline:.0f}/s; ratio http/loop {http / baseline:.2f}, "
        f"tcp/http {tcp / http:.2f}, dns/http {dns / http:.2f}"
        + (f", ping/http {ping / http:.2f}" if ping else "")
    )
    if no_icmp:
        print(f"   (ping left out: {no_icmp})")


if __name__ == "__main__":
    main()
