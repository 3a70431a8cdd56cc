"""Maintenance windows: create, change, list and delete them, tell which items they cover
now, and when their next periods are.

A window is one-off (``starts_at`` to ``ends_at``) or recurring (each instant of
``cron_expr`` in ``timezone``, with the DST rules of cron jobs, for ``duration_min``
minutes). It covers chosen monitors and heartbeats, cron jobs, groups and tags; a group's or
tag's items are looked up when the window is evaluated, so an item added to the group or
given the tag later is covered.

What coverage means is decided where results are recorded (``services/results.py``): checks
still run and are stored, marked as made under maintenance, but change no state, so nothing
opens an incident or sends a notification; the first result after the window is judged
with everything counted so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.engine import schedule
from app.extensions import db
from app.models import CronJob, Group, MaintenanceWindow, Monitor
from app.models.maintenance import maintenance_cron_jobs, maintenance_groups, maintenance_monitors
from app.models.monitor import KIND_HEARTBEAT
from app.models.tag import cron_job_tags, maintenance_tags, monitor_tags
from app.models.types import utcnow
from app.services import fields, tags
from app.services.errors import NotFound, ValidationError
from app.services.pagination import Page, paginate

STATUS_SCHEDULED = "scheduled"
STATUS_ACTIVE = "active"
STATUS_ENDED = "ended"

TITLE_MAX = 200
MESSAGE_MAX = 5000
DURATION_MAX_MIN = 7 * 24 * 60
NOW_MAX_MIN = 7 * 24 * 60
TARGETS_MAX = 1000
OCCURRENCES = 5
STATUS_PAGE_DAYS = 7

_ONE_OFF = ("starts_at", "ends_at")
_RECURRING = ("cron_expr", "duration_min")
# A new tag named by a window, created at the same moment elsewhere (see tags.resolve).
_CONFLICT = "A tag changed at the same moment; try again."
EITHER = "Give either starts_at and ends_at, or cron_expr and duration_min."
TARGETS_NEEDED = "Choose at least one monitor, heartbeat, cron job, group or tag."
_TARGETS = ("monitor_ids", "cron_job_ids", "group_ids", "tags")


def existing_ids(model, noun: str):
    """A parser of a list of ids of existing ``model`` rows (numbers, or the strings a form
    sends), at most TARGETS_MAX, naming any that do not exist; bulk actions use it too."""

    def parse(value: Any) -> list[int]:
        if value is None or value == "":
            return []
        if not isinstance(value, list | tuple):
            raise ValueError(f"Give a list of {noun} ids, such as [1, 3].")
        if len(value) > TARGETS_MAX:
            raise ValueError(f"Give at most {TARGETS_MAX} ids.")
        whole = fields.whole_number(1, 2**31 - 1, f"{noun.capitalize()} ids are whole numbers.")
        ids = list(dict.fromkeys(whole(item) for item in value))
        if not ids:
            return []
        found = set(db.session.execute(sa.select(model.id).where(model.id.in_(ids))).scalars())
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise ValueError(f"No {noun} with id {', '.join(missing)}.")
        return ids

    return parse


_PARSERS: dict[str, fields.Parser] = {
    "title": fields.name(TITLE_MAX, "Enter a title."),
    "message": fields.text(MESSAGE_MAX),
    "starts_at": fields.optional(fields.aware_datetime),
    "ends_at": fields.optional(fields.aware_datetime),
    "cron_expr": fields.optional(fields.cron_expr),
    "duration_min": fields.optional(
        fields.whole_number(1, DURATION_MAX_MIN, f"Enter minutes from 1 to {DURATION_MAX_MIN}.")
    ),
    "timezone": fields.timezone,
    "monitor_ids": existing_ids(Monitor, "monitor or heartbeat"),
    "cron_job_ids": existing_ids(CronJob, "cron job"),
    "group_ids": existing_ids(Group, "group"),
    "tags": tags.parse_names,
}


def get(window_id: int) -> MaintenanceWindow:
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFound("Maintenance window not found")
    return window


def list_windows(page: Any = 1, per_page: Any = 50, offset: Any = None) -> Page:
    """Every window, the latest to start first (a recurring one by when it was made)."""
    query = sa.select(MaintenanceWindow).order_by(
        sa.func.coalesce(MaintenanceWindow.starts_at, MaintenanceWindow.created_at).desc(),
        MaintenanceWindow.id.desc(),
    )
    return paginate(query, page, per_page, offset)


def _validate(data: Any, current: MaintenanceWindow | None) -> dict[str, Any]:
    """Parse ``data`` over the window as it is (``current``) and check the whole: one kind
    of period, an end after the start, at least one target. Raises with every field error."""
    values, errors = fields.parse(data, _PARSERS)
    merged: dict[str, Any] = {
        "title": current.title if current else None,
        "starts_at": current.starts_at if current else None,
        "ends_at": current.ends_at if current else None,
        "cron_expr": current.cron_expr if current else None,
        "duration_min": current.duration_min if current else None,
        "monitor_ids": [m.id for m in current.monitors] if current else [],
        "cron_job_ids": [j.id for j in current.cron_jobs] if current else [],
        "group_ids": [g.id for g in current.groups] if current else [],
        "tags": [t.name for t in current.tags] if current else [],
    }
    merged.update(values)
    if current is None and "title" not in data and "title" not in errors:
        errors["title"] = "Enter a title."
    if not errors.keys() & {*_ONE_OFF, *_RECURRING}:
        one_off = [n for n in _ONE_OFF if merged[n] is not None]
        recurring = [n for n in _RECURRING if merged[n] is not None]
        if one_off and recurring:
            errors["cron_expr"] = EITHER + " This window has both."
        elif recurring and len(recurring) < 2:
            missing = next(n for n in _RECURRING if merged[n] is None)
            errors[missing] = (
                "Enter the length of each period in minutes."
                if missing == "duration_min"
                else "Enter a cron expression, such as 0 2 * * 0 (Sundays at 02:00)."
            )
        elif not recurring and len(one_off) < 2:
            for name in _ONE_OFF:
                if merged[name] is None:
                    errors[name] = "Enter a date and time with its UTC offset. " + EITHER
        elif one_off:
            if merged["ends_at"] <= merged["starts_at"]:
                errors["ends_at"] = "The end must come after the start."
            elif (current is None or "ends_at" in values) and merged["ends_at"] <= utcnow():
                errors["ends_at"] = "Choose an end in the future."
    if not errors.keys() & set(_TARGETS) and not any(merged[n] for n in _TARGETS):
        errors["targets"] = TARGETS_NEEDED
    if errors:
        raise ValidationError(errors)
    return values


def _apply(window: MaintenanceWindow, values: dict[str, Any]) -> MaintenanceWindow:
    for name in ("title", "message", "timezone", *_ONE_OFF, *_RECURRING):
        if name in values:
            setattr(window, name, values[name])
    if "monitor_ids" in values:
        window.monitors = _rows(Monitor, values["monitor_ids"])
    if "cron_job_ids" in values:
        window.cron_jobs = _rows(CronJob, values["cron_job_ids"])
    if "group_ids" in values:
        window.groups = _rows(Group, values["group_ids"])
    if "tags" in values:
        window.tags = tags.resolve(values["tags"])
    return window


def _rows(model, ids: list[int]) -> list:
    if not ids:
        return []
    return list(db.session.execute(sa.select(model).where(model.id.in_(ids))).scalars())


def create(data: Any) -> MaintenanceWindow:
    """A new window from API or form fields; raises ValidationError naming each bad field."""
    values = _validate(data, None)

    return fields.commit_retrying(lambda: add(values), _CONFLICT)


def update(window_id: int, data: Any) -> MaintenanceWindow:
    """Change the fields given; a field sent as null clears it (to switch a window between
    one-off and recurring, clear the other pair)."""
    values = _validate(data, get(window_id))
    return fields.commit_retrying(lambda: _apply(get(window_id), values), _CONFLICT)


def delete(window_id: int) -> None:
    db.session.delete(get(window_id))
    db.session.commit()


def start_now(kind: str, item_id: int, minutes: Any, now: datetime | None = None):
    """Maintenance from now for ``minutes`` on one monitor, heartbeat or cron job (the
    detail pages' action): a one-off window titled after the item."""
    now = now or utcnow()
    parsed, errors = fields.parse(
        {"minutes": minutes},
        {"minutes": fields.whole_number(1, NOW_MAX_MIN, f"Enter minutes from 1 to {NOW_MAX_MIN}.")},
    )
    if errors:
        raise ValidationError(errors)
    target = "cron_job_ids" if kind == "cron_job" else "monitor_ids"
    item = _item(kind, item_id)
    if item is None:
        raise NotFound("Not found")
    return create(
        {
            "title": f"Maintenance of {item.name}"[:TITLE_MAX],
            "starts_at": now,
            "ends_at": now + timedelta(minutes=parsed["minutes"]),
            target: [item_id],
        }
    )


# --- when -----------------------------------------------------------------------------------


def periods(
    window: MaintenanceWindow, now: datetime, count: int = OCCURRENCES
) -> list[tuple[datetime, datetime]]:
    """The window's current period (if any) and the next ones, up to ``count`` in all, as
    (start, end) in UTC; none once a one-off window has ended."""
    if window.cron_expr is None:
        if window.starts_at is None or window.ends_at is None or window.ends_at <= now:
            return []
        return [(window.starts_at, window.ends_at)]
    if window.duration_min is None:  # never stored so (see _validate): no period
        return []
    length = timedelta(minutes=window.duration_min)
    # Starting just before "now minus one period" finds a period still running.
    starts = schedule.next_runs(window.cron_expr, window.timezone, now - length, count)
    return [(start, start + length) for start in starts]


def preview(data: Any, now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """The next periods of a recurrence being typed into the form; raises ValidationError
    for the fields that are wrong."""
    data = {k: data.get(k) for k in ("cron_expr", "duration_min", "timezone") if k in data}
    values, errors = fields.parse(data, _PARSERS)
    for name in _RECURRING:
        if values.get(name) is None and name not in errors:
            errors[name] = "Needed for a preview."
    if errors:
        raise ValidationError(errors)
    window = MaintenanceWindow(
        cron_expr=values["cron_expr"],
        duration_min=values["duration_min"],
        timezone=values.get("timezone", "UTC"),
    )
    return periods(window, now or utcnow())


def status(window: MaintenanceWindow, now: datetime) -> str:
    upcoming = periods(window, now, 1)
    if not upcoming:
        return STATUS_ENDED
    return STATUS_ACTIVE if upcoming[0][0] <= now else STATUS_SCHEDULED


def _active_until(window: MaintenanceWindow, now: datetime) -> datetime | None:
    """When the window's current period ends, following periods that overlap it; None when
    it is not active."""
    chain = periods(window, now, OCCURRENCES)
    if not chain or chain[0][0] > now:
        return None
    end = chain[0][1]
    for start, stop in chain[1:]:
        if start > end:
            break
        end = max(end, stop)
    return end


@dataclass(frozen=True)
class Covered:
    """The items under maintenance at one moment, each with when its maintenance ends."""

    monitors: dict[int, datetime] = field(default_factory=dict)
    cron_jobs: dict[int, datetime] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.monitors or self.cron_jobs)


def covered(now: datetime | None = None) -> Covered:
    """Which monitors, heartbeats and cron jobs are under maintenance at ``now``.

    Asked once per batch of results, per page and per badge: one query when no window is
    active (one-off windows that have ended are skipped by the index on ends_at), and four
    more when some are, however many items they cover.
    """
    now = now or utcnow()
    candidates = db.session.execute(
        sa.select(MaintenanceWindow).where(
            sa.or_(
                MaintenanceWindow.cron_expr.is_not(None),
                sa.and_(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now),
            )
        )
    ).scalars()
    ends = {w.id: end for w in candidates if (end := _active_until(w, now)) is not None}
    if not ends:
        return Covered()
    monitors: dict[int, datetime] = {}
    cron_jobs: dict[int, datetime] = {}

    def cover(into: dict, item_id: int, window_id: int) -> None:
        into[item_id] = max(into.get(item_id, ends[window_id]), ends[window_id])

    ids = list(ends)
    table = maintenance_monitors
    for window_id, item_id in db.session.execute(
        sa.select(table.c.window_id, table.c.monitor_id).where(table.c.window_id.in_(ids))
    ):
        cover(monitors, item_id, window_id)
    table = maintenance_cron_jobs
    for window_id, item_id in db.session.execute(
        sa.select(table.c.window_id, table.c.cron_job_id).where(table.c.window_id.in_(ids))
    ):
        cover(cron_jobs, item_id, window_id)
    table = maintenance_groups
    # Group membership as it is now: items added to a group after the window was made count.
    members = sa.union_all(
        sa.select(sa.literal("m"), Monitor.id, Monitor.group_id),
        sa.select(sa.literal("c"), CronJob.id, CronJob.group_id),
    ).subquery()
    for window_id, kind, item_id in db.session.execute(
        sa.select(table.c.window_id, members.c[0], members.c[1])
        .join(members, members.c[2] == table.c.group_id)
        .where(table.c.window_id.in_(ids))
    ):
        cover(monitors if kind == "m" else cron_jobs, item_id, window_id)
    # Tags as items carry them now, likewise.
    tagged = sa.union_all(
        sa.select(sa.literal("m"), monitor_tags.c.monitor_id, monitor_tags.c.tag_id),
        sa.select(sa.literal("c"), cron_job_tags.c.cron_job_id, cron_job_tags.c.tag_id),
    ).subquery()
    table = maintenance_tags
    for window_id, kind, item_id in db.session.execute(
        sa.select(table.c.window_id, tagged.c[0], tagged.c[1])
        .join(tagged, tagged.c[2] == table.c.tag_id)
        .where(table.c.window_id.in_(ids))
    ):
        cover(monitors if kind == "m" else cron_jobs, item_id, window_id)
    return Covered(monitors, cron_jobs)


def announced(now: datetime | None = None, public_only: bool = True) -> list[tuple]:
    """Windows active now or starting within STATUS_PAGE_DAYS, as (window, start, end) of
    their first such period, soonest first; with ``public_only`` only those covering a
    public item (the status page and its feed)."""
    now = now or utcnow()
    horizon = now + timedelta(days=STATUS_PAGE_DAYS)
    windows = db.session.execute(
        sa.select(MaintenanceWindow).where(
            sa.or_(
                MaintenanceWindow.cron_expr.is_not(None),
                sa.and_(MaintenanceWindow.starts_at <= horizon, MaintenanceWindow.ends_at > now),
            )
        )
    ).scalars()
    shown = []
    for window in windows:
        upcoming = periods(window, now, 1)
        if not upcoming or upcoming[0][0] > horizon:
            continue
        if public_only and not _covers_public(window):
            continue
        shown.append((window, *upcoming[0]))
    return sorted(shown, key=lambda entry: (entry[1], entry[0].id))


def _covers_public(window: MaintenanceWindow) -> bool:
    if any(m.public for m in window.monitors) or any(j.public for j in window.cron_jobs):
        return True
    group_ids = [g.id for g in window.groups]
    tag_ids = [t.id for t in window.tags]
    members = []
    for model, link, column in (
        (Monitor, monitor_tags, monitor_tags.c.monitor_id),
        (CronJob, cron_job_tags, cron_job_tags.c.cron_job_id),
    ):
        if group_ids:
            members.append(sa.select(model.id).where(model.group_id.in_(group_ids)))
        if tag_ids:
            members.append(sa.select(column).where(link.c.tag_id.in_(tag_ids)))
        if members and any(
            db.session.execute(
                sa.select(sa.literal(1))
                .where(model.id.in_(member), model.public.is_(True))
                .limit(1)
            ).first()
            for member in members
        ):
            return True
        members = []
    return False


def targets_of(kind: str, item_id: int) -> list[MaintenanceWindow]:
    """The windows naming this item directly, through its group or one of its tags (its
    detail page)."""
    table, column, link = (
        (maintenance_cron_jobs, "cron_job_id", cron_job_tags)
        if kind == "cron_job"
        else (maintenance_monitors, "monitor_id", monitor_tags)
    )
    item = _item(kind, item_id)
    direct = sa.select(table.c.window_id).where(table.c[column] == item_id)
    via_group = sa.select(maintenance_groups.c.window_id).where(
        maintenance_groups.c.group_id == (item.group_id if item else None)
    )
    via_tag = sa.select(maintenance_tags.c.window_id).where(
        maintenance_tags.c.tag_id.in_(sa.select(link.c.tag_id).where(link.c[column] == item_id))
    )
    return list(
        db.session.execute(
            sa.select(MaintenanceWindow)
            .where(MaintenanceWindow.id.in_(sa.union(direct, via_group, via_tag)))
            .order_by(MaintenanceWindow.id.desc())
        ).scalars()
    )


def _item(kind: str, item_id: int) -> Monitor | CronJob | None:
    """The monitor or heartbeat (kind "monitor"), or the cron job (kind "cron_job")."""
    if kind == "cron_job":
        return db.session.get(CronJob, item_id)
    return db.session.get(Monitor, item_id)


def target_choices() -> dict[str, list[tuple[int | str, str]]]:
    """Every item a window can cover, by kind, as (id, name) sorted by name (the form); a
    tag by its name."""
    monitor_rows = db.session.execute(
        sa.select(Monitor.id, Monitor.name, Monitor.kind).order_by(Monitor.name, Monitor.id)
    ).all()
    return {
        "monitors": [(i, n) for i, n, kind in monitor_rows if kind != KIND_HEARTBEAT],
        "heartbeats": [(i, n) for i, n, kind in monitor_rows if kind == KIND_HEARTBEAT],
        "cron_jobs": [
            (i, n)
            for i, n in db.session.execute(
                sa.select(CronJob.id, CronJob.name).order_by(CronJob.name)
            )
        ],
        "groups": [
            (i, n)
            for i, n in db.session.execute(sa.select(Group.id, Group.name).order_by(Group.name))
        ],
        "tags": [(tag.name, tag.name) for tag in tags.all_tags()],
    }


# --- Building blocks of an import (services/config/), which writes everything in one
# transaction: they change the session and leave the commit to the caller.


def validated(data: Any, current: MaintenanceWindow | None) -> dict[str, Any]:
    """``data`` judged as ``create`` (``current`` None) or ``update`` would judge it."""
    return _validate(data, current)


def add(values: dict[str, Any]) -> MaintenanceWindow:
    """A new window from validated values, added to the session."""
    window = _apply(MaintenanceWindow(message="", timezone="UTC"), values)
    db.session.add(window)
    return window


def assign(window: MaintenanceWindow, values: dict[str, Any]) -> MaintenanceWindow:
    """Apply validated values to a window in the session, as ``update`` does."""
    return _apply(window, values)
