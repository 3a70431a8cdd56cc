"""RQ entry points. Thin: they take ids and planned times, never model objects.

A batch job runs its probes concurrently in a bounded thread pool, then records everything in
one transaction. RQ's per-job cost is paid once per batch, not once per check. Heartbeat
deadlines ride in the same batches; they need no probe, only a look at the clock.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import redis
import sqlalchemy as sa
from flask import current_app

from app.engine import checks, results, scheduler, state
from app.engine.checks import Outcome
from app.engine.scheduler import KEY_PENDING, KEY_PENDING_JOB, KIND_DEADLINE, from_ms, slot_id
from app.extensions import db, redis_client
from app.models import CronJob, Monitor
from app.models.notification import STATUS_PENDING

log = logging.getLogger(__name__)

LONGEST_PROBE_SEC = 300  # the longest cron job timeout


def batch_timeout() -> int:
    """RQ's hard limit for one batch: the longest probe plus time to record."""
    return LONGEST_PROBE_SEC + 60


class _Lease:
    """Keeps a batch's slots claimed while it runs by renewing their lease in Redis.

    If the worker dies the renewals stop, the lease runs out, and the scheduler dispatches
    the slots again. Slots are released only after their results are committed.
    """

    def __init__(self, conn: redis.Redis, slots: list[str], lease_ms: int):
        self.conn, self.slots, self.lease_ms = conn, slots, lease_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, daemon=True)

    def _renew(self) -> None:
        expiry = int(time.time() * 1000) + self.lease_ms
        self.conn.zadd(KEY_PENDING, {slot: expiry for slot in self.slots}, xx=True)

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self.lease_ms / 3000):
            try:
                self._renew()
            except redis.RedisError as exc:
                log.warning("could not renew the lease of a batch: %s", exc)

    def __enter__(self):
        self._renew()
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stop.set()
        self._thread.join()
        if exc_type is None:
            with self.conn.pipeline() as pipe:
                pipe.zrem(KEY_PENDING, *self.slots)
                pipe.hdel(KEY_PENDING_JOB, *self.slots)
                pipe.execute()
        return False


def run_batch(items: list, lease_ms: int = 45_000) -> dict:
    """Check and execute one batch of due slots: ``[kind, id, planned ms, missed, trigger]``,
    and evaluate the heartbeat deadlines among them."""
    slots = [slot_id(f"{kind}:{sid}", planned) for kind, sid, planned, *_ in items]
    deadlines = [(sid, from_ms(ms)) for kind, sid, ms, *_ in items if kind == KIND_DEADLINE]
    try:
        with _Lease(redis_client.conn, slots, lease_ms):
            work = _prepare(items)
            # End the read transaction before probing: on SQLite it holds the write lock.
            # (A commit, not a rollback: rollback would expire the loaded rows.)
            db.session.commit()
            outcomes = _probe_all(work)
            events = results.record(outcomes, datetime.now(UTC), deadlines)
    finally:
        db.session.remove()
    for kind, subject_id, event in events:
        log.info("%s %s: %s", kind, subject_id, event)
        if event == state.EVENT_DISABLED:
            scheduler.refresh(kind, subject_id)  # takes the job off the schedule
    # A dispatched deadline left the due set; put back the heartbeat's next one.
    for heartbeat_id, _ in deadlines:
        scheduler.refresh("heartbeat", heartbeat_id)
    return {"checked": len(outcomes), "deadlines": len(deadlines), "events": len(events)}


def check_now(monitor_ids: list[int]) -> list[Outcome]:
    """Check these uptime monitors at once, in this process, and record the results as a
    batch would; for a caller that answers with the results rather than waiting for the
    schedule. The checks are extra: the scheduled ones keep their times. Paused monitors and
    ids that no longer exist are skipped."""
    planned = scheduler.to_ms(datetime.now(UTC))
    work = _prepare([[scheduler.KIND_MONITOR, sid, planned, 0, "manual"] for sid in monitor_ids])
    # End the read transaction before probing: on SQLite it holds the write lock.
    db.session.commit()
    outcomes = _probe_all(work)
    for kind, subject_id, event in results.record(outcomes, datetime.now(UTC)):
        log.info("%s %s: %s", kind, subject_id, event)
    return outcomes


def _prepare(items: list) -> list[tuple]:
    """Load the batch's subjects once and turn each slot into (item, request, rules, uid)."""
    config = current_app.config
    policy, ca_bundle = config["TARGET_POLICY"], config["CA_BUNDLE"]
    monitor_ids = [sid for kind, sid, *_ in items if kind == "m"]
    job_ids = [sid for kind, sid, *_ in items if kind == "c"]
    monitors = (
        {
            m.id: m
            for m in db.session.execute(
                sa.select(Monitor).where(Monitor.id.in_(monitor_ids))
            ).scalars()
        }
        if monitor_ids
        else {}
    )
    jobs = (
        {
            j.id: j
            for j in db.session.execute(sa.select(CronJob).where(CronJob.id.in_(job_ids))).scalars()
        }
        if job_ids
        else {}
    )
    work = []
    for item in items:
        kind, sid, planned, _missed, trigger = item
        if kind == "m" and (monitor := monitors.get(sid)) and not monitor.paused:
            request = checks.monitor_request(monitor, policy, ca_bundle)
            work.append((item, request, checks.monitor_rules(monitor), None))
        elif kind == "c" and (job := jobs.get(sid)) and (job.enabled or trigger == "manual"):
            uid = checks.execution_uid(sid, planned)
            request = checks.cron_request(job, uid, policy, ca_bundle)
            work.append((item, request, checks.cron_rules(job), uid))
    return work


def _probe_all(work: list[tuple]) -> list[Outcome]:
    if not work:
        return []
    size = min(current_app.config["PROBE_CONCURRENCY"], len(work))
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="probe") as pool:
        return list(pool.map(_probe_one, work))


def _probe_one(entry: tuple) -> Outcome:
    (kind, sid, planned, missed, trigger), request, rules, uid = entry
    started = datetime.now(UTC)
    result = checks.run(request)
    outcome, error = checks.judge(rules, result)
    return Outcome(
        kind=kind,
        subject_id=sid,
        planned_at=from_ms(planned),
        started_at=started,
        trigger=trigger,
        missed=missed,
        outcome=outcome,
        error=error,
        result=result,
        execution_uid=uid,
    )


def send_notification(log_id: int) -> str:
    """Deliver one alert to one channel (``notify`` queue); raising makes RQ retry it after
    the next backoff delay."""
    from app.services import notifications

    try:
        status = notifications.deliver(log_id)
    finally:
        db.session.remove()
    if status == STATUS_PENDING:
        raise notifications.DeliveryFailed(f"notification {log_id} failed; it will be retried")
    return status or "nothing to do"


def send_due_notifications() -> dict:
    """Every minute (``maintenance`` queue): reminders for monitors still down, and new jobs
    for alerts whose job was lost."""
    from app.services import notifications

    try:
        return {
            "reminders": notifications.remind(datetime.now(UTC)),
            "requeued": notifications.requeue_lost(datetime.now(UTC)),
        }
    finally:
        db.session.remove()


def prune_history() -> dict:
    """Hourly maintenance: drop raw history older than the retention setting."""
    from app.services import history

    try:
        return history.prune(datetime.now(UTC))
    finally:
        db.session.remove()
