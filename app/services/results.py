"""Recording a batch: results, state changes, incidents, rollups and the alerts they cause, in
one transaction; the alerts' jobs are enqueued after its commit. The RQ batch job
(``tasks/jobs.py``) and checks run on demand (``monitors.run_checks``) record here; pings
share its incidents and rollups.

Each result is inserted with "ON CONFLICT DO NOTHING" on (subject, planned time): a batch
that is retried after a worker died records every slot exactly once, and a slot already
recorded changes no state twice. Heartbeat deadlines in the batch are evaluated against the
heartbeat as it is now, so evaluating one twice changes nothing twice either.

Items under a maintenance window (asked once per batch) are checked and recorded as usual,
their results marked ``maintenance`` and counted in the rollups' ``maintenance_checks``
instead of checks and failures; but no state moves, so no incident opens and nothing is
sent, and a heartbeat's deadline is passed over (the worker sets it again for the window's
end, when the heartbeat is judged afresh). An uptime monitor's next check moves to the
window's end likewise, when it comes earlier than the monitor's next interval.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from app.engine import scheduler, state
from app.engine.checks import Outcome
from app.extensions import db, dialect_insert
from app.models import CheckResult, CronExecution, CronJob, DailyRollup, Monitor
from app.models.history import OK, SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.models.monitor import KIND_HEARTBEAT, STATE_DOWN
from app.services import certificate_alerts, incidents, maintenance, notifications, reasons

log = logging.getLogger(__name__)


def _insert_new(model, rows: list[dict], subject: str) -> set[tuple[int, datetime]]:
    """Insert many result rows in one statement, skipping (subject, planned time) pairs that
    are already recorded; returns the pairs that were new."""
    if not rows:
        return set()
    table = model.__table__
    statement = (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=[subject, "planned_at"])
        .returning(table.c[subject], table.c.planned_at)
    )
    return {(row[0], row[1]) for row in db.session.execute(statement, rows)}


def record(
    outcomes: list[Outcome], now: datetime, deadlines: Sequence[tuple[int, datetime]] = ()
) -> list[tuple[str, int, str]]:
    """Write a batch and commit once, then enqueue its alerts; returns the events as
    (kind, subject id, event).

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
    checks = [o for o in outcomes if o.kind == "m" and o.subject_id in monitors]
    executions = [o for o in outcomes if o.kind == "c" and o.subject_id in jobs]
    events, rollups = [], _Rollups()
    # Once per batch, in the same transaction: the items under maintenance now.
    under = maintenance.covered(now) if monitors or jobs else maintenance.Covered()
    with db.session.no_autoflush:
        new_checks = _insert_new(
            CheckResult,
            [_check_row(o, o.subject_id in under.monitors) for o in checks],
            "monitor_id",
        )
        new_executions = _insert_new(
            CronExecution,
            [
                _execution_row(jobs[o.subject_id], o, o.subject_id in under.cron_jobs)
                for o in executions
            ],
            "cron_job_id",
        )
        for outcome in checks:
            if (outcome.subject_id, outcome.planned_at) in new_checks:
                monitor, held = monitors[outcome.subject_id], outcome.subject_id in under.monitors
                events += _apply_check(monitor, outcome, rollups, now, held)
        for outcome in executions:
            if (outcome.subject_id, outcome.planned_at) in new_executions:
                job, held = jobs[outcome.subject_id], outcome.subject_id in under.cron_jobs
                events += _apply_execution(job, outcome, rollups, now, held)
        for heartbeat_id, deadline in deadlines:
            if heartbeat_id in under.monitors:
                continue  # judged when the window ends (see tasks.jobs.run_batch)
            heartbeat = monitors.get(heartbeat_id)
            if heartbeat is not None and heartbeat.kind == KIND_HEARTBEAT:
                # The scheduler saw the deadline pass; a worker whose clock is behind must
                # still judge at or after it, or the same deadline would be set again and
                # never fire.
                events += _record_deadline(heartbeat, max(now, deadline), rollups)
    rollups.write()
    # Saved with the transitions they announce: a worker that dies after this commit
    # leaves them in SQL for the upkeep to send, instead of losing them.
    deliveries = notifications.stage(events, now)
    db.session.commit()
    notifications.enqueue(deliveries)
    # A check the window held back runs again as the window ends, and is judged then.
    scheduler.check_by(
        {
            o.subject_id: under.monitors[o.subject_id]
            for o in checks
            if o.subject_id in under.monitors
        }
    )
    return events


