"""The PSS accounting of bench/memory.py, on real processes and their /proc files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench._common import process_tree, pss_kib

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's /proc/<pid>/smaps_rollup"
)

MIB = 1024

# A parent that fills 64 MiB, then forks a child that only sleeps: the child shares every
# one of those pages copy-on-write. The child forks a grandchild of its own the same way.
_TREE = r"""
import os, sys, time
block = bytearray(os.urandom(1024)) * (64 * 1024)  # 64 MiB, every page written
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    time.sleep(60)
    os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def tree():
    process = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True)
    pids = [process.pid]
    try:
        assert process.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        while len(pids) < 3 and time.monotonic() < deadline:  # the grandchild forks last
            pids = process_tree(process.pid)
        yield process.pid, pids
    finally:
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_the_tree_is_the_root_and_its_descendants_only(tree):
    root, pids = tree
    assert pids[0] == root
    assert len(pids) == 3
    assert os.getpid() not in pids
    # The child is the root's, the grandchild the child's.
    parents = {
        pid: int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) for pid in pids
    }
    assert parents[pids[1]] == root
    assert parents[pids[2]] == pids[1]


def test_shared_pages_count_once_in_the_sum(tree):
    _, pids = tree
    figures = pss_kib(pids)
    assert set(figures) == set(pids)
    rss = sum(_rss_kib(pid) for pid in pids)
    # RSS counts the 64 MiB in each of the three processes; PSS splits them among them.
    assert rss >= 3 * 64 * MIB
    assert 64 * MIB <= sum(figures.values()) < rss - 100 * MIB


def test_each_pid_counts_once_and_vanished_ones_are_left_out(tree):
    _, pids = tree
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its pid names no process any more
    figures = pss_kib([*pids, pids[0], ended.pid, pids[1]])
    assert list(figures) == pids
    alone = pss_kib(pids)
    # The same processes measured twice agree to within the few pages they touch meanwhile.
    assert abs(sum(figures.values()) - sum(alone.values())) < 4 * MIB
