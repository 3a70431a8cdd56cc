"""Beats: the last results of many items at once, for the beat bars of the dashboard's lists.

A beat is one check (uptime monitor), one run (cron job) or one success or failure ping
(heartbeat), reduced to what a tick shows: when, how it went, how long it took and why.

A page of a list may hold a thousand items, so the last ``limit`` results of all of them are
read in one query per table, never one per item. The query works the same on SQLite and
PostgreSQL: a derived table finds, per item, the moment of its ``limit``-th newest result
(a correlated subquery reading the (item, moment) index backwards, ``LIMIT 1 OFFSET
limit-1``), and the results are joined from that moment on, again by index range. The cost
grows with the items on the page times ``limit``, never with the history kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, CronExecution, CronJob, Monitor, Ping
from app.models.history import OK, PING_FAIL, PING_SUCCESS
from app.services import reasons

LIMIT = 30

UP = "up"
DOWN = "down"
DEGRADED = "degraded"
MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class Beat:
    """One result as a tick: its moment, status (up, down, degraded, maintenance), time in
    microseconds (None when there is none to tell) and its reason in words."""

    at: datetime
    status: str
    us: int | None
    reason: str


def _since(items, ids: list[int], subject, moment, limit: int, *where) -> sa.Subquery:
    """Per item id, the moment of its ``limit``-th newest result (NULL: it has fewer)."""
    driver = sa.select(items.id).where(items.id.in_(ids)).subquery("ids")
    nth = (
        sa.select(moment)
        .where(subject == driver.c.id, *where)
        .order_by(moment.desc())
        .limit(1)
        .offset(limit - 1)
        .correlate(driver)
        .scalar_subquery()
    )
    return sa.select(driver.c.id, nth.label("since")).subquery("cut")


def _recent(items, model, subject, moment, ids: list[int], limit: int, *where) -> list:
    cut = _since(items, ids, subject, moment, limit, *where)
    query = (
        sa.select(model)
        .join(cut, subject == cut.c.id)
        .where(sa.or_(cut.c.since.is_(None), moment >= cut.c.since), *where)
        .order_by(subject, moment, model.id)
    )
    return list(db.session.scalars(query))


def _grouped(rows, subject_of, beat_of, ids: list[int], limit: int) -> dict[int, list[Beat]]:
    found: dict[int, list[Beat]] = {i: [] for i in ids}
    for row in rows:
        found[subject_of(row)].append(beat_of(row))
    # Equal moments (possible for pings) may let a few more in: keep the newest ``limit``.
    return {i: beats[-limit:] for i, beats in found.items()}


def status_of(row) -> str:
    """A check result's or an execution's status as a tick shows it."""
    return _status(row.outcome, getattr(row, "warning", None), row.maintenance)


def _status(outcome: str, warning: str | None, maintenance: bool) -> str:
    if maintenance:
        return MAINTENANCE
    if outcome != OK:
        return DOWN
    return DEGRADED if warning else UP


def _check_beat(row: CheckResult) -> Beat:
    return Beat(row.started_at, status_of(row), row.total_us, reasons.of_check(row))


def _execution_beat(row: CronExecution) -> Beat:
    us = row.total_us if row.total_us is not None else _us(row.duration_ms)
    return Beat(row.started_at, status_of(row), us, reasons.of_execution(row))


def _ping_beat(row: Ping) -> Beat:
    status = UP if row.kind == PING_SUCCESS else DOWN
    return Beat(row.created_at, status, _us(row.duration_ms), reasons.of_ping(row))


def _us(ms: int | None) -> int | None:
    return None if ms is None else ms * 1000


def of_monitors(ids: list[int], limit: int = LIMIT) -> dict[int, list[Beat]]:
    """The last ``limit`` checks of each uptime monitor in ``ids``, oldest first."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = _recent(Monitor, CheckResult, CheckResult.monitor_id, CheckResult.planned_at, ids, limit)
    return _grouped(rows, lambda r: r.monitor_id, _check_beat, ids, limit)


def of_cron_jobs(ids: list[int], limit: int = LIMIT) -> dict[int, list[Beat]]:
    """The last ``limit`` runs of each cron job in ``ids``, oldest first."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = _recent(
        CronJob, CronExecution, CronExecution.cron_job_id, CronExecution.planned_at, ids, limit
    )
    return _grouped(rows, lambda r: r.cron_job_id, _execution_beat, ids, limit)


def of_heartbeats(ids: list[int], limit: int = LIMIT) -> dict[int, list[Beat]]:
    """The last ``limit`` success and failure pings of each heartbeat in ``ids``, oldest
    first; start and log pings tell no result, so they make no tick."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = _recent(
        Monitor,
        Ping,
        Ping.monitor_id,
        Ping.created_at,
        ids,
        limit,
        Ping.kind.in_((PING_SUCCESS, PING_FAIL)),
    )
    return _grouped(rows, lambda r: r.monitor_id, _ping_beat, ids, limit)