def _record_deadline(monitor: Monitor, now: datetime, rollups: _Rollups) -> list:
    events = state.apply_deadline(monitor, now)
    monitor_incidents(monitor, events, now)
    if state.EVENT_DOWN in events:
        # A missed deadline is the heartbeat's failed check; its pings are the others.
        rollups.add_signal(SUBJECT_MONITOR, monitor.id, now, ok=False)
    return [("monitor", monitor.id, e) for e in events]


def monitor_incidents(monitor: Monitor, events: list[str], now: datetime) -> None:
    """Open an incident when a monitor goes down (its last error is the cause) and resolve it
    when it is up again; uptime checks, heartbeat deadlines and pings share this. Degraded
    opens none: the service answers, and an incident says it does not (an "up" from degraded
    finds no open incident to resolve)."""
    for event in events:
        if event == state.EVENT_DOWN:
            incidents.open_incident(
                monitor_id=monitor.id,
                title=f"{monitor.name} is down",
                cause=monitor.last_error,
                now=now,
            )
        elif event == state.EVENT_UP:
            incidents.resolve_open(
                monitor_id=monitor.id, message=f"{monitor.name} is up again.", now=now
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


def _echoes(outcome: Outcome) -> dict:
    """A ping check's echo requests and round trips; None for the other kinds."""
    r = outcome.result
    return {
        "packets_sent": r.packets_sent,
        "packets_received": r.packets_received,
        "rtt_min_us": r.rtt_min_us,
        "rtt_avg_us": r.rtt_avg_us,
        "rtt_max_us": r.rtt_max_us,
    }


def _check_row(outcome: Outcome, held: bool) -> dict:
    return {
        "monitor_id": outcome.subject_id,
        "maintenance": held,
        "planned_at": outcome.planned_at,
        "started_at": outcome.started_at,
        "outcome": outcome.outcome,
        "status_code": outcome.result.status_code,
        "error": outcome.error,
        "warning": outcome.warning,
        **_timings(outcome),
        **_echoes(outcome),
    }


def _apply_check(
    monitor: Monitor, outcome: Outcome, rollups: _Rollups, now: datetime, held: bool
) -> list:
    success = outcome.outcome == OK
    events = state.apply_check(
        monitor,
        success,
        outcome.error,
        outcome.started_at,
        warning=outcome.warning,
        warning_kind=outcome.warning_kind,
        maintenance=held,
    )
    monitor.last_response_ms = _latency_ms(outcome)
    monitor_incidents(monitor, events, now)
    events += _certificate_events(monitor, outcome, now, held)
    # Each check that leaves the monitor down stands for one interval of downtime.
    downtime = monitor.interval_sec if monitor.state == STATE_DOWN else 0
    rollups.add(SUBJECT_MONITOR, monitor.id, outcome, downtime, held)
    return [("monitor", monitor.id, e) for e in events]


def _certificate_events(
    subject: Monitor | CronJob, outcome: Outcome, now: datetime, held: bool
) -> list:
    """Keep the check's certificate on its subject; an expiry alert when it crossed a
    threshold not announced before for this certificate. Under maintenance nothing is
    claimed, so the first check after the window announces what was crossed."""
    certificate = outcome.result.certificate
    certificate_alerts.remember(subject, certificate, outcome.outcome == OK)
    if held or not certificate_alerts.claim(subject, certificate, now):
        return []
    return [certificate_alerts.EVENT]


def _jitter_ms(outcome: Outcome) -> int:
    """How late the execution started. A catch-up run after weeks of downtime is capped at
    the column's range (about 24 days), which says "very late" just as well."""
    late = round((outcome.started_at - outcome.planned_at).total_seconds() * 1000)
    return min(max(0, late), 2**31 - 1)


def _execution_row(job: CronJob, outcome: Outcome, held: bool) -> dict:
    result = outcome.result
    saved = job.save_responses
    return {
        "cron_job_id": job.id,
        "maintenance": held,
        "execution_uid": outcome.execution_uid,
        "trigger": outcome.trigger,
        "planned_at": outcome.planned_at,
        "started_at": outcome.started_at,
        "jitter_ms": _jitter_ms(outcome),
        "duration_ms": round(result.total_us / 1000),
        "missed_slots": outcome.missed,
        "outcome": outcome.outcome,
        "status_code": result.status_code,
        "error": outcome.error,
        "response_headers": dict(result.headers) if saved and result.headers else None,
        "response_body": result.body.decode("utf-8", errors="replace") if saved else None,
        **_timings(outcome),
    }


def _apply_execution(
    job: CronJob, outcome: Outcome, rollups: _Rollups, now: datetime, held: bool
) -> list:
    success = outcome.outcome == OK
    job.last_run_at = outcome.started_at
    job.last_outcome = outcome.outcome
    job.last_duration_ms = round(outcome.result.total_us / 1000)
    # Under maintenance an execution counts towards nothing: no failure streak, no alert.
    events = [] if held else state.apply_execution(job, success)
    events += _certificate_events(job, outcome, now, held)
    for event in events:
        if event == state.EVENT_FAILED:
            incidents.open_incident(
                cron_job_id=job.id,
                title=f"Cron job {job.name} is failing",
                cause=reasons.outcome(outcome.outcome, outcome.error, outcome.result.status_code),
                now=now,
            )
        elif event == state.EVENT_RECOVERED:
            incidents.resolve_open(
                cron_job_id=job.id, message=f"Cron job {job.name} succeeded again.", now=now
            )
        elif event == state.EVENT_DISABLED and job.disabled_reason:  # the rules give one
            incidents.note_open(cron_job_id=job.id, message=job.disabled_reason, now=now)
    rollups.add(SUBJECT_CRON_JOB, job.id, outcome, 0, held)
    return [("cron_job", job.id, e) for e in events]


class _Rollups:
    """A batch's additions to the daily rollups, summed per (subject, UTC day) and written
    with one upsert, so no rollup row is read."""

    def __init__(self) -> None:
        self.rows: dict[tuple, dict] = {}

    def _row(self, subject_type: str, subject_id: int, at: datetime) -> dict:
        key = (subject_type, subject_id, at.date())
        if key not in self.rows:
            self.rows[key] = rollup_row(subject_type, subject_id, at, checks=0, failures=0)
        return self.rows[key]

    def add_signal(self, subject_type: str, subject_id: int, at: datetime, ok: bool) -> None:
        """One result without a request: a heartbeat's deadline missed."""
        row = self._row(subject_type, subject_id, at)
        row["checks"] += 1
        row["failures"] += 0 if ok else 1

    def add(
        self, subject_type: str, subject_id: int, outcome: Outcome, downtime: int, held: bool
    ) -> None:
        latency = _latency_ms(outcome)
        row = self._row(subject_type, subject_id, outcome.started_at)
        if held:
            # Out of the uptime: counted apart, without failures, downtime or latency.
            row["maintenance_checks"] += 1
            return
        row["checks"] += 1
        row["failures"] += 0 if outcome.outcome == OK else 1
        row["downtime_sec"] += downtime
        if latency is not None:
            row["latency_sum_ms"] += latency
            row["latency_min_ms"] = min(latency, row["latency_min_ms"] or latency)
            row["latency_max_ms"] = max(latency, row["latency_max_ms"] or latency)

    def write(self) -> None:
        if not self.rows:
            return
        statement = rollup_upsert(db.session.get_bind().dialect.name)
        db.session.execute(statement, list(self.rows.values()))


def rollup_row(subject_type: str, subject_id: int, at: datetime, checks: int, failures: int):
    """What results without a response time add to the rollup of ``at``'s UTC day."""
    return {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "day": at.date(),
        "checks": checks,
        "failures": failures,
        "latency_sum_ms": 0,
        "latency_min_ms": None,
        "latency_max_ms": None,
        "downtime_sec": 0,
        "maintenance_checks": 0,
    }


@functools.cache
def rollup_upsert(dialect_name: str, source: sa.Select | None = None):
    """Add rows of ``rollup_row``'s shape to their days' rollups, without reading them (built
    once per kind of database: the ping path compiles each statement once, keyed by it).
    The row is given as parameters named like its columns, or selected by ``source``, whose
    columns come in rollup_row's order."""
    table = DailyRollup.__table__
    columns = tuple(rollup_row("", 0, datetime.min, 0, 0))
    statement = dialect_insert(table, dialect_name)
    if source is None:
        statement = statement.values({c: sa.bindparam(c) for c in columns})
    else:
        statement = statement.from_select(columns, source)
    new = statement.excluded
    return statement.on_conflict_do_update(
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
            "maintenance_checks": table.c.maintenance_checks + new.maintenance_checks,
        },
    )
