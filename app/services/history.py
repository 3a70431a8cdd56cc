"""History: retention, pruning, clearing, uptime figures and the check/execution logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from app.extensions import db
from app.models import CheckResult, CronExecution, DailyRollup, Monitor, NotificationLog, Ping
from app.models.history import OK, PING_FAIL, PING_SUCCESS, SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.models.monitor import KIND_HEARTBEAT
from app.services import beats, cron_jobs, fields, monitors, reasons, settings
from app.services.errors import NotFound, ValidationError
from app.services.pagination import Page, paginate

TTL_KEY = "history_ttl_seconds"
UNLIMITED_KEY = "history_unlimited"
TTL_DEFAULT = 30 * 86400
TTL_MIN = 3600
TTL_MAX = 10 * 365 * 86400
ROLLUP_KEEP_DAYS = 400
LATEST_MAX = 43_200  # a month of checks once a minute
UPTIME_WINDOWS_DAYS = {"7d": 7, "30d": 30, "90d": 90}
# The response-time ranges the dashboard charts: span and number of buckets.
RESPONSE_RANGES = {
    "24h": (timedelta(hours=24), 48),
    "7d": (timedelta(days=7), 84),
    "30d": (timedelta(days=30), 120),
}

_ttl = fields.whole_number(
    TTL_MIN,
    TTL_MAX,
    f"Must be a whole number of seconds from {TTL_MIN} (1 hour) to {TTL_MAX} (10 years).",
)
_moment = fields.optional(fields.aware_datetime)
# Raw history and the column its age is measured by.
_RAW = (
    (CheckResult, CheckResult.started_at),
    (CronExecution, CronExecution.started_at),
    (Ping, Ping.created_at),
    # The notification log ages like raw history; its attempts go with it (SQL cascade).
    (NotificationLog, NotificationLog.created_at),
)
# What "clear all history" deletes: raw history and the rollups made from it.
_CLEARED = (CheckResult, CronExecution, Ping, DailyRollup)


def get_retention() -> dict[str, Any]:
    """How long raw history is kept: ``{"ttl_seconds": int, "unlimited": bool}``."""
    return {
        "ttl_seconds": settings.get(TTL_KEY, TTL_DEFAULT),
        "unlimited": settings.get(UNLIMITED_KEY, False),
    }


def set_retention(ttl_seconds: Any = None, unlimited: Any = None) -> dict[str, Any]:
    """Change the retention (either part or both); returns the retention now in force."""
    given = {
        key: value
        for key, value in (("ttl_seconds", ttl_seconds), ("unlimited", unlimited))
        if value is not None
    }
    return update_retention(given)


def update_retention(data: Any) -> dict[str, Any]:
    """Change the retention from ``{"ttl_seconds"?, "unlimited"?}``; other names are refused."""
    values, errors = fields.parse(data, {"ttl_seconds": _ttl, "unlimited": fields.boolean})
    if errors:
        raise ValidationError(errors)
    keys = {"ttl_seconds": TTL_KEY, "unlimited": UNLIMITED_KEY}
    settings.put_many({keys[name]: value for name, value in values.items()})
    return get_retention()


def stored_counts() -> dict[str, int]:
    """How many rows ``clear_all`` would delete, per table, so a person sees what goes."""
    return {
        model.__tablename__: db.session.execute(
            sa.select(sa.func.count()).select_from(model)
        ).scalar_one()
        for model in _CLEARED
    }


def clear_all() -> dict[str, int]:
    """Delete all raw history and every rollup in one transaction; returns the counts.

    Monitors and cron jobs keep their current state: only the record of the past goes.
    """
    counts = {}
    for model in _CLEARED:
        statement = sa.delete(model).execution_options(synchronize_session=False)
        counts[model.__tablename__] = cast(
            sa.CursorResult[Any], db.session.execute(statement)
        ).rowcount
    db.session.commit()
    return counts


def _delete_in_batches(model, column, cutoff, batch_size: int) -> int:
    """Delete rows with ``column < cutoff``, at most ``batch_size`` per transaction.

    Each batch commits on its own, so a backlog of millions never holds the write lock (all
    of SQLite, or long row locks on PostgreSQL) for longer than one small DELETE.
    """
    deleted = 0
    while True:
        oldest = sa.select(model.id).where(column < cutoff).order_by(model.id).limit(batch_size)
        result = cast(
            sa.CursorResult[Any],
            db.session.execute(
                sa.delete(model)
                .where(model.id.in_(oldest.scalar_subquery()))
                .execution_options(synchronize_session=False)
            ),
        )
        db.session.commit()
        deleted += result.rowcount
        if result.rowcount < batch_size:
            return deleted


def prune(now: datetime, batch_size: int = 5000) -> dict[str, int]:
    """Delete raw history older than the retention (none when unlimited) and rollups older
    than 400 days; returns the counts per table."""
    retention = get_retention()
    counts = {}
    cutoff = now - timedelta(seconds=retention["ttl_seconds"])
    for model, column in _RAW:
        counts[model.__tablename__] = (
            0 if retention["unlimited"] else _delete_in_batches(model, column, cutoff, batch_size)
        )
    oldest_day = now.astimezone(UTC).date() - timedelta(days=ROLLUP_KEEP_DAYS)
    counts[DailyRollup.__tablename__] = _delete_in_batches(
        DailyRollup, DailyRollup.day, oldest_day, batch_size
    )
    return counts


def percent(checks: int, failures: int) -> float | None:
    """Uptime as the percent of successful checks, to 3 decimals (None: no checks)."""
    return round((checks - failures) / checks * 100, 3) if checks else None


def uptime(subject_type: str, subject_id: int, now: datetime) -> dict[str, float | None]:
    """Percent of successful checks over 24 hours and 7, 30 and 90 days (None: no checks).

    The day windows sum the daily rollups of the UTC days now.date()-N+1 … now.date(), so
    they never scan raw rows. A rollup is a whole UTC day and cannot answer "the last 24
    hours", so that figure counts the raw check results (monitor) or executions (cron job)
    started in (now - 24h, now] instead; for a heartbeat, its success and failure pings
    (a missed deadline leaves no raw row, so only the day windows count it).
    """
    if subject_type not in (SUBJECT_MONITOR, SUBJECT_CRON_JOB):
        raise ValidationError({"subject_type": f"Choose {SUBJECT_MONITOR} or {SUBJECT_CRON_JOB}."})
    day_ago = now - timedelta(hours=24)
    if subject_type == SUBJECT_MONITOR and _is_heartbeat(subject_id):
        query = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((Ping.kind == PING_SUCCESS, 1), else_=0)), 0),
        ).where(
            Ping.monitor_id == subject_id,
            Ping.kind.in_((PING_SUCCESS, PING_FAIL)),
            Ping.created_at > day_ago,
            Ping.created_at <= now,
        )
    else:
        model: type[CheckResult] | type[CronExecution]
        if subject_type == SUBJECT_MONITOR:
            model, subject_column = CheckResult, CheckResult.monitor_id
        else:
            model, subject_column = CronExecution, CronExecution.cron_job_id
        query = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((model.outcome == OK, 1), else_=0)), 0),
        ).where(
            subject_column == subject_id,
            model.started_at > day_ago,
            model.started_at <= now,
            model.maintenance.is_(False),  # out of uptime, as in the rollups
        )
    checks, successes = db.session.execute(query).one()
    figures = {"24h": percent(checks, checks - successes)}

    today = now.astimezone(UTC).date()
    starts = {name: today - timedelta(days=days - 1) for name, days in UPTIME_WINDOWS_DAYS.items()}
    sums = []
    for start in starts.values():
        in_window = DailyRollup.day >= start
        sums.append(sa.func.sum(sa.case((in_window, DailyRollup.checks), else_=0)))
        sums.append(sa.func.sum(sa.case((in_window, DailyRollup.failures), else_=0)))
    row = db.session.execute(
        sa.select(*sums).where(
            DailyRollup.subject_type == subject_type,
            DailyRollup.subject_id == subject_id,
            DailyRollup.day >= min(starts.values()),
            DailyRollup.day <= today,
        )
    ).one()
    for i, name in enumerate(starts):
        figures[name] = percent(row[2 * i] or 0, row[2 * i + 1] or 0)
    return figures


def _is_heartbeat(monitor_id: int) -> bool:
    kind = db.session.scalar(sa.select(Monitor.kind).where(Monitor.id == monitor_id))
    return kind == KIND_HEARTBEAT


def _period(start: Any, end: Any) -> tuple[datetime | None, datetime | None]:
    values, errors = fields.parse(
        {"start": start, "end": end},
        {"start": _moment, "end": _moment},
    )
    if not errors and values["start"] and values["end"] and values["end"] <= values["start"]:
        errors["end"] = "Choose an end after the start."
    if errors:
        raise ValidationError(errors)
    return values["start"], values["end"]


def check_history(
    monitor_id: int, start: Any = None, end: Any = None, page: Any = 1, per_page: Any = 50
) -> Page:
    """A monitor's check results, newest first, started in [start, end) when given."""
    monitors.get(monitor_id)
    start, end = _period(start, end)
    query = sa.select(CheckResult).where(CheckResult.monitor_id == monitor_id)
    if start:
        query = query.where(CheckResult.started_at >= start)
    if end:
        query = query.where(CheckResult.started_at < end)
    query = query.order_by(CheckResult.started_at.desc(), CheckResult.id.desc())
    return paginate(query, page, per_page)


