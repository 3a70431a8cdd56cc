"""`upcron up` heals: a real `up` on a temporary instance folder loses one child after another
to SIGKILL and must put each back while /healthz keeps answering; then it gives up on one that
keeps crashing. Also: a start right after a crash, and workers that Redis forgot."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
import requests

from app import create_app
from app.engine import scheduler
from app.services import cron_jobs, system
from tests.processes import (
    PROJECT,
    Running,
    alive,
    cmdline,
    descendants,
    free_port,
    leader_pid,
    process_env,
)

BACK_WITHIN_SEC = 15
RUNNING = "Upcron is running at"  # the banner's first line
HEARTBEAT_SEC = 2

# How each child shows in /proc/<pid>/cmdline; an RQ worker retitles itself when the
# setproctitle module is installed.
_KINDS = {
    "redis": ("redis-server",),
    "web": ("gunicorn",),
    "worker": ("app worker", "rq:worker:"),
    "scheduler": ("app scheduler",),
}


class Up(Running):
    """A running `upcron up` on an instance folder of its own."""

    def __init__(self, instance: Path):
        self.dir = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = process_env(
            instance, UPCRON_PORT=str(self.port), UPCRON_WORKER_HEARTBEAT_SEC=str(HEARTBEAT_SEC)
        )
        super().__init__([sys.executable, "-m", "app", "up"], env)

    def children(self, kind: str) -> list[int]:
        """Live children of `up` of one kind."""
        pids = []
        try:
            listed = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            candidates = listed.read_text().split()
        except OSError:
            return []
        for pid in map(int, candidates):
            if any(marker in cmdline(pid) for marker in _KINDS[kind]) and alive(pid):
                pids.append(pid)
        return pids

    def redis(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.dir / "redis.sock"), socket_timeout=2)

    def stop(self) -> str:
        family = descendants(self.process.pid)
        try:
            return super().stop()
        finally:
            for pid in family:  # nothing may outlive a failed test
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def _until(condition, timeout: float = BACK_WITHIN_SEC):
    """The first truthy value of ``condition()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (redis.RedisError, requests.RequestException):
            value = None
        if value:
            return value
        time.sleep(0.1)
    return None


class HealthWatch:
    """Polls /healthz four times a second in a thread; counts the answers that are not 200
    within ``timeout`` seconds."""

    def __init__(self, url: str, timeout: float = 2):
        self.url = url
        self.timeout = timeout
        self.polls = self.failures = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        while not self.done.wait(0.25):
            try:
                ok = requests.get(f"{self.url}/healthz", timeout=self.timeout).status_code == 200
            except requests.RequestException:
                ok = False
            self.polls += 1
            self.failures += not ok

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def _registered_pids(conn: redis.Redis) -> set[int]:
    return {int(conn.hget(key, "pid") or 0) for key in conn.smembers("rq:workers")}


def _replacement(up: Up, kind: str, old: int) -> int | None:
    return next((pid for pid in up.children(kind) if pid != old), None)


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """One `upcron up` shared by the kill tests, with one cron job in its database."""
    instance = tmp_path_factory.mktemp("up")
    stack = Up(instance)
    try:
        stack.wait_for(RUNNING)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'upcron.db'}",
                "REDIS_URL": f"unix://{instance / 'redis.sock'}",
            }
        )
        with app.app_context():
            cron_jobs.create(
                {"name": "Nightly", "url": "https://ops.example.com/", "cron_expr": "0 2 * * *"}
            )
        stack.app = app
        yield stack
    finally:
        stack.stop()


def test_a_killed_worker_is_replaced_while_the_web_keeps_answering(up):
    conn = up.redis()
    (old,) = up.children("worker")
    assert _until(lambda: old in _registered_pids(conn))
    with HealthWatch(up.url) as health:
        os.kill(old, signal.SIGKILL)
        new = _until(lambda: _replacement(up, "worker", old))
        assert new, up.output()
        assert _until(lambda: new in _registered_pids(conn)), up.output()
    assert health.polls > 0 and health.failures == 0
    assert "worker.1 was killed by SIGKILL; restarting it now" in up.output()


def test_a_killed_scheduler_is_replaced_and_leads_again(up):
    conn = up.redis()
    (old,) = up.children("scheduler")
    assert _until(lambda: leader_pid(conn) == old)
    with HealthWatch(up.url) as health:
        os.kill(old, signal.SIGKILL)
        new = _until(lambda: _replacement(up, "scheduler", old))
        assert new, up.output()
        # The dead leader's lock runs out (10 s) and the new scheduler takes it.
        assert _until(lambda: leader_pid(conn) == new), up.output()
    assert health.polls > 0 and health.failures == 0


