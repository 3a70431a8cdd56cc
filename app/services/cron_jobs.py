"""HTTP cron jobs: create, change, enable, disable, run now, delete, list, preview schedules.

A job runs on a cron expression or on an interval in seconds (``interval_sec``), never both:
giving one clears the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy import orm as so

from app.engine import schedule, scheduler
from app.extensions import db
from app.models import CronJob, Group
from app.models.history import SUBJECT_CRON_JOB
from app.models.types import utcnow
from app.services import (
    certificate_alerts,
    channels,
    fields,
    groups,
    incidents,
    rollups,
    settings,
    tags,
)
from app.services.errors import NotFound, Unavailable, ValidationError
from app.services.pagination import Page, group_order, matching, paginate

CREDENTIAL_MAX = 200
NEXT_RUNS_MAX = 20
TLS_WARN_DAYS_MAX = 365
TIMEZONE_KEY = "cron_jobs.default_timezone"

# A job's settings, stored as given once validated (also the configuration document's).
SETTINGS = (
    "url",
    "method",
    "headers",
    "body",
    "auth_username",
    "auth_password",
    "cron_expr",
    "interval_sec",
    "timezone",
    "timeout_ms",
    "expected_status",
    "redirect_success",
    "expires_at",
    "save_responses",
    "auto_disable_after",
    "notify_on_failure",
    "notify_failure_after",
    "notify_on_recovery",
    "notify_on_disable",
    "tls_verify",
    "tls_expiry_warn_days",
)
_SIMPLE = ("name", "name_from_url", "description", *SETTINGS, "public")
INTERVAL_MIN_SEC = 60
INTERVAL_MAX_SEC = 30 * 86400
NAME_MAX = 200


_count = fields.whole_number(1, NEXT_RUNS_MAX)

_PARSERS: dict[str, fields.Parser] = {
    "name": fields.name(200),
    "description": fields.text(),
    "group": fields.optional(groups.parse_name),
    "url": fields.url,
    "method": fields.method,
    "headers": fields.headers,
    "body": fields.optional(fields.text()),
    "auth_username": fields.optional(fields.text(CREDENTIAL_MAX)),
    "auth_password": fields.optional(fields.text(CREDENTIAL_MAX)),
    "cron_expr": fields.optional(fields.cron_expr),
    "interval_sec": fields.optional(
        fields.whole_number(
            INTERVAL_MIN_SEC,
            INTERVAL_MAX_SEC,
            f"Must be a whole number of seconds from {INTERVAL_MIN_SEC} to {INTERVAL_MAX_SEC}.",
        )
    ),
    "name_from_url": fields.boolean,
    "timezone": fields.timezone,
    "timeout_ms": fields.whole_number(100, 300000),
    "expected_status": fields.status_ranges,
    "redirect_success": fields.boolean,
    "enabled": fields.boolean,
    "expires_at": fields.optional(fields.aware_datetime),
    "save_responses": fields.boolean,
    "auto_disable_after": fields.whole_number(0, 1000),
    "notify_on_failure": fields.boolean,
    "notify_failure_after": fields.whole_number(1, 1000),
    "notify_on_recovery": fields.boolean,
    "notify_on_disable": fields.boolean,
    "tls_verify": fields.boolean,
    "tls_expiry_warn_days": fields.whole_number(0, TLS_WARN_DAYS_MAX),
    "public": fields.boolean,
    "channels": channels.parse_ids,
    "tags": tags.parse_names,
}
_REQUIRED = {"name": "Enter a name.", "url": "Enter the URL to call."}
SCHEDULE_MISSING = (
    "Enter a cron expression, such as 0 2 * * * (every day at 02:00), or an interval in "
    "seconds (interval_sec)."
)
SCHEDULE_BOTH = "Give either a cron expression or an interval in seconds, not both."
_CONFLICT = "Another change was saved at the same moment; try again."


def get(cron_job_id: int) -> CronJob:
    """The cron job, or NotFound for an id that does not exist (any more)."""
    job = db.session.get(CronJob, cron_job_id)
    if job is None:
        raise NotFound("Cron job not found")
    return job


def get_by_uuid(value: str) -> CronJob:
    """The cron job whose stable uuid is ``value``, or NotFound."""
    return fields.by_uuid(CronJob, value, "Cron job not found")


def _schedule(values: dict[str, Any], errors: dict[str, str], current: CronJob | None) -> None:
    """Exactly one schedule: a new cron expression clears the interval and a new interval
    the expression; a job left with neither (or given both) is refused."""
    given = {k: values[k] for k in ("cron_expr", "interval_sec") if k in values}
    if "cron_expr" in errors or "interval_sec" in errors:
        return
    if given.get("cron_expr") is not None and given.get("interval_sec") is not None:
        errors["cron_expr"] = SCHEDULE_BOTH
        return
    if given.get("cron_expr") is not None:
        values["interval_sec"] = None
    elif given.get("interval_sec") is not None:
        values["cron_expr"] = None
    cron = values.get("cron_expr", current.cron_expr if current else None)
    interval = values.get("interval_sec", current.interval_sec if current else None)
    if cron is None and interval is None:
        errors["cron_expr"] = SCHEDULE_MISSING


def _validate(data: Any, current: CronJob | None) -> dict[str, Any]:
    values, errors = fields.parse(data, _PARSERS)
    fields.keep_masked_headers(values, errors, current.headers if current else None)
    if current is None:
        fields.require(data, errors, _REQUIRED)
    _schedule(values, errors, current)
    fields.name_from_url(values, errors, current, NAME_MAX)
    if current is None:
        # Only on create: an edit that resends the form of an expired job must still save.
        expires_at = values.get("expires_at")
        if expires_at is not None and expires_at <= utcnow():
            errors["expires_at"] = "Choose a moment in the future, or leave it empty."
    if errors:
        raise ValidationError(errors)
    return values


def _set_enabled(job: CronJob, enabled: bool, reason: str | None = None) -> None:
    """Enabling starts afresh: past failures must not count towards auto-disabling again."""
    job.enabled = enabled
    if enabled:
        job.consecutive_failures = 0
        job.disabled_reason = None
    else:
        job.disabled_reason = reason


def _apply(job: CronJob, values: dict[str, Any]) -> CronJob:
    # Resolve the group first: its lookup would otherwise autoflush a half-built job.
    if "group" in values:
        job.group = groups.resolve(values["group"]) if values["group"] else None
    if "channels" in values:
        job.channels = channels.by_ids(values["channels"])
    if "tags" in values:
        job.tags = tags.resolve(values["tags"])
    for key in _SIMPLE:
        if key in values:
            setattr(job, key, values[key])
    if "enabled" in values and values["enabled"] != job.enabled:
        _set_enabled(job, values["enabled"])
    return job


def create(data: dict[str, Any]) -> CronJob:
    """Create a cron job; it runs from its next scheduled time if enabled (the default).

    Without ``channels`` it notifies the channels marked "default for new items"; without
    ``timezone`` its schedule reads in the default time zone (``default_timezone``).
    """
    values = _validate(data, None)

    def build() -> CronJob:
        return add(values, fields.unique_slug(CronJob.slug, values["name"], "cron-job"))

    job = fields.commit_retrying(build, _CONFLICT)
    scheduler.refresh("cron_job", job.id)
    return job


def update(cron_job_id: int, data: dict[str, Any]) -> CronJob:
    """Change the fields given; the slug stays as it is."""
    values = _validate(data, get(cron_job_id))
    job = fields.commit_retrying(lambda: _apply(get(cron_job_id), values), _CONFLICT)
    scheduler.refresh("cron_job", job.id)
    return job


def enable(cron_job_id: int) -> CronJob:
    """Enable a job and clear the failures (and the reason) that disabled it."""
    job = get(cron_job_id)
    _set_enabled(job, True)
    db.session.commit()
    scheduler.refresh("cron_job", job.id)
    return job


DISABLED_RESOLUTION = "Resolved: the job was disabled."


def disable(cron_job_id: int, reason: str | None = None) -> CronJob:
    """Stop a job's schedule; ``reason`` is shown next to it."""
    if reason is not None and not isinstance(reason, str):
        raise ValidationError({"reason": "Must be text."})
    job = get(cron_job_id)
    _disable(job, (reason or "").strip() or None)
    db.session.commit()
    scheduler.refresh("cron_job", job.id)
    return job


