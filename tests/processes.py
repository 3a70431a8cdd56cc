"""Helpers for tests that run our commands as real processes: a free port, the environment of
a process of its own, the process tree under /proc, and a running process whose output is
read all along."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.engine.scheduler import KEY_LEADER
from app.processes import die_with_parent

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(tmp_path, **extra) -> dict:
    """The test run's environment without its Upcron settings, with an instance folder of
    its own and one worker, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
    env.update(UPCRON_INSTANCE_DIR=str(tmp_path), UPCRON_WORKERS="1", **extra)
    return env


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    """The command line of ``pid`` as one string; empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Running:
    """A process of ours, its output read all along (a full pipe would stall it)."""

    def __init__(self, argv, env):
        self.process = subprocess.Popen(
            argv,
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_parent,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline and self.process.poll() is None, self.output()
            time.sleep(0.1)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self.reader.join(10)
        self.process.stdout.close()
        return self.output()

    def output(self) -> str:
        return "".join(self.lines)


def leader_pid(conn) -> int | None:
    """The pid of the scheduler holding the lock (``<host>:<pid>|<token>``), on the Redis
    of ``conn``; None when none holds it."""
    value = conn.get(KEY_LEADER)
    return int(value.decode().split("|")[0].rsplit(":", 1)[1]) if value else None


def create_key(env) -> str:
    """A new API key of every scope, made by `upcron create-api-key` in ``env``."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "create-api-key", "--name", "logs", "--scopes", "*"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
