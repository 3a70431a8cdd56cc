"""The dashboard's overview: every monitor, heartbeat and cron job in one list, by group.

Monitors and cron jobs live in two tables; the list is one UNION query (filtered, ordered by
group and paged in SQL), then a fixed handful of queries for the page's details whatever its
length: the rows of each table by id, one grouped query per table for the 24-hour uptime,
and one per table for the last results of the beat bars and sparklines (``beats``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.engine import state
from app.extensions import db
from app.models import CronJob, Group, Monitor
from app.models.history import SUBJECT_CRON_JOB, SUBJECT_MONITOR
from app.models.monitor import KIND_HEARTBEAT
from app.models.types import utcnow
from app.services import beats, history, maintenance, reasons, tags
from app.services.beats import Beat
from app.services.errors import ValidationError
from app.services.monitors import target as monitor_target
from app.services.pagination import Page, group_order, matching, paginate

# Health as engine.state.health decides it, the same on every surface.
UP = "up"
DEGRADED = "degraded"  # a monitor answering with a warning, a cron job failing below its alert
DOWN = "down"
LATE = "late"
PENDING = "pending"
PAUSED = "paused"
# A maintenance window covers the item now: shown instead of its stored state, which stays.
MAINTENANCE = "maintenance"
STATUSES = (UP, DEGRADED, DOWN, LATE, PENDING, PAUSED, MAINTENANCE)

TYPE_MONITOR = "monitor"
TYPE_HEARTBEAT = "heartbeat"
TYPE_CRON_JOB = "cron_job"

SPARK_SPAN = timedelta(hours=24)
SPARK_BUCKETS = 24


@dataclass(slots=True)
class Row:
    """One line of the overview."""

    type: str  # monitor, heartbeat or cron_job
    id: int
    name: str
    status: str
    group: str | None
    target: str | None  # the URL called, host:port for tcp monitors; None for heartbeats
    last_at: datetime | None  # last check, ping or run
    last_ms: int | None  # its response time or duration
    problem: str | None  # why it is failing, when it is
    warning: str | None = None  # what a degraded monitor warns about
    uptime_24h: float | None = None
    beats: tuple[Beat, ...] = ()  # the last results, oldest first

    @property
    def key(self) -> str:
        return f"{self.type}-{self.id}"


def list_items(
    search: str | None = None,
    status: str | None = None,
    tag: str | list[str] | None = None,
    page: Any = 1,
    per_page: Any = 50,
    now: datetime | None = None,
) -> Page:
    """One page of everything monitored, grouped; ``status`` is one of STATUSES (as the
    rows show it: an item under maintenance matches "maintenance", not its stored state),
    ``tag`` one or more tag names all of which an item carries, and ``search`` matches names
    and descriptions. Items are :class:`Row`."""
    if status and status not in STATUSES:
        raise ValidationError({"status": f"Choose one of {', '.join(STATUSES)}."})
    now = now or utcnow()
    text = sa.String(16)
    monitors = sa.select(
        sa.case((Monitor.kind == KIND_HEARTBEAT, TYPE_HEARTBEAT), else_=TYPE_MONITOR)
        .cast(text)
        .label("type"),
        Monitor.id.label("id"),
        Monitor.name.label("name"),
        state.health_column(Monitor).cast(text).label("status"),
        Monitor.group_id.label("group_id"),
        Monitor.position.label("position"),
    )
    jobs = sa.select(
        sa.literal(TYPE_CRON_JOB).cast(text).label("type"),
        CronJob.id,
        CronJob.name,
        state.health_column(CronJob).cast(text),
        CronJob.group_id,
        CronJob.position,
    )
    if search and search.strip():
        monitors = monitors.where(matching(search, Monitor.name, Monitor.description))
        jobs = jobs.where(matching(search, CronJob.name, CronJob.description))
    if tag:
        names = tags.parse_filter(tag)
        monitors = tags.filter_tagged(monitors, Monitor.id, names)
        jobs = tags.filter_tagged(jobs, CronJob.id, names)
    union = sa.union_all(monitors, jobs).subquery()
    query = (
        sa.select(union.c.type, union.c.id, union.c.status)
        .outerjoin(Group, union.c.group_id == Group.id)
        .order_by(*group_order(), union.c.position, union.c.name, union.c.type, union.c.id)
    )
    # Asked once: the status filter and the rows' "maintenance" both read it.
    held = maintenance.covered(now)
    if status:
        under = sa.and_(
            union.c.status != PAUSED,
            sa.or_(
                sa.and_(union.c.type != TYPE_CRON_JOB, union.c.id.in_(list(held.monitors))),
                sa.and_(union.c.type == TYPE_CRON_JOB, union.c.id.in_(list(held.cron_jobs))),
            ),
        )
        if status == MAINTENANCE:
            query = query.where(under)
        else:
            query = query.where(union.c.status == status, sa.not_(under))
    found = paginate(query, page, per_page, rows=True)
    rows = _rows(found.items, now, held)
    return Page(rows, found.total, found.page, found.per_page, found.pages, found.offset)


def overall_state(now: datetime | None = None) -> str:
    """The state of everything at once, for the browser tab's icon: DOWN when anything is
    down, DEGRADED when anything is degraded or late, else UP (items under maintenance do
    not count). Two grouped queries, however many items there are."""
    held = maintenance.covered(now or utcnow())
    seen: set[str] = set()
    for status, ids, held_ids in (
        (state.health_column(Monitor), Monitor.id, held.monitors),
        (state.health_column(CronJob), CronJob.id, held.cron_jobs),
    ):
        query = sa.select(status).where(status.in_((DOWN, DEGRADED, LATE))).distinct()
        if held_ids:
            query = query.where(ids.not_in(list(held_ids)))
        seen.update(db.session.scalars(query))
    if DOWN in seen:
        return DOWN
    return DEGRADED if seen else UP


def _rows(keys: list[Any], now: datetime, under: maintenance.Covered) -> list[Row]:
    monitor_ids = [k.id for k in keys if k.type != TYPE_CRON_JOB]
    job_ids = [k.id for k in keys if k.type == TYPE_CRON_JOB]
    monitors = {
        m.id: m for m in db.session.scalars(sa.select(Monitor).where(Monitor.id.in_(monitor_ids)))
    }
    jobs = {j.id: j for j in db.session.scalars(sa.select(CronJob).where(CronJob.id.in_(job_ids)))}
    uptime_ids = [i for i in monitor_ids if i in monitors and monitors[i].kind != KIND_HEARTBEAT]
    heartbeat_ids = [i for i in monitor_ids if i in monitors and i not in uptime_ids]
    recent = {
        TYPE_MONITOR: beats.of_monitors(uptime_ids),
        TYPE_HEARTBEAT: beats.of_heartbeats(heartbeat_ids),
        TYPE_CRON_JOB: beats.of_cron_jobs(job_ids),
    }
    series = {
        TYPE_MONITOR: history.response_times(
            SUBJECT_MONITOR, uptime_ids, now, SPARK_SPAN, SPARK_BUCKETS
        ),
        TYPE_CRON_JOB: history.response_times(
            SUBJECT_CRON_JOB, job_ids, now, SPARK_SPAN, SPARK_BUCKETS
        ),
    }
    rows = []
    for key in keys:
        if key.type == TYPE_CRON_JOB:
            job = jobs.get(key.id)
            if job is None:  # deleted between the two queries
                continue
            last = recent[TYPE_CRON_JOB].get(job.id)
            problem = reasons.of_cron_job(job)
            if problem and not job.disabled_reason and last and last[-1].status == beats.DOWN:
                problem = last[-1].reason  # the run's own sentence says more than its code
            row = Row(
                TYPE_CRON_JOB,
                job.id,
                job.name,
                key.status,
                job.group.name if job.group else None,
                job.url,
                job.last_run_at,
                job.last_duration_ms,
                problem,
            )
        else:
            monitor = monitors.get(key.id)
            if monitor is None:
                continue
            heartbeat = monitor.kind == KIND_HEARTBEAT
            row = Row(
                TYPE_HEARTBEAT if heartbeat else TYPE_MONITOR,
                monitor.id,
                monitor.name,
                key.status,
                monitor.group.name if monitor.group else None,
                monitor_target(monitor),
                monitor.last_ping_at if heartbeat else monitor.last_checked_at,
                monitor.last_duration_ms if heartbeat else monitor.last_response_ms,
                monitor.last_error if key.status == DOWN and not heartbeat else None,
                monitor.last_warning if key.status == DEGRADED else None,
            )
        held = under.cron_jobs if row.type == TYPE_CRON_JOB else under.monitors
        if row.id in held and row.status != PAUSED:
            row.status = MAINTENANCE
        buckets = series.get(row.type, {}).get(row.id)
        if buckets:
            row.uptime_24h = history.series_uptime(buckets)
        row.beats = tuple(recent[row.type].get(row.id, ()))
        rows.append(row)
    return rows