def test_a_killed_web_server_is_replaced_and_no_connection_is_refused(up):
    (old,) = up.children("web")
    # `up` holds the listening socket: a request made while gunicorn is replaced waits for
    # the new one rather than being refused.
    with HealthWatch(up.url, timeout=BACK_WITHIN_SEC) as health:
        os.kill(old, signal.SIGKILL)
        new = _until(lambda: _replacement(up, "web", old))
        assert new, up.output()
        assert _until(lambda: requests.get(f"{up.url}/healthz", timeout=2).status_code == 200)
    assert health.polls > 0 and health.failures == 0
    assert up.children("web") == [new]


def test_a_killed_redis_is_replaced_and_everyone_reconnects(up):
    (old,) = up.children("redis")
    (worker,) = up.children("worker")
    (scheduler_pid,) = up.children("scheduler")
    os.kill(old, signal.SIGKILL)
    assert _until(lambda: _replacement(up, "redis", old)), up.output()
    conn = up.redis()
    assert _until(lambda: requests.get(f"{up.url}/healthz", timeout=2).status_code == 200)
    # The scheduler rebuilt its due set from SQL; the worker registered again.
    assert _until(lambda: conn.zrange(scheduler.KEY_DUE, 0, -1) == [b"c:1"]), up.output()
    assert _until(lambda: leader_pid(conn) == scheduler_pid)
    assert _until(lambda: worker in _registered_pids(conn), HEARTBEAT_SEC + 5), up.output()
    assert up.children("worker") == [worker]  # reconnected, not restarted
    # RQ's scheduler process (notification retries) runs again and holds its locks, though
    # the worker that ran it first was killed in the first test.
    assert _until(lambda: conn.exists("rq:scheduler-lock:notify"), 2 * HEARTBEAT_SEC + 5), (
        up.output()
    )


def test_workers_register_again_within_a_heartbeat_after_redis_is_emptied(up):
    conn = up.redis()
    (worker,) = up.children("worker")
    assert _until(lambda: worker in _registered_pids(conn))
    conn.flushdb()
    with up.app.app_context():
        listed = _until(lambda: [w["pid"] for w in system.overview()["workers"]], HEARTBEAT_SEC + 1)
    assert listed == [worker]


def test_a_second_up_on_the_same_instance_is_refused(up):
    result = subprocess.run(
        [sys.executable, "-m", "app", "up"],
        cwd=PROJECT,
        env=process_env(up.dir, UPCRON_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "another `upcron up` is running with the instance folder" in result.stderr
    assert up.process.poll() is None


def test_up_gives_up_on_a_child_that_keeps_crashing(up):
    """Five crashes of one child within five minutes (the first test killed this worker
    once already): everything stops, exit 1."""
    family = descendants(up.process.pid)
    for _ in range(5):
        pids = _until(lambda: up.children("worker") or up.process.poll() is not None)
        if up.process.poll() is not None:
            break
        os.kill(pids[0], signal.SIGKILL)
        _until(lambda: pids[0] not in up.children("worker"))
    assert up.process.wait(30) == 1, up.output()
    assert "restarting it in 2 s" in up.output()  # the wait grew: now, 1 s, 2 s, …
    assert (
        "worker.1 was killed by SIGKILL, its 5th crash within 5 minutes: giving up" in up.output()
    )
    # `up` waited for its children; theirs (gunicorn's workers) go with them.
    assert _until(lambda: not [pid for pid in family if alive(pid)], 30), [
        pid for pid in family if alive(pid)
    ]


def test_a_start_right_after_a_crash_stops_the_redis_left_behind(tmp_path):
    first = Up(tmp_path)
    second = stale = None
    try:
        first.wait_for(RUNNING)
        (stale,) = first.children("redis")
        # A Redis that has not finished stopping when `up` starts again: frozen here, and
        # then its `up` dies outright, so nothing stops it.
        os.kill(stale, signal.SIGSTOP)
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        second = Up(tmp_path)
        second.wait_for(RUNNING, 30)
        assert f"stopped the embedded Redis (pid {stale}) of an earlier run" in second.output()
        assert not alive(stale)
        assert requests.get(f"{second.url}/healthz", timeout=5).json()["redis"] == "ok"
    finally:
        if second:
            second.stop()
        first.stop()
        if stale and alive(stale):
            os.kill(stale, signal.SIGKILL)
