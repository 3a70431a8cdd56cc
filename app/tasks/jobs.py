"""RQ entry points. Thin: they take ids and planned times, never model objects.

They sit above the services they call; whoever enqueues them (the scheduler, the alerts)
names them by the dotted names in ``engine/queues.py``, so no import runs upward.

A batch job runs its probes concurrently in a bounded thread pool, then records everything in
one transaction. RQ's per-job cost is paid once per batch, not once per check. Heartbeat
deadlines ride in the same batches; they need no probe, only a look at the clock.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import redis

from app.engine import batch, scheduler, state
from app.engine.scheduler import KEY_PENDING, KEY_PENDING_JOB, KIND_DEADLINE, from_ms, slot_id
from app.extensions import db, redis_client
from app.models.notification import STATUS_PENDING
from app.services import history, maintenance, notifications, results

log = logging.getLogger(__name__)


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
            work = batch.prepare(items)
            # End the read transaction before probing: on SQLite it holds the write lock.
            # (A commit, not a rollback: rollback would expire the loaded rows.)
            db.session.commit()
            outcomes = batch.probe_all(work)
            events = results.record(outcomes, datetime.now(UTC), deadlines)
    finally:
        db.session.remove()
    for kind, subject_id, event in events:
        log.info("%s %s: %s", kind, subject_id, event)
        if event == state.EVENT_DISABLED:
            scheduler.refresh(kind, subject_id)  # takes the job off the schedule
    # A dispatched deadline left the due set; put back the heartbeat's next one, or for a
    # heartbeat under maintenance the window's end, when it is judged afresh.
    held = maintenance.covered().monitors if deadlines else {}
    for heartbeat_id, _ in deadlines:
        scheduler.refresh("heartbeat", heartbeat_id, not_before=held.get(heartbeat_id))
    return {"checked": len(outcomes), "deadlines": len(deadlines), "events": len(events)}


def send_notification(log_id: int) -> str:
    """Deliver one alert to one channel (``notify`` queue); raising makes RQ retry it after
    the next backoff delay."""
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
    try:
        return {
            "reminders": notifications.remind(datetime.now(UTC)),
            "requeued": notifications.requeue_lost(datetime.now(UTC)),
        }
    finally:
        db.session.remove()


def prune_history() -> dict:
    """Hourly maintenance: drop raw history older than the retention setting."""
    try:
        return history.prune(datetime.now(UTC))
    finally:
        db.session.remove()
