"""Beats: the last results of many items at once, for the beat bars of the dashboard's lists.

A beat is one check (uptime monitor), one run (cron job) or one success or failure ping
(heartbeat), reduced to what a tick shows: when, how it went, how long it took and why.

A page of a list may hold a thousand items, so the last ``limit`` results of all of them are
read in one query per table, never one per item. Either way the (item, moment) index of
the results is read backwards, ``limit`` entries per item, so the cost grows with the items
on the page times ``limit``, never with the history kept:

- PostgreSQL: a LATERAL join, per item ``ORDER BY moment DESC LIMIT limit``.
- SQLite (no LATERAL): a derived table finds, per item, the moment of its ``limit``-th
  newest result (a correlated ``LIMIT 1 OFFSET limit-1``), and the results are joined from
  that moment on by index range. PostgreSQL's planner misjudges that join (it cannot know how
  few rows the computed bound lets through and scans the whole table), hence two forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, CronExecution, CronJob, Monitor, Ping
from app.models.history import OK, PING_FAIL, PING_SUCCESS
from app.models.types import UTCDateTime
from app.services import reasons

LIMIT = 30
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

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
    # The LIMIT keeps SQLite from flattening this into the join below, which would run the
    # subquery once per result row instead of once per item.
    return sa.select(driver.c.id, nth.label("since")).limit(len(ids)).subquery("cut")


def _recent(items, columns, subject, moment, ids: list[int], limit: int, *where) -> list:
    """The rows of ``columns`` (plain rows, not ORM objects: a page of a thousand items
    reads 30,000 of them) of each item's last ``limit`` results, by item and moment."""
    if db.session.get_bind().dialect.name == "postgresql":
        driver = sa.select(items.id).where(items.id.in_(ids)).subquery("ids")
        last = (
            sa.select(*columns)
            .where(subject == driver.c.id, *where)
            .order_by(moment.desc())
            .limit(limit)
            .lateral("last")
        )
        first, at = last.c[0], last.c[1]
        query = sa.select(last).select_from(driver).join(last, sa.true()).order_by(first, at)
        return list(db.session.execute(query))
    cut = _since(items, ids, subject, moment, limit, *where)
    # An item with fewer results has no cut: all of its results, from the start of time.
    since = sa.func.coalesce(cut.c.since, sa.literal(_BEGINNING, UTCDateTime))
    query = (
        sa.select(*columns)
        .join(cut, sa.and_(subject == cut.c.id, moment >= since))
        .where(*where)
        .order_by(subject, moment)
    )
    return list(db.session.execute(query))


def _grouped(rows, beat_of, ids: list[int], limit: int) -> dict[int, list[Beat]]:
    """Beats by item; each row starts with its item's id, ``beat_of`` takes the rest."""
    found: dict[int, list[Beat]] = {i: [] for i in ids}
    for subject_id, *values in rows:
        found[subject_id].append(beat_of(*values))
    # Equal moments (possible for pings) may let a few more in: keep the newest ``limit``.
    return {i: beats[-limit:] for i, beats in found.items()}


# What a tick needs of each kind of result.
_CHECK = (
    CheckResult.monitor_id,
    CheckResult.started_at,
    CheckResult.outcome,
    CheckResult.status_code,
    CheckResult.error,
    CheckResult.warning,
    CheckResult.maintenance,
    CheckResult.total_us,
)
_EXECUTION = (
    CronExecution.cron_job_id,
    CronExecution.started_at,
    CronExecution.outcome,
    CronExecution.status_code,
    CronExecution.error,
    CronExecution.maintenance,
    CronExecution.total_us,
    CronExecution.duration_ms,
)
_PING = (Ping.monitor_id, Ping.created_at, Ping.kind, Ping.exit_status, Ping.duration_ms)


def status_of(row) -> str:
    """A check result's or an execution's status as a tick shows it."""
    return _status(row.outcome, getattr(row, "warning", None), row.maintenance)


def _status(outcome: str, warning: str | None, maintenance: bool) -> str:
    if maintenance:
        return MAINTENANCE
    if outcome != OK:
        return DOWN
    return DEGRADED if warning else UP


# The builders take a row's values positionally (after the item's id, in the order of
# _CHECK, _EXECUTION and _PING): a thousand items' beats are 30,000 rows.


def _check_beat(at, outcome, status_code, error, warning, held, us) -> Beat:
    words = reasons.outcome(outcome, error, status_code, warning, held)
    return Beat(at, _status(outcome, warning, held), us, words)


def _execution_beat(at, outcome, status_code, error, held, us, duration_ms) -> Beat:
    words = reasons.outcome(outcome, error, status_code, None, held)
    us = us if us is not None else _us(duration_ms)
    return Beat(at, _status(outcome, None, held), us, words)


def _ping_beat(at, kind, exit_status, duration_ms) -> Beat:
    status = UP if kind == PING_SUCCESS else DOWN
    return Beat(at, status, _us(duration_ms), reasons.ping(kind, exit_status))


def _us(ms: int | None) -> int | None:
    return None if ms is None else ms * 1000


def of_monitors(ids: list[int], limit: int = LIMIT) -> dict[int, list[Beat]]:
    """The last ``limit`` checks of each uptime monitor in ``ids``, oldest first."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = _recent(Monitor, _CHECK, CheckResult.monitor_id, CheckResult.planned_at, ids, limit)
    return _grouped(rows, _check_beat, ids, limit)


def of_cron_jobs(ids: list[int], limit: int = LIMIT) -> dict[int, list[Beat]]:
    """The last ``limit`` runs of each cron job in ``ids``, oldest first."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = _recent(
        CronJob, _EXECUTION, CronExecution.cron_job_id, CronExecution.planned_at, ids, limit
    )
    return _grouped(rows, _execution_beat, ids, limit)


def of_heartbeats(ids: list[int], limit: int = LIMIT) -> dict[int, list[Beat]]:
    """The last ``limit`` success and failure pings of each heartbeat in ``ids``, oldest
    first; start and log pings tell no result, so they make no tick."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = _recent(
        Monitor,
        _PING,
        Ping.monitor_id,
        Ping.created_at,
        ids,
        limit,
        Ping.kind.in_((PING_SUCCESS, PING_FAIL)),
    )
    return _grouped(rows, _ping_beat, ids, limit)