def _disable(job: CronJob, reason: str | None) -> None:
    if job.enabled:
        # A disabled job is not watched: its open incident ends here (see monitors.pause).
        incidents.resolve_open(message=DISABLED_RESOLUTION, now=utcnow(), cron_job_id=job.id)
    _set_enabled(job, False, reason)


def delete(cron_job_id: int) -> None:
    """Delete a job with its executions and incidents (they cascade in SQL)."""
    remove(get(cron_job_id))
    db.session.commit()
    scheduler.refresh("cron_job", cron_job_id)


def delete_in_group(group_id: int, *, delete_group: bool = False) -> int:
    """Delete every cron job of a group, and the group too with ``delete_group``, in one
    transaction; returns how many jobs went. Monitors in the group stay (ungrouped if the
    group goes)."""
    group = groups.get(group_id)
    in_group = sa.select(CronJob.id).where(CronJob.group_id == group_id)
    ids = list(db.session.execute(in_group).scalars())
    for job_id in ids:
        rollups.forget(SUBJECT_CRON_JOB, job_id)
        certificate_alerts.forget(SUBJECT_CRON_JOB, job_id)
    # Executions, incidents and channel links cascade in SQL.
    db.session.execute(
        sa.delete(CronJob).where(CronJob.id.in_(ids)).execution_options(synchronize_session=False)
    )
    if delete_group:
        db.session.delete(group)
    db.session.commit()
    db.session.expire_all()
    for job_id in ids:
        scheduler.refresh("cron_job", job_id)
    return len(ids)


