"""How `upcron up` heals: SIGKILL one child of each kind and watch the 30 s that follow.

One `upcron up` (embedded Redis, SQLite, two workers) runs five "* * * * *" cron jobs against a
local target. For each child in turn (a worker, the scheduler, the gunicorn master, the
embedded Redis) the script kills it with SIGKILL, polls /healthz once a second for 30 s (each
poll on its own clock, 2 s timeout, as a load balancer would) and records when the child is
back: a new worker registered in Redis, a new scheduler holding the leader lock, a new
gunicorn answering, a new Redis answering with the workers registered again and a scheduler
leading. At the end every minute slot of every cron job between their creation and the end
must have run exactly once (a slot whose batch died with a worker runs late, after its lease).

Run: `make bench` or `.venv/bin/python bench/heal.py` (about 3 minutes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import free_port, target_server  # noqa: E402

WATCH_SEC = 30
CRON_JOBS = 5
KINDS = ("worker", "scheduler", "web", "redis")


def children(up_pid: int) -> dict[str, list[int]]:
    """The live children of `up` by kind."""
    found: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for pid in Path(f"/proc/{up_pid}/task/{up_pid}/children").read_text().split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        for kind, mark in (
            ("redis", "redis-server"),
            ("web", "gunicorn"),
            ("worker", "app worker"),
            ("scheduler", "app scheduler"),
        ):
            if mark in command:
                found[kind].append(int(pid))
    return found


class Stack:
    """`upcron up` on a temporary instance folder, its output kept."""

    def __init__(self, target: str):
        self.dir = Path(tempfile.mkdtemp(prefix="upcron-bench-heal-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
        env.update(
            UPCRON_INSTANCE_DIR=str(self.dir),
            UPCRON_PORT=str(self.port),
            UPCRON_WORKERS="2",
            UPCRON_TARGET_POLICY="open",
            UPCRON_LOG_LEVEL="warning",
        )
        self.output: list[str] = []
        running = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "up"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                if "Upcron is running" in line:
                    running.set()

        threading.Thread(target=read, daemon=True).start()
        if not running.wait(120):
            self.stop()
            raise SystemExit("upcron up did not start:\n" + "".join(self.output[-30:]))
        self.redis = redis.Redis(
            unix_socket_path=str(self.dir / "redis.sock"), socket_timeout=1, decode_responses=True
        )
        self.create_cron_jobs(target)

    def create_cron_jobs(self, target: str) -> None:
        from app import create_app
        from app.services import cron_jobs

        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.dir / 'upcron.db'}",
                "REDIS_URL": f"unix://{self.dir / 'redis.sock'}",
            }
        )
        with self.app.app_context():
            for n in range(CRON_JOBS):
                cron_jobs.create(
                    {"name": f"every minute {n}", "url": target, "cron_expr": "* * * * *"}
                )
        self.created = datetime.now(UTC)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)

    def registered_worker_pids(self) -> set[int]:
        pids = set()
        for key in self.redis.smembers("rq:workers"):
            pid = self.redis.hget(key, "pid")
            if pid:
                pids.add(int(pid))
        return pids

    def leader_pid(self) -> int | None:
        leader = self.redis.get("upcron:scheduler:leader")
        return int(leader.split("|")[0].rsplit(":", 1)[1]) if leader else None

    def is_back(self, kind: str, before: list[int]) -> bool:
        """Whether a new child of ``kind`` (one not in ``before``) does its job again."""
        now = children(self.process.pid)
        new = [pid for pid in now[kind] if pid not in before]
        try:
            if kind == "worker":
                return bool(set(new) & self.registered_worker_pids())
            if kind == "scheduler":
                return bool(new) and self.leader_pid() in new
            healthy = requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            if kind == "web":
                return bool(new) and healthy
            # Redis: answering, both workers listed again, a scheduler leading.
            return (
                bool(new)
                and healthy
                and set(now["worker"]) <= self.registered_worker_pids()
                and self.leader_pid() in now["scheduler"]
            )
        except (redis.RedisError, requests.RequestException):
            return False


def kill_and_watch(stack: Stack, kind: str) -> dict:
    before = children(stack.process.pid)[kind]
    victim = before[0]
    polls: list[bool] = []
    lock = threading.Lock()

    def poll():
        try:
            ok = requests.get(f"{stack.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            ok = False
        with lock:
            polls.append(ok)

    killed = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    back_after = None
    pollers = []
    for second in range(1, WATCH_SEC + 1):
        while time.monotonic() < killed + second:
            if back_after is None and stack.is_back(kind, before):
                back_after = time.monotonic() - killed
            time.sleep(0.1)
        thread = threading.Thread(target=poll)
        thread.start()
        pollers.append(thread)
    for thread in pollers:
        thread.join()
    return {
        "kind": kind,
        "healthz_ok": sum(polls),
        "polls": len(polls),
        "back_after_s": back_after,
    }


def lost_slots(stack: Stack, until: datetime) -> tuple[int, int]:
    """(slots expected, slots without exactly one execution) between creation and ``until``;
    waits up to 70 s for late ones (a batch that died with its worker waits for its lease)."""
    first = (stack.created + timedelta(minutes=1)).replace(second=0, microsecond=0)
    minutes = []
    while first + timedelta(minutes=len(minutes)) <= until:
        minutes.append(first + timedelta(minutes=len(minutes)))
    expected = len(minutes) * CRON_JOBS
    deadline = time.monotonic() + 70
    from app.extensions import db
    from app.models.history import CronExecution

    while True:
        with stack.app.app_context():
            rows = db.session.execute(
                sa.select(CronExecution.cron_job_id, CronExecution.planned_at).where(
                    CronExecution.planned_at >= first, CronExecution.planned_at <= until
                )
            ).all()
        counts = Counter(rows)
        wrong = expected - sum(1 for n in counts.values() if n == 1)
        if wrong == 0 or time.monotonic() > deadline:
            return expected, wrong
        time.sleep(2)


def main() -> None:
    with target_server() as target:
        stack = Stack(target)
        try:
            results = [kill_and_watch(stack, kind) for kind in KINDS]
            expected, lost = lost_slots(stack, datetime.now(UTC))
            restarted = [line.rstrip() for line in stack.output if "restarted" in line]
        finally:
            stack.stop()
    print(f"SIGKILL of one child of `upcron up`, /healthz polled once a second for {WATCH_SEC} s")
    print(f"{'child':<10} {'healthz 200':>12} {'back after':>11}")
    for r in results:
        back = f"{r['back_after_s']:.1f} s" if r["back_after_s"] is not None else "not back"
        share = f"{r['healthz_ok']}/{r['polls']}"
        print(f"{r['kind']:<10} {share:>12} {back:>11}")
    print(f"cron slots: {expected} expected, {lost} missing or doubled")
    print("\n".join(restarted))


if __name__ == "__main__":
    main()
