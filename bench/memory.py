"""Memory of the whole default install: `upcron up` with 1,000 monitors being checked.

`upcron up` runs as a user would start it (embedded Redis, SQLite in a throwaway instance
folder, the default processes) against a local HTTP target, each monitor checked every 60 s.
Once every monitor has been checked twice and the install has settled, the proportional
set size (PSS, from /proc/<pid>/smaps_rollup) of each process of its tree is printed with
the total: PSS counts a page that several processes share (a shared library, the pages a
fork shares copy-on-write) once in the sum, where RSS would count it in each.

Run: `make bench` or `.venv/bin/python bench/memory.py [count] [interval]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    bench_app,
    free_port,
    insert_monitors,
    process_tree,
    pss_kib,
    target_server,
)

PROJECT = Path(__file__).resolve().parents[1]
ROUNDS = 2  # checks of every monitor before the figures are read
SETTLE_SEC = 10  # then this long again, so start-up garbage is collected


def describe(pid: int) -> str:
    """A short name for a process of the tree, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in argv if w]
    if any("redis-server" in w for w in words):
        return "redis"
    if "gunicorn" in words:
        return "gunicorn"
    if words[-2:-1] == ["app"] or words[-1:] in (["up"], ["scheduler"], ["worker"]):
        return f"upcron {words[-1]}"
    return " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))[:40]


def main() -> None:
    import sqlalchemy as sa

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    interval = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    instance = tempfile.mkdtemp(prefix="upcron-bench-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
    env.update(UPCRON_INSTANCE_DIR=instance, UPCRON_PORT=str(port))
    database_url = f"sqlite:///{instance}/upcron.db"  # what `up` uses by default
    with target_server() as url:
        # Redis is not needed to write the monitors; `up` starts its own.
        app = bench_app(database_url, f"unix://{instance}/unused.sock")
        with app.app_context():
            from app.extensions import db
            from app.models import CheckResult

            insert_monitors(count, url, interval_sec=interval)
            up = subprocess.Popen(
                [sys.executable, "-m", "app", "up"],
                env=env,
                cwd=PROJECT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                started = time.monotonic()
                stored = 0
                deadline = started + ROUNDS * interval + 300
                while stored < ROUNDS * count and time.monotonic() < deadline:
                    time.sleep(1)
                    stored = db.session.execute(sa.select(sa.func.count(CheckResult.id))).scalar()
                    db.session.commit()
                # A few pages, as someone looking at the install would load them.
                for path in ("/healthz", "/login", "/status"):
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
                    except OSError:
                        pass
                time.sleep(SETTLE_SEC)
                tree = process_tree(up.pid)
                figures = pss_kib(tree)
                names = {pid: describe(pid) for pid in figures}
            finally:
                up.terminate()
                up.wait(60)
    print(
        f"`upcron up` with {count} monitors checked every {interval} s "
        f"({stored} checks stored in {time.monotonic() - started:.0f} s):"
    )
    for pid, kib in figures.items():
        print(f"  {names[pid]:<20} pid {pid:<8} PSS {kib / 1024:6.1f} MiB")
    total = sum(figures.values()) / 1024
    print(f"  {'total':<20} {len(figures)} processes  PSS {total:6.1f} MiB")


if __name__ == "__main__":
    main()