def default_timezone() -> str:
    """The time zone a new cron job gets when none is given (UTC until changed)."""
    return settings.get(TIMEZONE_KEY, "UTC")


def set_default_timezone(value: Any) -> str:
    """Change the time zone new cron jobs get; existing jobs keep theirs."""
    values, errors = fields.parse({"timezone": value}, {"timezone": fields.timezone})
    if errors:
        raise ValidationError(errors)
    settings.put(TIMEZONE_KEY, values["timezone"])
    return values["timezone"]


def run_now(cron_job_id: int) -> datetime:
    """Execute a job once, now, outside its schedule; disabled jobs too, to test them.

    Unlike a schedule change, which the scheduler rebuilds from SQL, a run asked for while
    Redis is down would be lost without a word, so it is refused instead.
    """
    get(cron_job_id)
    try:
        return scheduler.run_now(cron_job_id)
    except redis.RedisError:
        raise Unavailable("Jobs cannot be started right now; try again in a minute.") from None


def _parse_count(count: Any) -> int:
    try:
        return _count(count)
    except ValueError as exc:
        raise ValidationError({"count": str(exc)}) from None


def next_runs(cron_job_id: int, count: Any = 5, now: datetime | None = None) -> list[datetime]:
    """The job's coming run times (aware UTC); none while it is disabled or after it expires."""
    count = _parse_count(count)
    job = get(cron_job_id)
    now = now or utcnow()
    if not job.enabled or (job.expires_at is not None and job.expires_at <= now):
        return []
    runs = upcoming(job, now, count)
    return [run for run in runs if job.expires_at is None or run < job.expires_at]


def upcoming(job: CronJob, now: datetime, count: int) -> list[datetime]:
    """The job's next ``count`` slots after ``now`` by its schedule alone (enabled or not):
    cron times in its time zone, or every ``interval_sec`` from its last run (its creation
    before the first)."""
    if job.cron_expr is not None:
        return schedule.next_runs(job.cron_expr, job.timezone, now, count)
    if job.interval_sec is None:  # never stored so (see validated): no slots
        return []
    first, _ = schedule.next_interval(job.last_run_at or job.created_at, job.interval_sec, now)
    return [first + timedelta(seconds=job.interval_sec * n) for n in range(count)]


def preview(
    cron_expr: Any, timezone: Any = "UTC", count: Any = 5, now: datetime | None = None
) -> dict[str, Any]:
    """What an expression means and when it would run, for the form's live preview."""
    values, errors = fields.parse(
        {"cron_expr": cron_expr, "timezone": timezone, "count": count},
        {"cron_expr": fields.cron_expr, "timezone": fields.timezone, "count": _count},
    )
    if errors:
        raise ValidationError(errors)
    expr, zone = values["cron_expr"], values["timezone"]
    return {
        "description": schedule.describe(expr),
        "next_runs": schedule.next_runs(expr, zone, now or utcnow(), values["count"]),
    }


