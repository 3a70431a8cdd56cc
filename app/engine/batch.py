"""Running a batch's checks: load its subjects once, build each request, probe them
concurrently in a bounded thread pool and judge each answer. Recording the outcomes is the
services' work (``services/results.py``); scheduled batches and checks run on demand share
this, so both go through the one guarded probe (or tcp check) the same way.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from app import metrics
from app.engine import checks
from app.engine.checks import Outcome
from app.engine.scheduler import from_ms
from app.extensions import db
from app.models import CronJob, Monitor
from app.models.history import OK


def prepare(items: list) -> list[tuple]:
    """Load the batch's subjects once and turn each slot into (item, request, rules, uid,
    the kind of check its metrics count it under)."""
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
    work: list[tuple[tuple, checks.Request, checks.Rules, str | None, str]] = []
    for item in items:
        kind, sid, planned, _missed, trigger = item
        if kind == "m" and (monitor := monitors.get(sid)) and not monitor.paused:
            request = checks.monitor_request(monitor, policy, ca_bundle)
            work.append((item, request, checks.monitor_rules(monitor), None, monitor.kind))
        elif kind == "c" and (job := jobs.get(sid)) and (job.enabled or trigger == "manual"):
            uid = checks.execution_uid(sid, planned)
            request = checks.cron_request(job, uid, policy, ca_bundle)
            work.append((item, request, checks.cron_rules(job), uid, "cron_job"))
    return work


def probe_all(work: list[tuple]) -> list[Outcome]:
    """Probe and judge what ``prepare`` returned; the caller ends its read transaction
    first (on SQLite it holds the write lock)."""
    if not work:
        return []
    return list(_pool(current_app.config["PROBE_CONCURRENCY"]).map(_probe_one, work))


_POOL: tuple[tuple[int, int], ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    """The process's probe threads, kept from batch to batch.

    A worker runs ten batches a second at 1,000 checks/s; a pool per batch started and
    joined its threads each time. One pool per process also bounds the probes of a web
    worker's threads together. Keyed by pid: a forked child inherits the pool's bookkeeping
    but not its threads, and would wait on them forever; and by size, which an app's
    configuration sets; a pool of this process replaced for another size lets its threads
    end once their probes are done.
    """
    global _POOL
    key = (os.getpid(), size)
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != key:
            if _POOL is not None and _POOL[0][0] == key[0]:
                _POOL[1].shutdown(wait=False)
            _POOL = (key, ThreadPoolExecutor(max_workers=size, thread_name_prefix="probe"))
        return _POOL[1]


def _probe_one(entry: tuple) -> Outcome:
    (kind, sid, planned, missed, trigger), request, rules, uid, check_kind = entry
    started = datetime.now(UTC)
    result = checks.run(request)
    outcome, error = checks.judge(rules, result)
    metrics.checked(check_kind, outcome, result.total_us)
    warned = checks.warning(rules, result, started) if outcome == OK else None
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
        warning=warned[1] if warned else None,
        warning_kind=warned[0] if warned else None,
    )
