"""The multi-host topology for real: two web servers, two schedulers and three workers, each a
process of its own with its own environment and instance folder as if on its own host, sharing
only PostgreSQL and an external Redis. While they check monitors and run cron jobs on a local
target, the test SIGKILLs a worker in the middle of a cron batch, then the leading scheduler,
then kills Redis in the middle of the next cron batch and starts it again empty.

What must hold: every cron slot ran, once in the history and with one execution id however
often it was sent; every monitor kept its cadence (no gap over two intervals and the lease a
worker holds on its slots) and was checked again once Redis was back; both web servers
answered all along.

It runs on PostgreSQL only (SQLite is one host's database) and takes two to three minutes, a
good part of it waiting for the minute boundaries of the cron jobs: run it alone with
``pytest tests/integration/test_topology.py``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa
from rq import Worker

from app.engine import checks
from app.engine import scheduler as sched
from app.extensions import db
from app.models import CheckResult, CronExecution
from app.services import api_keys
from tests.conftest import start_redis
from tests.processes import Running, free_port, leader_pid, process_env
from tests.targets import TargetServer

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("UPCRON_TEST_DATABASE_URL"),
        reason="the multi-host topology needs PostgreSQL: set UPCRON_TEST_DATABASE_URL",
    ),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

MONITORS = 20
INTERVAL_SEC = 10  # the shortest a monitor accepts
CRON_JOBS = 4
# How long the target takes to answer the first and the second run of a cron job (the killed
# worker's and the one Redis dies under), so that their batch is still running then; it
# answers the others at once, so that the killed slots have run again before the second.
CRON_DELAY_SEC = 3
LEASE_SEC = sched.Scheduler.lease_ms_default / 1000
AFTER_REDIS_SEC = 40  # how long the run goes on once Redis is back, empty
PY = sys.executable


class ExternalRedis:
    """A Redis of the test's own, keeping nothing on disk, that it can kill and start again."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = str(directory / "redis.sock")
        self.url = f"unix://{self.socket}"
        self.process = start_redis(self.socket, str(directory))

    def conn(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=self.socket, socket_timeout=5)

    def restart_empty(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.process = start_redis(self.socket, str(self.directory))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


class Topology:
    """The processes of the run, each with its host's environment; stopped all together."""

    def __init__(self, tmp_path: Path, database_url: str, external: ExternalRedis):
        self.tmp_path = tmp_path
        self.redis = external
        self.shared = {
            "UPCRON_DATABASE_URL": database_url,
            "UPCRON_REDIS_URL": external.url,
            "UPCRON_SECRET_KEY": "the-same-long-random-string-on-every-host",
            "UPCRON_ACCESS_LOG": "off",
        }
        self.processes: dict[str, Running] = {}
        self.web_urls: list[str] = []

    def start(self, name: str, command: str, **settings) -> Running:
        host = self.tmp_path / name
        host.mkdir()
        env = process_env(host, **self.shared, **settings)
        self.processes[name] = Running([PY, "-m", "app", command], env)
        return self.processes[name]

    def start_web(self, name: str) -> None:
        port = free_port()
        self.start(name, "web", UPCRON_PORT=str(port))
        self.web_urls.append(f"http://127.0.0.1:{port}")

    def by_pid(self, pid: int) -> str:
        [name] = [n for n, p in self.processes.items() if p.process.pid == pid]
        return name

    def output(self) -> str:
        return "\n".join(f"--- {n}\n{p.output()[-3000:]}" for n, p in self.processes.items())

    def stop(self) -> None:
        for running in self.processes.values():
            if running.process.poll() is None:
                running.process.send_signal(signal.SIGINT)
        for running in self.processes.values():
            try:
                running.stop()
            except Exception:
                running.process.kill()
                running.process.wait(10)


class HealthPolls:
    """Polls /healthz of every web server twice a second from a thread, keeping each answer
    (its status) or failure to answer (the exception)."""

    def __init__(self, urls: list[str]):
        self.answers: dict[str, list[tuple[float, int | str]]] = {url: [] for url in urls}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            for url, answers in self.answers.items():
                try:
                    answer: int | str = requests.get(f"{url}/healthz", timeout=10).status_code
                except requests.RequestException as exc:
                    answer = repr(exc)
                answers.append((time.time(), answer))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_until(condition, what: str, seconds: float, topology: Topology, state=lambda: ""):
    """``condition()``'s first true value, polled; a loaded machine gets a generous deadline.
    ``state()``: what else the failure's message shows."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, (
            f"{what} within {seconds} s\n{state()}\n{topology.output()}"
        )
        time.sleep(0.1)
    return value


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def cron_batch_worker(conn: redis.Redis, planned_ms: int) -> int | None:
    """The pid of the worker running the batch of cron slots planned at ``planned_ms``."""
    for worker in Worker.all(connection=conn):
        job = worker.get_current_job()
        if job and any(
            kind == "c" and planned == planned_ms for kind, _, planned, *_ in job.args[0]
        ):
            return worker.pid
    return None


def workers_state(conn: redis.Redis) -> list:
    """What RQ knows of each worker: for a failure's message."""
    return [
        (w.name, w.pid, w.get_state(), w.get_current_job_id()) for w in Worker.all(connection=conn)
    ]


def next_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


@pytest.fixture
def topology(tmp_path, database_url):
    """Redis, then two web servers, two schedulers and three workers, each on its own "host"."""
    external = ExternalRedis(tmp_path)
    topology = Topology(tmp_path, database_url, external)
    try:
        for n in (1, 2):
            topology.start_web(f"web{n}")
        for n in (1, 2):
            topology.start(f"scheduler{n}", "scheduler")
        for n in (1, 2, 3):
            topology.start(f"worker{n}", "worker")
        yield topology
    finally:
        topology.stop()
        external.stop()


def test_losing_a_worker_the_leader_and_redis_loses_no_slot_and_no_cadence(app, topology):
    conn = topology.redis.conn()
    for url in topology.web_urls:
        wait_until(lambda url=url: answers(url), f"{url} answers", 90, topology)
    wait_until(lambda: leader_pid(conn), "a scheduler leads", 60, topology)
    wait_until(lambda: len(Worker.all(connection=conn)) == 3, "three workers wait", 60, topology)
    polls = HealthPolls(topology.web_urls)
    try:
        with TargetServer() as target:
            run(app, topology, conn, target)
    finally:
        polls.stop()
    # Both web servers answered every poll; with Redis gone for a moment /healthz says so
    # (503), and each was well again at the end.
    for url, seen in polls.answers.items():
        assert all(isinstance(answer, int) for _, answer in seen), (url, seen)
        assert seen[-1][1] == 200, (url, seen[-5:])


def run(app, topology: Topology, conn: redis.Redis, target: TargetServer) -> None:
    with app.app_context():
        _, secret = api_keys.create(
            {"name": "topology", "scopes": ["*"], "rate_limit_per_sec": 1000}
        )
    headers = {"Authorization": f"Bearer {secret}"}
    web1, web2 = topology.web_urls
    created = datetime.now(UTC)
    monitor_paths: dict[int, str] = {}
    for n in range(MONITORS):
        body = {"name": f"m{n}", "url": target.route(f"/m/{n}"), "interval_sec": INTERVAL_SEC}
        response = requests.post(f"{web1}/api/monitors", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        monitor_paths[response.json()["id"]] = f"/m/{n}"
    # The cron jobs' first slot is the one their worker dies in: all created well before it.
    if next_minute(datetime.now(UTC)) - datetime.now(UTC) < timedelta(seconds=10):
        sleep_until(next_minute(datetime.now(UTC)))
    first = next_minute(datetime.now(UTC))
    job_paths: dict[int, str] = {}
    for n in range(CRON_JOBS):
        slow = {"delay": CRON_DELAY_SEC}
        url = target.route_sequence(f"/c/{n}", slow, {}, slow, {})
        body = {"name": f"c{n}", "url": url, "cron_expr": "* * * * *"}
        response = requests.post(f"{web2}/api/cron-jobs", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        job_paths[response.json()["id"]] = f"/c/{n}"
    assert datetime.now(UTC) < first, "the cron jobs are created before their first slot"

    def sent(path: str, uid: str) -> int:
        return sum(
            r.target == path and r.headers.get("x-upcron-execution-id") == uid
            for r in list(target.requests)
        )

    def all_sent(planned: datetime) -> bool:
        ms = sched.to_ms(planned)
        return all(sent(p, checks.execution_uid(j, ms)) for j, p in job_paths.items())

    # 1. A worker dies in the middle of the first minute's cron batch, its requests sent.
    sleep_until(first)
    first_ms = sched.to_ms(first)
    wait_until(lambda: all_sent(first), "the first cron slots are sent", 30, topology)
    pid = wait_until(
        lambda: cron_batch_worker(conn, first_ms),
        "a worker runs the cron batch",
        10,
        topology,
        lambda: workers_state(conn),
    )
    killed_worker = topology.by_pid(pid)
    os.kill(pid, signal.SIGKILL)

    # 2. Then the leading scheduler dies, the lock still held.
    time.sleep(5)
    leader = topology.by_pid(wait_until(lambda: leader_pid(conn), "a leader", 30, topology))
    topology.processes[leader].process.kill()

    # 3. Once the killed worker's slots ran again, their lease over, Redis dies in the middle
    # of the next minute's cron batch, and comes back empty.
    def ran_again() -> bool:
        with app.app_context():
            count = sa.select(sa.func.count()).where(CronExecution.planned_at == first)
            return db.session.scalar(count) == CRON_JOBS

    wait_until(ran_again, "the killed worker's slots run again", LEASE_SEC + 45, topology)
    second = next_minute(datetime.now(UTC))
    sleep_until(second)
    wait_until(lambda: all_sent(second), "the second cron slots are sent", 30, topology)
    topology.redis.restart_empty()
    restarted = time.time()
    time.sleep(AFTER_REDIS_SEC)
    end = datetime.now(UTC)
    output = topology.output()

    # The killed processes are dead; the others all ran on.
    dead = {killed_worker, leader}
    for name, running in topology.processes.items():
        assert (running.process.poll() is not None) == (name in dead), (name, output)

    with app.app_context():
        executions = db.session.execute(
            sa.select(
                CronExecution.cron_job_id,
                CronExecution.planned_at,
                CronExecution.execution_uid,
                CronExecution.trigger,
            )
        ).all()
        checked = db.session.execute(
            sa.select(CheckResult.monitor_id, CheckResult.planned_at)
        ).all()

    # Every monitor kept its cadence at the target, from its creation to the end, and was
    # checked again once Redis was back (the run after it is shorter than the bound); and the
    # history has one row per slot.
    bound = 2 * INTERVAL_SEC + LEASE_SEC
    for monitor_id, path in monitor_paths.items():
        arrivals = sorted(r.received_at for r in list(target.requests) if r.target == path)
        moments = [created.timestamp(), *arrivals, end.timestamp()]
        gaps = [(b - a, datetime.fromtimestamp(a, UTC)) for a, b in zip(moments, moments[1:])]
        longest = max(gaps)
        assert longest[0] <= bound, (monitor_id, longest, output)
        assert sum(moment > restarted for moment in arrivals) >= 2, (monitor_id, output)
        planned = [p for m, p in checked if m == monitor_id]
        assert len(planned) == len(set(planned)), monitor_id

    # Every cron slot from the creation to the end ran, once in the history, with the id
    # derived from its slot; every request the target got carried the id of one of them, and
    # the slot of the killed worker was sent again under the same id, by the recovery of
    # slots whose lease ran out.
    slots = []
    moment = first
    while moment <= end - timedelta(seconds=CRON_DELAY_SEC + 10):
        slots.append(moment)
        moment += timedelta(minutes=1)
    assert first in slots and second in slots
    minutes = [*slots, *(slots[-1] + timedelta(minutes=n) for n in (1, 2))]
    recorded = defaultdict(list)
    for job_id, planned, uid, _ in executions:
        recorded[(job_id, planned)].append(uid)
    assert {trigger for _, planned, _, trigger in executions if planned == first} == {"recovered"}
    for job_id, path in job_paths.items():
        for slot in slots:
            uid = checks.execution_uid(job_id, sched.to_ms(slot))
            assert recorded[(job_id, slot)] == [uid], (job_id, slot, recorded, output)
        uids = {
            r.headers.get("x-upcron-execution-id")
            for r in list(target.requests)
            if r.target == path
        }
        assert uids <= {checks.execution_uid(job_id, sched.to_ms(m)) for m in minutes}, job_id
        assert sent(path, checks.execution_uid(job_id, first_ms)) >= 2, (job_id, output)
