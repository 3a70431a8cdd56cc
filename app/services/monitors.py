"""Uptime monitors (kinds http and keyword): create, change, pause, resume, delete, list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm as so

from app.engine import scheduler
from app.extensions import db
from app.models import DailyRollup, Group, Monitor
from app.models.history import SUBJECT_MONITOR
from app.models.monitor import (
    KIND_HEARTBEAT,
    KIND_HTTP,
    KIND_KEYWORD,
    KINDS,
    STATE_PAUSED,
    STATE_PENDING,
    STATES,
)
from app.models.types import utcnow
from app.services import channels, fields, groups
from app.services.errors import NotFound, ValidationError
from app.services.pagination import Page, group_order, matching, paginate

CREDENTIAL_MAX = 200
KEYWORD_MAX = 500
REMINDER_HOURS_MAX = 24 * 30

_SIMPLE = (
    "name",
    "description",
    "kind",
    "url",
    "method",
    "headers",
    "body",
    "auth_username",
    "auth_password",
    "interval_sec",
    "timeout_ms",
    "expected_status",
    "follow_redirects",
    "max_redirects",
    "keyword",
    "keyword_absent",
    "failure_threshold",
    "recovery_threshold",
    "reminder_hours",
    "public",
)


_uptime_kind = fields.choice((KIND_HTTP, KIND_KEYWORD))


def _kind(value: Any) -> str:
    if value == KIND_HEARTBEAT:
        raise ValueError("Heartbeat monitors are not available yet; choose http or keyword.")
    return _uptime_kind(value)


_PARSERS: dict[str, fields.Parser] = {
    "name": fields.name(200),
    "description": fields.text(),
    "group": fields.optional(groups.parse_name),
    "kind": _kind,
    "url": fields.url,
    "method": fields.method,
    "headers": fields.headers,
    "body": fields.optional(fields.text()),
    "auth_username": fields.optional(fields.text(CREDENTIAL_MAX)),
    "auth_password": fields.optional(fields.text(CREDENTIAL_MAX)),
    "interval_sec": fields.whole_number(10, 86400),
    "timeout_ms": fields.whole_number(100, 60000),
    "expected_status": fields.status_ranges,
    "follow_redirects": fields.boolean,
    "max_redirects": fields.whole_number(0, 10),
    "keyword": fields.optional(fields.text(KEYWORD_MAX)),
    "keyword_absent": fields.boolean,
    "failure_threshold": fields.whole_number(1, 100),
    "recovery_threshold": fields.whole_number(1, 100),
    "reminder_hours": fields.optional(fields.whole_number(1, REMINDER_HOURS_MAX)),
    "public": fields.boolean,
    "channels": channels.parse_ids,
    "paused": fields.boolean,
}
_REQUIRED = {"name": "Enter a name.", "url": "Enter the URL to call."}
_CONFLICT = "Another change was saved at the same moment; try again."


def get(monitor_id: int) -> Monitor:
    """The monitor, or NotFound for an id that does not exist (any more)."""
    monitor = db.session.get(Monitor, monitor_id)
    if monitor is None:
        raise NotFound("Monitor not found")
    return monitor


def _validate(data: Any, current: Monitor | None) -> dict[str, Any]:
    """Parse ``data`` and check the rules between fields against what the result will be."""
    values, errors = fields.parse(data, _PARSERS)
    if current is None:
        fields.require(data, errors, _REQUIRED)
    kind = values.get("kind", current.kind if current else KIND_HTTP)
    keyword = values["keyword"] if "keyword" in values else (current and current.keyword)
    if kind == KIND_KEYWORD and not keyword and "keyword" not in errors:
        errors["keyword"] = "Enter the text to look for; keyword monitors need one."
    if errors:
        raise ValidationError(errors)
    return values


def _set_paused(monitor: Monitor, paused: bool) -> None:
    """Pause, or resume as if new: counters restart so old failures do not count again."""
    if monitor.paused == paused:
        return
    monitor.paused = paused
    monitor.state = STATE_PAUSED if paused else STATE_PENDING
    monitor.state_changed_at = utcnow()
    if not paused:
        monitor.consecutive_failures = 0
        monitor.consecutive_successes = 0


def _apply(monitor: Monitor, values: dict[str, Any]) -> Monitor:
    # Resolve the group first: its lookup would otherwise autoflush a half-built monitor.
    if "group" in values:
        monitor.group = groups.resolve(values["group"]) if values["group"] else None
    if "channels" in values:
        monitor.channels = channels.by_ids(values["channels"])
    for key in _SIMPLE:
        if key in values:
            setattr(monitor, key, values[key])
    if "paused" in values:
        _set_paused(monitor, values["paused"])
    return monitor


def create(data: dict[str, Any]) -> Monitor:
    """Create an uptime monitor; it starts "pending" (or "paused") until its first check.

    Without ``channels`` it notifies the channels marked "default for new items".
    """
    values = _validate(data, None)

    def build() -> Monitor:
        paused = values.get("paused", False)
        monitor = Monitor(
            kind=KIND_HTTP,
            paused=paused,
            state=STATE_PAUSED if paused else STATE_PENDING,
            state_changed_at=utcnow(),
            slug=fields.unique_slug(Monitor.slug, values["name"], "monitor"),
        )
        if "channels" not in values:
            monitor.channels = channels.defaults()
        db.session.add(_apply(monitor, values))
        return monitor

    monitor = fields.commit_retrying(build, _CONFLICT)
    scheduler.refresh("monitor", monitor.id)
    return monitor


def update(monitor_id: int, data: dict[str, Any]) -> Monitor:
    """Change the fields given; the slug and the state stay as they are (except pausing)."""
    values = _validate(data, get(monitor_id))
    monitor = fields.commit_retrying(lambda: _apply(get(monitor_id), values), _CONFLICT)
    scheduler.refresh("monitor", monitor.id)
    return monitor


def pause(monitor_id: int) -> Monitor:
    """Stop checking and show the monitor as "paused"; pausing twice changes nothing."""
    monitor = get(monitor_id)
    _set_paused(monitor, True)
    db.session.commit()
    scheduler.refresh("monitor", monitor.id)
    return monitor


def resume(monitor_id: int) -> Monitor:
    """Resume a paused monitor as "pending"; a monitor that is not paused is left alone."""
    monitor = get(monitor_id)
    _set_paused(monitor, False)
    db.session.commit()
    scheduler.refresh("monitor", monitor.id)
    return monitor


def delete(monitor_id: int) -> None:
    """Delete a monitor with its history (results, pings and incidents cascade in SQL).

    Rollups name their subject without a foreign key, so they go explicitly: SQLite reuses
    the highest deleted id, and a new monitor must not inherit an old one's uptime.
    """
    monitor = get(monitor_id)
    db.session.execute(
        sa.delete(DailyRollup).where(
            DailyRollup.subject_type == SUBJECT_MONITOR, DailyRollup.subject_id == monitor_id
        )
    )
    db.session.delete(monitor)
    db.session.commit()
    scheduler.refresh("monitor", monitor_id)


def list_monitors(
    kind: str | None = None,
    state: str | None = None,
    group: str | None = None,
    search: str | None = None,
    page: Any = 1,
    per_page: Any = 50,
) -> Page:
    """One page of monitors as the dashboard shows them: by group, then position and name.

    ``group`` is a group name (any case); ``search`` matches name or description.
    """
    errors = {}
    if kind and kind not in KINDS:
        errors["kind"] = f"Choose one of {', '.join(KINDS)}."
    if state and state not in STATES:
        errors["state"] = f"Choose one of {', '.join(STATES)}."
    if errors:
        raise ValidationError(errors)
    query = (
        sa.select(Monitor)
        .outerjoin(Group, Monitor.group_id == Group.id)
        .options(so.selectinload(Monitor.channels))  # every listed item shows its channels
    )
    if kind:
        query = query.where(Monitor.kind == kind)
    if state:
        query = query.where(Monitor.state == state)
    if group:
        query = query.where(sa.func.lower(Group.name) == fields.search_term(group).lower())
    if search and search.strip():
        query = query.where(matching(search, Monitor.name, Monitor.description))
    query = query.order_by(*group_order(), Monitor.position, Monitor.name, Monitor.id)
    return paginate(query, page, per_page)
