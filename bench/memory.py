"""Resident memory of the scheduler and of one worker with 10,000 monitors loaded.

Both run as real `upcron scheduler` / `upcron worker` processes against a throwaway SQLite
database and a local target; memory is read from /proc once every monitor has been checked
once (current RSS and the peak).

Run: `make bench` or `.venv/bin/python bench/memory.py [count]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    app_env,
    bench_app,
    embedded_redis,
    insert_monitors,
    target_server,
)

PROJECT = Path(__file__).resolve().parents[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    import sqlalchemy as sa

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    os.environ.setdefault("UPCRON_INSTANCE_DIR", tempfile.mkdtemp(prefix="upcron-bench-"))
    with embedded_redis() as redis_url, target_server() as url:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='upcron-bench-')}/bench.db"
        app = bench_app(database_url, redis_url)
        env = app_env(database_url, redis_url)
        with app.app_context():
            from app.extensions import db, redis_client
            from app.models import CheckResult

            redis_client.conn.flushdb()
            insert_monitors(count, url)
            processes = {
                name: subprocess.Popen([sys.executable, "-m", "app", name], env=env, cwd=PROJECT)
                for name in ("scheduler", "worker")
            }
            try:
                started = time.monotonic()
                stored = 0
                while stored < count and time.monotonic() - started < 300:
                    time.sleep(0.5)
                    stored = db.session.execute(sa.select(sa.func.count(CheckResult.id))).scalar()
                    db.session.commit()
                figures = {name: memory_mb(p.pid) for name, p in processes.items()}
            finally:
                for process in processes.values():
                    process.terminate()
                for process in processes.values():
                    process.wait(30)
                redis_client.conn.flushdb()
    for name, (current, peak) in figures.items():
        print(
            f"{name:<9} with {count} monitors ({stored} checked): "
            f"RSS {current:.0f} MiB, peak {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main()
