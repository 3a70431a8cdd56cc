"""What recording a metric costs where it happens, and what a scrape costs.

Each figure is measured in a fresh process, once with the figures in memory (no
PROMETHEUS_MULTIPROC_DIR) and once in multiprocess mode (a memory-mapped file per process, as
under `upcron up`): one check recorded (count and duration, on the workers' probe threads),
one ping counted (the web's hot path), the lateness of one tick's 10,000 dispatched items
(the scheduler), and the scrape's rendering with the files of 20 processes in the folder.
Times are the process's CPU time, which other work on a busy machine disturbs less than the
clock on the wall.

Run: `make bench` or `.venv/bin/python bench/metrics.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PROCESSES = 20
ITEMS = 10_000

_MEASURE = f"""
import time
from app import metrics

def per_call_us(record, n):
    start = time.process_time()
    for _ in range(n):
        record()
    return (time.process_time() - start) / n * 1e6

check = per_call_us(lambda: metrics.checked("http", "ok", 12_345), 20_000)
ping = per_call_us(lambda: metrics.PINGS.labels("success").inc(), 20_000)
items = [("monitor", 120)] * {ITEMS}
start = time.process_time()
metrics.dispatched(items)
tick_ms = (time.process_time() - start) * 1000
print(f"{{check:.2f}} {{ping:.2f}} {{tick_ms:.1f}}")
"""

_WRITE = """
from app import metrics
for kind in ("http", "tcp", "dns", "ping", "cron_job"):
    for outcome in ("ok", "failed_timeout", "failed_connect"):
        metrics.checked(kind, outcome, 50_000)
metrics.PINGS.labels("success").inc()
metrics.dispatched([("monitor", 100), ("cron_job", 100), ("heartbeat", 100)])
"""

_SCRAPE = """
import time
from app import metrics
levels = {"due": 1000, "queues": {"checks": 0, "notify": 0, "maintenance": 0}, "incidents_open": 3}
metrics.render(levels)
start = time.process_time()
for _ in range(20):
    body = metrics.render(levels)
print(f"{(time.process_time() - start) / 20 * 1000:.1f} {len(body)}")
"""


def run(code: str, folder: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if folder:
        env["PROMETHEUS_MULTIPROC_DIR"] = folder
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.split()  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="upcron-metrics-") as folder:
        for mode, directory in (("in memory", None), ("multiprocess", folder)):
            check, ping, tick = run(_MEASURE, directory)
            print(
                f"{mode:>12}: a check {check} µs, a ping {ping} µs, "
                f"a tick's {ITEMS:,} dispatched items {tick} ms"
            )
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        for _ in range(PROCESSES):
            run(_WRITE, folder)
        took, size = run(_SCRAPE, folder)
        print(f"scrape with the files of {PROCESSES} processes: {took} ms, {int(size):,} bytes")


if __name__ == "__main__":
    main()