def list_cron_jobs(
    enabled: Any = None,
    group: str | None = None,
    tag: str | list[str] | None = None,
    search: str | None = None,
    page: Any = 1,
    per_page: Any = 50,
    keyword: str | None = None,
) -> Page:
    """One page of cron jobs: by group, then position and name.

    ``enabled`` may be a form string; ``group`` is a group name (any case); ``tag`` one or
    more tag names, all of which a listed job carries; ``search``
    matches name or description; ``keyword`` matches name, URL or the id itself (what
    SetCronJob clients search by).
    """
    query = (
        sa.select(CronJob)
        .outerjoin(Group, CronJob.group_id == Group.id)
        # Every listed item shows its channels and tags.
        .options(so.selectinload(CronJob.channels), so.selectinload(CronJob.tags))
    )
    query = _filtered(query, enabled, group, tag, search, keyword)
    query = query.order_by(*group_order(), CronJob.position, CronJob.name, CronJob.id)
    return paginate(query, page, per_page)


def matching_ids(
    enabled: Any = None,
    group: str | None = None,
    tag: str | list[str] | None = None,
    search: str | None = None,
) -> list[int]:
    """The ids of every job ``list_cron_jobs`` lists with these filters, on any page, in
    list order: what "select all matching" in the list acts on."""
    query = sa.select(CronJob.id).outerjoin(Group, CronJob.group_id == Group.id)
    query = _filtered(query, enabled, group, tag, search, None)
    query = query.order_by(*group_order(), CronJob.position, CronJob.name, CronJob.id)
    return list(db.session.execute(query).scalars())


def _filtered(query, enabled, group, tag, search, keyword):
    """``query`` narrowed by the list's filters: one place for the page and its ids."""
    if enabled is not None and enabled != "":
        try:
            query = query.where(CronJob.enabled == fields.boolean(enabled))
        except ValueError as exc:
            raise ValidationError({"enabled": str(exc)}) from None
    if group:
        query = query.where(sa.func.lower(Group.name) == fields.search_term(group).lower())
    if tag:
        query = tags.filter_tagged(query, CronJob.id, tags.parse_filter(tag))
    if search and search.strip():
        query = query.where(matching(search, CronJob.name, CronJob.description))
    if keyword and keyword.strip():
        term = fields.search_term(keyword)
        condition = matching(term, CronJob.name, CronJob.url)
        # An id beyond PostgreSQL's INTEGER would fail the query instead of matching nothing.
        if term.isascii() and term.isdigit() and len(term) <= 10 and int(term) < 2**31:
            condition = sa.or_(condition, CronJob.id == int(term))
        query = query.where(condition)
    return query


# --- Building blocks of operations that write many items in one transaction (services/bulk.py,
# services/config/): they change the session and leave the commit, and telling the scheduler
# (``refresh``), to the caller.


def set_enabled(job: CronJob, enabled: bool) -> bool:
    """Enable or disable ``job`` as ``enable``/``disable`` do, without committing; False
    when it already was so. Call ``refresh`` after the commit."""
    if job.enabled == enabled:
        return False
    if enabled:
        _set_enabled(job, True)
    else:
        _disable(job, None)
    return True


def refresh(cron_job_id: int) -> None:
    """Tell the scheduler, after the commit, that the job changed or went."""
    scheduler.refresh("cron_job", cron_job_id)


def validated(data: Any, current: CronJob | None) -> dict[str, Any]:
    """``data`` judged as ``create`` (``current`` None) or ``update`` would judge it."""
    return _validate(data, current)


def add(values: dict[str, Any], slug: str) -> CronJob:
    """A new job from validated values, added to the session; without ``channels`` it gets
    the default channels, without ``timezone`` the default time zone."""
    job = CronJob(enabled=values.get("enabled", True), slug=slug)
    if "channels" not in values:
        job.channels = channels.defaults()
    if "timezone" not in values:
        job.timezone = default_timezone()
    db.session.add(_apply(job, values))
    return job


def assign(job: CronJob, values: dict[str, Any]) -> CronJob:
    """Apply validated values to a job in the session, as ``update`` does."""
    return _apply(job, values)


def remove(job: CronJob) -> None:
    """Delete a job in the caller's transaction, with what refers to it without a key."""
    rollups.forget(SUBJECT_CRON_JOB, job.id)
    certificate_alerts.forget(SUBJECT_CRON_JOB, job.id)
    db.session.delete(job)