def latest_checks(
    monitor_id: int, start: Any = None, end: Any = None, limit: Any = 60
) -> list[CheckResult]:
    """A monitor's latest ``limit`` check results, newest first, started in [start, end)
    when given: one read for clients that ask for "the last N" rather than by page."""
    monitors.get(monitor_id)
    start, end = _period(start, end)
    try:
        limit = fields.whole_number(1, LATEST_MAX)(limit)
    except ValueError as exc:
        raise ValidationError({"limit": str(exc)}) from None
    query = sa.select(CheckResult).where(CheckResult.monitor_id == monitor_id)
    if start:
        query = query.where(CheckResult.started_at >= start)
    if end:
        query = query.where(CheckResult.started_at < end)
    query = query.order_by(CheckResult.started_at.desc(), CheckResult.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def executions(cron_job_id: int, page: Any = 1, per_page: Any = 50) -> Page:
    """A cron job's executions, newest first."""
    cron_jobs.get(cron_job_id)
    query = (
        sa.select(CronExecution)
        .where(CronExecution.cron_job_id == cron_job_id)
        .order_by(CronExecution.started_at.desc(), CronExecution.id.desc())
    )
    return paginate(query, page, per_page)


def failed_executions(cron_job_id: int | None = None, page: Any = 1, per_page: Any = 50) -> Page:
    """Executions that did not succeed, newest first: of one job, or of all jobs."""
    query = sa.select(CronExecution).where(CronExecution.outcome != OK)
    if cron_job_id is not None:
        cron_jobs.get(cron_job_id)
        query = query.where(CronExecution.cron_job_id == cron_job_id)
    query = query.order_by(CronExecution.started_at.desc(), CronExecution.id.desc())
    return paginate(query, page, per_page)


def execution(cron_job_id: int, execution_id: int) -> CronExecution:
    """One execution of a job, with its response if the job saves responses."""
    row = db.session.get(CronExecution, execution_id)
    if row is None or row.cron_job_id != cron_job_id:
        raise NotFound("Execution not found")
    return row


@dataclass(frozen=True, slots=True)
class Bucket:
    """A slice of time of one subject's checks (or executions): how many there were, how many
    failed, and the mean total time of the successful ones (None: no successful one)."""

    start: datetime
    checks: int
    failures: int
    mean_ms: int | None
    min_ms: int | None = None  # fastest and slowest successful check of the slice
    max_ms: int | None = None


def response_times(
    subject_type: str, subject_ids: list[int], now: datetime, span: timedelta, buckets: int
) -> dict[int, list[Bucket]]:
    """Per subject, ``buckets`` equal slices of (now - span, now], oldest first.

    One grouped query for all the subjects, so a list of fifty sparklines costs one round
    trip; every subject asked for gets its full list of buckets, empty ones included.
    """
    model: type[CheckResult] | type[CronExecution]
    if subject_type == SUBJECT_MONITOR:
        model, subject_column = CheckResult, CheckResult.monitor_id
    elif subject_type == SUBJECT_CRON_JOB:
        model, subject_column = CronExecution, CronExecution.cron_job_id
    else:
        raise ValidationError({"subject_type": f"Choose {SUBJECT_MONITOR} or {SUBJECT_CRON_JOB}."})
    if not subject_ids:
        return {}
    width = span.total_seconds() / buckets
    start = now - span
    epoch = sa.cast(sa.func.extract("epoch", model.started_at), sa.Float)
    index = sa.cast(sa.func.floor((epoch - start.timestamp()) / width), sa.Integer).label("n")
    ok = model.outcome == OK
    query = (
        sa.select(
            subject_column,
            index,
            sa.func.count(),
            sa.func.sum(sa.case((ok, 0), else_=1)),
            sa.func.avg(sa.case((ok, model.total_us))),
            sa.func.min(sa.case((ok, model.total_us))),
            sa.func.max(sa.case((ok, model.total_us))),
        )
        .where(
            subject_column.in_(subject_ids),
            model.started_at > start,
            model.started_at <= now,
            model.maintenance.is_(False),  # out of uptime and latency, as in the rollups
        )
        .group_by(subject_column, index)
    )
    found: dict[tuple[int, int], tuple] = {}
    for subject_id, n, checks, failures, mean_us, min_us, max_us in db.session.execute(query):
        # A check at exactly ``now`` falls one past the end: count it in the last bucket.
        n = min(int(n), buckets - 1)
        before = found.get((subject_id, n))
        if before is None:
            found[(subject_id, n)] = (checks, failures or 0, mean_us, min_us, max_us)
        else:  # merge: only the rare check at exactly ``now`` lands here
            found[(subject_id, n)] = (before[0] + checks, before[1] + (failures or 0), *before[2:])
    series = {}
    for subject_id in subject_ids:
        row = []
        for n in range(buckets):
            checks, failures, *times = found.get((subject_id, n), (0, 0, None, None, None))
            mean, fastest, slowest = (None if t is None else round(float(t) / 1000) for t in times)
            moment = start + n * timedelta(seconds=width)
            row.append(Bucket(moment, checks, failures, mean, fastest, slowest))
        series[subject_id] = row
    return series


def series_uptime(buckets: list[Bucket]) -> float | None:
    """Uptime over a series of buckets (None: no checks), as ``percent`` computes it."""
    return percent(sum(b.checks for b in buckets), sum(b.failures for b in buckets))


# Up to this many raw checks a chart plots each one; more (a 24-hour range of a monitor
# checked more often than once a minute) are drawn as buckets, so the page stays light.
POINTS_MAX = 1440


@dataclass(frozen=True, slots=True)
class Point:
    """One check as a chart draws it: when, its total time in microseconds (None: it has
    none), its status (up, degraded, down, maintenance) and why, in words."""

    at: datetime
    us: int | None
    status: str
    reason: str


def response_points(monitor_id: int, now: datetime, span: timedelta) -> list[Point] | None:
    """A monitor's checks started in (now - span, now], oldest first; None when there are
    more than POINTS_MAX of them (the caller then asks for buckets)."""
    query = (
        sa.select(CheckResult)
        .where(
            CheckResult.monitor_id == monitor_id,
            CheckResult.started_at > now - span,
            CheckResult.started_at <= now,
        )
        .order_by(CheckResult.started_at, CheckResult.id)
        .limit(POINTS_MAX + 1)
    )
    rows = list(db.session.scalars(query))
    if len(rows) > POINTS_MAX:
        return None
    return [Point(r.started_at, r.total_us, beats.status_of(r), reasons.of_check(r)) for r in rows]


def run_points(monitor_id: int, now: datetime, span: timedelta) -> list[Point]:
    """A heartbeat's runs in (now - span, now], oldest first, for its run-time chart: each
    success ping that closed a started run (its start→success duration) and each failure
    ping; the newest POINTS_MAX when there are more."""
    ran = sa.and_(Ping.kind == PING_SUCCESS, Ping.duration_ms.is_not(None))
    query = (
        sa.select(Ping)
        .where(
            Ping.monitor_id == monitor_id,
            sa.or_(ran, Ping.kind == PING_FAIL),
            Ping.created_at > now - span,
            Ping.created_at <= now,
        )
        .order_by(Ping.created_at.desc(), Ping.id.desc())
        .limit(POINTS_MAX)
    )
    rows = reversed(list(db.session.scalars(query)))
    return [
        Point(
            r.created_at,
            r.duration_ms * 1000 if r.duration_ms is not None else None,
            beats.UP if r.kind == PING_SUCCESS else beats.DOWN,
            reasons.of_ping(r),
        )
        for r in rows
    ]
