"""Recording a batch: results, state changes, incidents and rollups in one transaction.

Each result is inserted with "ON CONFLICT DO NOTHING" on (subject, planned time): a batch
that is retried after a worker died records every slot exactly once, and a slot already
recorded changes no state twice. Heartbeat deadlines in the batch are evaluated against the
heartbeat as it is now, so evaluating one twice changes nothing twice either.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.engine import state
from app.engine.checks import Outcome
from app.extensions import db
from app.models import CheckResult, CronExecution, CronJob, DailyRollup, Incident, Monitor
from app.models.history import OK, SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.models.incident import STATUS_OPEN, STATUS_RESOLVED, IncidentUpdate
from app.models.monitor import KIND_HEARTBEAT, STATE_DOWN

log = logging.getLogger(__name__)


def _insert(table):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _insert_once(model, values: dict, conflict: list[str]) -> bool:
    """Insert a row unless one with the same ``conflict`` columns exists; True if inserted."""
    table = model.__table__
    statement = (
        _insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(table.c.id)
    )
    return db.session.execute(statement).scalar() is not None


def record(
    outcomes: list[Outcome], now: datetime, deadlines: list[tuple[int, datetime]] = ()
) -> list[tuple[str, int, str]]:
    """Write a batch and commit once; returns the events as (kind, subject id, event).

    ``deadlines``: (heartbeat id, deadline) pairs the scheduler found due.
    """
    monitor_ids = [o.subject_id for o in outcomes if o.kind == "m"]
    monitor_ids += [heartbeat_id for heartbeat_id, _ in deadlines]
    job_ids = [o.subject_id for o in outcomes if o.kind == "c"]
    # Lock the subjects' rows (PostgreSQL): a ping or an edit must not interleave with the
    # counter updates below. SQLite's BEGIN IMMEDIATE already serialises writers. The rows
    # are read afresh (populate_existing): the session still holds them as they were before
    # the probes, and a ping or an edit may have changed them since.
    fresh = {"populate_existing": True}
    monitors = (
        {
            m.id: m
            for m in db.session.execute(
                sa.select(Monitor).where(Monitor.id.in_(monitor_ids)).with_for_update(of=Monitor),
                execution_options=fresh,
            ).scalars()
        }
        if monitor_ids
        else {}
    )
    jobs = (
        {
            j.id: j
            for j in db.session.execute(
                sa.select(CronJob).where(CronJob.id.in_(job_ids)).with_for_update(of=CronJob),
                execution_options=fresh,
            ).scalars()
        }
        if job_ids
        else {}
    )
    events = []
    for outcome in outcomes:
        if outcome.kind == "m" and outcome.subject_id in monitors:
            events += _record_check(monitors[outcome.subject_id], outcome, now)
        elif outcome.kind == "c" and outcome.subject_id in jobs:
            events += _record_execution(jobs[outcome.subject_id], outcome, now)
    for heartbeat_id, deadline in deadlines:
        monitor = monitors.get(heartbeat_id)
        if monitor is not None and monitor.kind == KIND_HEARTBEAT:
            # The scheduler saw the deadline pass; a worker whose clock is behind must still
            # judge at or after it, or the same deadline would be set again and never fire.
            events += _record_deadline(monitor, max(now, deadline))
    db.session.commit()
    return events


def _record_deadline(monitor: Monitor, now: datetime) -> list:
    events = state.apply_deadline(monitor, now)
    monitor_incidents(monitor, events, now)
    return [("monitor", monitor.id, e) for e in events]


def monitor_incidents(monitor: Monitor, events: list[str], now: datetime) -> None:
    """Open an incident when a monitor goes down (its last error is the cause) and resolve it
    when it is up again; uptime checks, heartbeat deadlines and pings share this."""
    for event in events:
        if event == state.EVENT_DOWN:
            _open_incident(
                monitor_id=monitor.id,
                title=f"{monitor.name} is down",
                cause=monitor.last_error,
                now=now,
            )
        elif event == state.EVENT_UP:
            _resolve_incidents(
                Incident.monitor_id == monitor.id, f"{monitor.name} is up again.", now
            )


def _timings(outcome: Outcome) -> dict:
    r = outcome.result
    return {
        "dns_us": r.dns_us,
        "connect_us": r.connect_us,
        "tls_us": r.tls_us,
        "first_byte_us": r.first_byte_us,
        "total_us": r.total_us,
    }


def _latency_ms(outcome: Outcome) -> int | None:
    """Response time of a successful check; failures do not skew the averages."""
    return round(outcome.result.total_us / 1000) if outcome.outcome == OK else None


def _record_check(monitor: Monitor, outcome: Outcome, now: datetime) -> list:
    inserted = _insert_once(
        CheckResult,
        {
            "monitor_id": monitor.id,
            "planned_at": outcome.planned_at,
            "started_at": outcome.started_at,
            "outcome": outcome.outcome,
            "status_code": outcome.result.status_code,
            "error": outcome.error,
            **_timings(outcome),
        },
        ["monitor_id", "planned_at"],
    )
    if not inserted:
        return []
    success = outcome.outcome == OK
    events = state.apply_check(monitor, success, outcome.error, outcome.started_at)
    monitor.last_response_ms = _latency_ms(outcome)
    monitor_incidents(monitor, events, now)
    # Each check that leaves the monitor down stands for one interval of downtime.
    downtime = monitor.interval_sec if monitor.state == STATE_DOWN else 0
    _add_to_rollup(SUBJECT_MONITOR, monitor.id, outcome, downtime)
    return [("monitor", monitor.id, e) for e in events]


def _record_execution(job: CronJob, outcome: Outcome, now: datetime) -> list:
    result = outcome.result
    saved = job.save_responses
    inserted = _insert_once(
        CronExecution,
        {
            "cron_job_id": job.id,
            "execution_uid": outcome.execution_uid,
            "trigger": outcome.trigger,
            "planned_at": outcome.planned_at,
            "started_at": outcome.started_at,
            "jitter_ms": max(
                0, round((outcome.started_at - outcome.planned_at).total_seconds() * 1000)
            ),
            "duration_ms": round(result.total_us / 1000),
            "missed_slots": outcome.missed,
            "outcome": outcome.outcome,
            "status_code": result.status_code,
            "error": outcome.error,
            "response_headers": dict(result.headers) if saved and result.headers else None,
            "response_body": result.body.decode("utf-8", errors="replace") if saved else None,
            **_timings(outcome),
        },
        ["cron_job_id", "planned_at"],
    )
    if not inserted:
        return []
    success = outcome.outcome == OK
    job.last_run_at = outcome.started_at
    job.last_outcome = outcome.outcome
    job.last_duration_ms = round(result.total_us / 1000)
    events = state.apply_execution(job, success, now)
    for event in events:
        if event == state.EVENT_FAILED:
            _open_incident(
                cron_job_id=job.id,
                title=f"Cron job {job.name} is failing",
                cause=outcome.error,
                now=now,
            )
        elif event == state.EVENT_RECOVERED:
            _resolve_incidents(
                Incident.cron_job_id == job.id, f"Cron job {job.name} succeeded again.", now
            )
        elif event == state.EVENT_DISABLED:
            for incident in _open_incidents(Incident.cron_job_id == job.id):
                incident.updates.append(
                    IncidentUpdate(kind="comment", message=job.disabled_reason, created_at=now)
                )
    _add_to_rollup(SUBJECT_CRON_JOB, job.id, outcome, 0)
    return [("cron_job", job.id, e) for e in events]


def _open_incidents(condition) -> list[Incident]:
    return list(
        db.session.execute(
            sa.select(Incident).where(condition, Incident.status == STATUS_OPEN)
        ).scalars()
    )


def _open_incident(*, title: str, cause: str | None, now: datetime, **subject) -> None:
    incident = Incident(title=title, cause=cause, status=STATUS_OPEN, started_at=now, **subject)
    incident.updates.append(IncidentUpdate(kind="started", message=cause or title, created_at=now))
    db.session.add(incident)


def _resolve_incidents(condition, message: str, now: datetime) -> None:
    for incident in _open_incidents(condition):
        incident.status = STATUS_RESOLVED
        incident.resolved_at = now
        incident.updates.append(IncidentUpdate(kind="resolved", message=message, created_at=now))


def _add_to_rollup(subject_type: str, subject_id: int, outcome: Outcome, downtime: int) -> None:
    """Add one result to its subject's UTC-day rollup (an upsert, so no read is needed)."""
    table = DailyRollup.__table__
    latency = _latency_ms(outcome)
    statement = _insert(table).values(
        subject_type=subject_type,
        subject_id=subject_id,
        day=outcome.started_at.date(),
        checks=1,
        failures=0 if outcome.outcome == OK else 1,
        latency_sum_ms=latency or 0,
        latency_min_ms=latency,
        latency_max_ms=latency,
        downtime_sec=downtime,
    )
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["subject_type", "subject_id", "day"],
        set_={
            "checks": table.c.checks + new.checks,
            "failures": table.c.failures + new.failures,
            "latency_sum_ms": table.c.latency_sum_ms + new.latency_sum_ms,
            "latency_min_ms": sa.case(
                (table.c.latency_min_ms.is_(None), new.latency_min_ms),
                (new.latency_min_ms < table.c.latency_min_ms, new.latency_min_ms),
                else_=table.c.latency_min_ms,
            ),
            "latency_max_ms": sa.case(
                (table.c.latency_max_ms.is_(None), new.latency_max_ms),
                (new.latency_max_ms > table.c.latency_max_ms, new.latency_max_ms),
                else_=table.c.latency_max_ms,
            ),
            "downtime_sec": table.c.downtime_sec + new.downtime_sec,
        },
    )
    db.session.execute(statement)
