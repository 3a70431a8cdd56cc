"""The whole pipeline for real: services → scheduler → Redis → RQ worker → probe → SQL.

Targets are real HTTP servers on 127.0.0.1; workers are real RQ workers (in this process,
or a separate `upcron worker` where a crash is part of the test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app.engine import queues
from app.engine import scheduler as sched
from app.engine.scheduler import Scheduler, from_ms
from app.extensions import db, redis_client
from app.models import CheckResult, CronExecution, CronJob, DailyRollup, Incident, Monitor
from app.processes import die_with_parent
from app.services import cron_jobs, monitors
from app.tasks import jobs
from tests.pipeline import run_due, work
from tests.processes import PROJECT
from tests.targets import TargetServer


@pytest.fixture
def target():
    with TargetServer() as server:
        yield server


def fresh(model, row_id):
    db.session.remove()
    return db.session.get(model, row_id)


def rows(model, **where):
    db.session.remove()
    query = sa.select(model).filter_by(**where).order_by(model.id)
    return list(db.session.execute(query).scalars())


def test_monitor_goes_down_opens_an_incident_and_recovers(scheduler, target):
    url = target.route("/health", body="fine")
    monitor = monitors.create(
        {"name": "API", "url": url, "interval_sec": 10, "failure_threshold": 2}
    )
    start = datetime.now(UTC)
    run_due(scheduler, start)
    assert fresh(Monitor, monitor.id).state == "up"
    [result] = rows(CheckResult, monitor_id=monitor.id)
    assert result.outcome == "ok" and result.status_code == 200
    assert 0 < result.connect_us <= result.first_byte_us <= result.total_us

    target.route("/health", status=503, body="busy")
    run_due(scheduler, start + timedelta(seconds=10))
    assert fresh(Monitor, monitor.id).state == "up"  # one failure is under the threshold
    run_due(scheduler, start + timedelta(seconds=20))
    down = fresh(Monitor, monitor.id)
    assert down.state == "down"
    assert down.last_error == "HTTP 503, expected 200-399"
    [incident] = rows(Incident, monitor_id=monitor.id)
    assert incident.status == "open" and incident.title == "API is down"
    assert incident.cause == "HTTP 503, expected 200-399"

    target.route("/health", body="fine")
    run_due(scheduler, start + timedelta(seconds=30))
    assert fresh(Monitor, monitor.id).state == "up"
    [incident] = rows(Incident, monitor_id=monitor.id)
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert [u.kind for u in incident.updates] == ["started", "resolved"]
    [rollup] = rows(DailyRollup, subject_type="monitor", subject_id=monitor.id)
    assert (rollup.checks, rollup.failures) == (4, 2)
    assert rollup.downtime_sec == 10  # down between the third and the fourth check


def test_keyword_monitor_fails_when_the_keyword_is_missing(scheduler, target):
    url = target.route("/", body="<h1>Maintenance</h1>")
    monitor = monitors.create(
        {"name": "Shop", "url": url, "kind": "keyword", "keyword": "Add to cart"}
    )
    run_due(scheduler)
    [result] = rows(CheckResult, monitor_id=monitor.id)
    assert result.outcome == "failed_keyword"
    assert result.error == "The response does not contain 'Add to cart'"


def test_cron_job_execution_is_logged_with_its_execution_id(scheduler, target):
    url = target.route("/backup", body="done", headers={"X-Result": "42"})
    job = cron_jobs.create(
        {
            "name": "Backup",
            "url": url,
            "method": "POST",
            "body": "go",
            "cron_expr": "*/5 * * * *",
            "save_responses": True,
        }
    )
    planned = from_ms(redis_client.conn.zscore(sched.KEY_DUE, f"c:{job.id}"))
    run_due(scheduler, planned)
    [execution] = rows(CronExecution, cron_job_id=job.id)
    [request] = target.requests
    assert request.method == "POST" and request.body == b"go"
    assert request.headers["x-upcron-execution-id"] == execution.execution_uid
    assert execution.outcome == "ok" and execution.trigger == "schedule"
    assert execution.planned_at == planned
    assert execution.response_body == "done"
    assert execution.response_headers["x-result"] == "42"
    assert execution.jitter_ms >= 0 and execution.duration_ms >= 0
    assert fresh(CronJob, job.id).last_outcome == "ok"


def test_cron_job_is_disabled_after_consecutive_failures(scheduler, target):
    url = target.route("/flaky", status=500)
    job = cron_jobs.create(
        {"name": "Flaky", "url": url, "cron_expr": "* * * * *", "auto_disable_after": 2}
    )
    member = f"c:{job.id}"
    for _ in range(2):
        run_due(scheduler, from_ms(redis_client.conn.zscore(sched.KEY_DUE, member)))
    disabled = fresh(CronJob, job.id)
    assert disabled.enabled is False
    assert disabled.disabled_reason == "Disabled automatically after 2 consecutive failures."
    assert redis_client.conn.zscore(sched.KEY_DUE, member) is None
    [incident] = rows(Incident, cron_job_id=job.id)
    assert incident.status == "open"
    assert incident.updates[-1].message == disabled.disabled_reason


def test_redirect_success_counts_3xx_as_success(scheduler, target):
    url = target.route("/moved", redirect="/elsewhere")
    job = cron_jobs.create(
        {"name": "Moved", "url": url, "cron_expr": "* * * * *", "redirect_success": True}
    )
    cron_jobs.run_now(job.id)
    work()
    [execution] = rows(CronExecution, cron_job_id=job.id)
    assert (execution.outcome, execution.status_code, execution.trigger) == ("ok", 302, "manual")
    assert len(target.requests) == 1  # cron jobs do not follow redirects


def test_a_batch_processed_twice_is_recorded_once(scheduler, target):
    url = target.route("/", body="ok")
    monitor = monitors.create({"name": "Twice", "url": url})
    planned = int(redis_client.conn.zscore(sched.KEY_DUE, f"m:{monitor.id}"))
    items = [["m", monitor.id, planned, 0, "schedule"]]
    jobs.run_batch(items)
    jobs.run_batch(items)
    assert len(rows(CheckResult, monitor_id=monitor.id)) == 1
    assert fresh(Monitor, monitor.id).consecutive_successes == 1
    [rollup] = rows(DailyRollup, subject_id=monitor.id)
    assert rollup.checks == 1


def test_a_redirect_to_a_refused_address_is_blocked(scheduler, target):
    url = target.route("/r", redirect="http://169.254.169.254/latest/meta-data/")
    monitor = monitors.create({"name": "Redirector", "url": url})
    run_due(scheduler)
    [result] = rows(CheckResult, monitor_id=monitor.id)
    assert result.outcome == "failed_blocked_target"
    assert "169.254.169.254" in result.error


def test_prune_job_runs_on_the_maintenance_queue(scheduler):
    scheduler._enqueue_prune(datetime.now(UTC))
    assert queues.queue(queues.MAINTENANCE).count == 1
    work()
    assert queues.queue(queues.MAINTENANCE).count == 0
    assert not queues.queue(queues.MAINTENANCE).failed_job_registry.get_job_ids()


def _worker_process(database_url: str, redis_url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPCRON_")}
    env.update(
        UPCRON_DATABASE_URL=database_url,
        UPCRON_REDIS_URL=redis_url,
        UPCRON_SECRET_KEY="worker-test-secret-key",
        UPCRON_INSTANCE_DIR="/tmp",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


def test_a_worker_killed_mid_batch_loses_nothing(app, database_url, redis_url, target):
    slow = target.route("/slow", body="ok", delay=2.0)
    with app.app_context():
        scheduler = Scheduler(conn=redis_client.conn, lease_ms=1500)
        scheduler.rebuild()
        monitor = monitors.create({"name": "Slow", "url": slow, "timeout_ms": 10_000})
        job = cron_jobs.create({"name": "Slow job", "url": slow, "cron_expr": "* * * * *"})
        # Both slots in one batch: the cron job's next minute is when both are due.
        scheduler.tick(from_ms(redis_client.conn.zscore(sched.KEY_DUE, f"c:{job.id}")))
        worker = _worker_process(database_url, redis_url)
        try:
            deadline = time.monotonic() + 20
            while len(target.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(target.requests) == 2, "the worker never started the batch"
            # RQ's scheduler runs, on a thread of the worker: no process of its own that could
            # outlive it.
            assert redis_client.conn.exists("rq:scheduler-lock:notify")
            children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        assert children == []
        assert rows(CheckResult, monitor_id=monitor.id) == []
        # Nobody renews the lease any more: once it has run out (1.5 s on, passed in rather
        # than waited for), the leader dispatches the slots again.
        lease_over = datetime.now(UTC) + timedelta(milliseconds=scheduler.lease_ms + 1)
        assert scheduler.recover_stale(lease_over) == 2
        work()
        [result] = rows(CheckResult, monitor_id=monitor.id)
        [execution] = rows(CronExecution, cron_job_id=job.id)
        assert result.outcome == execution.outcome == "ok"
        # At-least-once: the cron target saw the request twice, with one execution id.
        ids = {
            r.headers["x-upcron-execution-id"]
            for r in target.requests
            if r.method == "GET" and "x-upcron-execution-id" in r.headers
        }
        assert ids == {execution.execution_uid}
        assert redis_client.conn.zcard(sched.KEY_PENDING) == 0


def test_scheduling_resumes_after_redis_is_killed_and_restarted(make_app, target, tmp_path):
    from app.processes import embedded_redis_argv

    socket_path = str(tmp_path / "r.sock")

    def start_redis():
        process = subprocess.Popen(
            embedded_redis_argv(socket_path, str(tmp_path)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        conn = redis.Redis(unix_socket_path=socket_path)
        for _ in range(200):
            try:
                conn.ping()
                return process
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("redis did not start")

    server = start_redis()
    app = make_app(REDIS_URL=f"unix://{socket_path}")
    try:
        with app.app_context():
            url = target.route("/", body="ok")
            monitor = monitors.create({"name": "Survivor", "url": url, "interval_sec": 10})
            scheduler = Scheduler(conn=redis_client.conn)
            assert scheduler.hold_lock()
            run_due(scheduler)
            server.kill()
            server.wait()
            with pytest.raises(redis.RedisError):
                scheduler.tick()
            server = start_redis()  # empty: no due set, no lock
            restarted = time.monotonic()
            while not (scheduler.hold_lock() and scheduler.tick() is not None):
                assert time.monotonic() - restarted < 60
                time.sleep(0.1)
            assert redis_client.conn.zscore(sched.KEY_DUE, f"m:{monitor.id}") is not None
            run_due(scheduler, datetime.now(UTC) + timedelta(seconds=10))
            results = rows(CheckResult, monitor_id=monitor.id)
            # The first check, then its slot after the restart: one more when a slot passed
            # while Redis was down (caught up once by the restart's rebuild).
            assert [r.outcome for r in results] in (["ok", "ok"], ["ok", "ok", "ok"])
            assert fresh(Monitor, monitor.id).state == "up"
    finally:
        server.kill()
        server.wait()


def test_a_catch_up_run_after_long_downtime_is_recorded(scheduler, target):
    url = target.route("/", body="ok")
    job = cron_jobs.create({"name": "Monthly", "url": url, "cron_expr": "0 0 1 * *"})
    planned = int((datetime.now(UTC) - timedelta(days=40)).timestamp() * 1000)
    jobs.run_batch([["c", job.id, planned, 1, "schedule"]])
    [execution] = rows(CronExecution, cron_job_id=job.id)
    assert execution.outcome == "ok"
    assert execution.jitter_ms == 2**31 - 1
    assert execution.missed_slots == 1
